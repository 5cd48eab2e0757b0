"""Surface rewordings of a task prompt, so that fine-tuning does not learn one wording.

Each framing wraps the prompt without changing what it asks: no framing adds a
constraint, a range or a preference, so the task's target stays the right answer.
The first paraphrase is always the prompt itself; the others are drawn, seeded,
without replacement.
"""

from __future__ import annotations

import numpy as np

FRAMINGS: tuple[str, ...] = (
    "{prompt}",
    "Quick question. {prompt}",
    "{prompt} No explanation needed.",
    "I need your help with something. {prompt}",
    "{prompt}\n\nThanks!",
    "Please do this for me: {prompt}",
    "Here is my request.\n{prompt}",
    "Hi! {prompt}",
    "{prompt} Keep it short.",
    "Task: {prompt}",
)


def paraphrases(prompt: str, count: int, rng: np.random.Generator) -> list[str]:
    """``count`` distinct wordings of ``prompt``: itself, then seeded framings."""
    if not 1 <= count <= len(FRAMINGS):
        raise ValueError(f"paraphrases: count must lie in 1..{len(FRAMINGS)}, got {count}")
    chosen = rng.choice(np.arange(1, len(FRAMINGS)), size=count - 1, replace=False)
    return [FRAMINGS[0].format(prompt=prompt)] + [
        FRAMINGS[int(i)].format(prompt=prompt) for i in chosen
    ]
