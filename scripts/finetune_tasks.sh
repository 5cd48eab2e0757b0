# The task lists the fine-tuning scripts share (sourced, not run): the 16 train-split tasks
# the checkpoints are trained on, and what else they are measured on.
# shellcheck disable=SC2034
TRAIN="dice_d4,dice_d6,dice_d8,dice_d10,coin_flip,random_number_1_to_10,random_number_0_to_9"
TRAIN="$TRAIN,random_number_1_to_20,yes_no,card_suit,rock_paper_scissors,random_weekday"
TRAIN="$TRAIN,random_month,weighted_colour,spinner_unequal,dice_sum_2d6"
# shellcheck disable=SC2034
OTHERS="magic_8_ball,playing_card,random_letter,random_number_1_to_100,binomial_10_fair_coins"
OTHERS="$OTHERS,roulette_wheel,who_goes_first,controls,split:heldout"
# Each step prints its wall time and peak memory (docs/finetune.md, docs/performance.md).
RB() { /usr/bin/time -f "[time] %e s, %M KB peak: randbench $*" .venv/bin/randbench "$@"; }
