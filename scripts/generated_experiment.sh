#!/usr/bin/env bash
# Does training on generated tasks generalise better? (issue #33 item 6; docs/generated-tasks.md,
# "The experiment"). SmolLM2 fine-tuned by SFT and by distribution matching on
#   (a) the 16 hand-written train tasks (the checkpoints of scripts/finetune_smollm2.sh),
#   (b) the tasks `tasks generate` wrote (GEN, committed in results/generated/), and
#   (c) both,
# each at the same budget (SFT 24 steps x 8 answers, distmatch 48 steps x 4 prompts), then
# measured exactly on the hand-written held-out split and the 16 train tasks. Run
# scripts/finetune_smollm2.sh first (it makes arm (a) and the base model's results).
# About 40 minutes on 2 CPU cores.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/finetune_tasks.sh
source scripts/finetune_tasks.sh
OUT="${1:-results}"
GEN="${GEN:-results/generated/gemma3-seed0}"
if [ ! -f "$GEN/report.json" ]; then
    RB tasks generate --model gemma3 --n 80 --out "$GEN" --seed 0 --temperature 0.7 \
        --complete-prompts
fi
RB tasks validate "$GEN"
for arm in generated both; do
    tasks="split:generated"
    [ "$arm" = both ] && tasks="$TRAIN,split:generated"
    RB finetune data --tasks "$tasks" --include-path "$GEN" --out "checkpoints/data-$arm" \
        --completions 16 --paraphrases 4 --kinds sft,distmatch
done
for method in sft distmatch; do
    for arm in generated both; do
        if [ "$method" = sft ]; then
            RB finetune sft --data "checkpoints/data-$arm" --out "checkpoints/smollm2-sft-$arm" \
                --max-steps 24 --batch-size 8 --learning-rate 5e-4
        else
            RB finetune distmatch --data "checkpoints/data-$arm" \
                --out "checkpoints/smollm2-distmatch-$arm" \
                --max-steps 48 --batch-size 4 --learning-rate 5e-4
        fi
        RB run --model "hf:checkpoints/smollm2-$method-$arm" --method logprob \
            --tasks "$TRAIN,split:heldout" --output-path "$OUT"
    done
done
