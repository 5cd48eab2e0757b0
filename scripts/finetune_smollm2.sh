#!/usr/bin/env bash
# The fine-tuning comparison committed in results/ (docs/finetune.md, "Measured"):
# SmolLM2 fine-tuned by exact distribution matching and by multi-sample SFT on 16 train
# tasks, then the base and both checkpoints measured exactly on those tasks, on every task
# of the held-out split (split:heldout, 216 tasks at three novelty levels), on untrained
# train-split tasks and on the deterministic controls; sampled on the controls and four
# tasks. About an hour on 2 CPU cores.
set -euo pipefail
cd "$(dirname "$0")/.."
# Each step prints its wall time and peak memory (docs/finetune.md, docs/performance.md).
RB() { /usr/bin/time -f "[time] %e s, %M KB peak: randbench $*" .venv/bin/randbench "$@"; }
OUT="${1:-results}"
TRAIN="dice_d4,dice_d6,dice_d8,dice_d10,coin_flip,random_number_1_to_10,random_number_0_to_9"
TRAIN="$TRAIN,random_number_1_to_20,yes_no,card_suit,rock_paper_scissors,random_weekday"
TRAIN="$TRAIN,random_month,weighted_colour,spinner_unequal,dice_sum_2d6"
OTHERS="magic_8_ball,playing_card,random_letter,random_number_1_to_100,binomial_10_fair_coins"
OTHERS="$OTHERS,roulette_wheel,who_goes_first,controls,split:heldout"

RB finetune data --tasks "$TRAIN" --out checkpoints/data --completions 16 --paraphrases 4 --jsonl
RB finetune distmatch --data checkpoints/data --out checkpoints/smollm2-distmatch \
    --epochs 3 --batch-size 4 --learning-rate 5e-4
RB finetune sft --data checkpoints/data --out checkpoints/smollm2-sft \
    --max-steps 24 --batch-size 8 --learning-rate 5e-4
for model in hf:smollm2 hf:checkpoints/smollm2-distmatch hf:checkpoints/smollm2-sft; do
    RB run --model "$model" --method logprob --tasks "$TRAIN,$OTHERS" --output-path "$OUT"
    RB run --model "$model" --method direct --samples 50 --output-path "$OUT" \
        --tasks controls,dice_d6,coin_flip,dice_d12,random_number_1_to_50
done
RB finetune check --model hf:smollm2 --model hf:checkpoints/smollm2-distmatch \
    --model hf:checkpoints/smollm2-sft
