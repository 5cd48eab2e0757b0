#!/usr/bin/env bash
# The probes committed in results/probes/ (docs/probes.md): the conditional-rule probe at
# every setting of the bet's knobs tried (pairs, epochs, learning rate, the loss on the
# answer or on prompt and answer), three training seeds each, then the randomness probe
# and its reverse. About an hour and a half on 2 CPU cores; each run prints its wall time
# and peak memory.
set -euo pipefail
cd "$(dirname "$0")/.."
RB() { /usr/bin/time -f "[time] %e s, %M KB peak: randbench $*" .venv/bin/randbench "$@"; }
MODEL="${1:-smollm2}"
RESULTS="${2:-results/probes}"
RULE=(probe conditional-rule --model "$MODEL" --results "$RESULTS" --eval-every 8)
RB "${RULE[@]}" --pairs 16 --epochs 16 --learning-rate 3e-3                        # the default
RB "${RULE[@]}" --pairs 16 --epochs 16 --learning-rate 3e-3 --no-completion-only
RB "${RULE[@]}" --pairs 8 --epochs 32 --learning-rate 3e-3
RB "${RULE[@]}" --pairs 8 --epochs 32 --learning-rate 3e-3 --no-completion-only
RB "${RULE[@]}" --pairs 16 --epochs 16 --learning-rate 1e-3 --no-completion-only
RANDOM=(probe conditional-random --model "$MODEL" --results "$RESULTS")
RB "${RANDOM[@]}"
RB "${RANDOM[@]}" --probe conditional_random_reverse
