#!/usr/bin/env bash
# The fine-tuning comparison committed in results/ (docs/finetune.md, "Measured"):
# SmolLM2 fine-tuned on 16 train tasks by multi-sample SFT, exact distribution matching and
# GRPO with its curriculum on and off, all at the same budget of 192 training sequences
# (SFT 24 steps x 8 answers, distmatch 48 steps x 4 prompts, GRPO 24 steps x a group of 8
# completions); then the base and every checkpoint measured exactly on those tasks, on
# every task of the held-out split (split:heldout, three novelty levels), on untrained
# train-split tasks and on the deterministic controls; sampled on the controls and four
# tasks. About 70 minutes on 2 CPU cores.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/finetune_tasks.sh
source scripts/finetune_tasks.sh
OUT="${1:-results}"

RB finetune data --tasks "$TRAIN" --out checkpoints/data --completions 16 --paraphrases 4 --jsonl \
    --kinds sft,distmatch,grpo
RB finetune distmatch --data checkpoints/data --out checkpoints/smollm2-distmatch \
    --epochs 3 --batch-size 4 --learning-rate 5e-4
RB finetune sft --data checkpoints/data --out checkpoints/smollm2-sft \
    --max-steps 24 --batch-size 8 --learning-rate 5e-4
for curriculum in on off; do
    RB finetune grpo --data checkpoints/data --out "checkpoints/smollm2-grpo-curriculum-$curriculum" \
        --max-steps 24 --group 8 --learning-rate 5e-4 --curriculum "$curriculum"
done
CHECKPOINTS="hf:checkpoints/smollm2-distmatch hf:checkpoints/smollm2-sft"
CHECKPOINTS="$CHECKPOINTS hf:checkpoints/smollm2-grpo-curriculum-on hf:checkpoints/smollm2-grpo-curriculum-off"
for model in hf:smollm2 $CHECKPOINTS; do
    RB run --model "$model" --method logprob --tasks "$TRAIN,$OTHERS" --output-path "$OUT"
    RB run --model "$model" --method direct --samples 50 --output-path "$OUT" \
        --tasks controls,dice_d6,coin_flip,dice_d12,random_number_1_to_50
done
# shellcheck disable=SC2086
RB finetune check --model hf:smollm2 ${CHECKPOINTS//hf:/--model hf:}
