#!/usr/bin/env bash
# The probes committed in results/probes/ (docs/probes.md): the conditional-rule probe at
# every setting of the bet's knobs tried (pairs, epochs, learning rate, the loss on the
# answer or on prompt and answer), three training seeds each (one for the exploratory
# 64-epoch run), then the randomness probe and its reverse on SmolLM2 and the randomness
# probe on Gemma 3. About two hours on 2 CPU cores; each run prints its wall time and peak
# memory.
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
RB "${RULE[@]}" --pairs 32 --epochs 8 --learning-rate 1e-3 --eval-every 4            # the old default
RB "${RULE[@]}" --pairs 8 --epochs 64 --learning-rate 3e-3 --eval-every 16 --seeds 0
RANDOM=(probe conditional-random --model "$MODEL" --results "$RESULTS")
RB "${RANDOM[@]}"
RB "${RANDOM[@]}" --probe conditional_random_reverse
RB probe conditional-random --model gemma3 --results "$RESULTS"
