"""Collapse checks beside the task scores: does a fine-tuned model still model text?

Training on short random answers can wreck what the model did before. The likelihood of
a small held-out English text (shipped in this package, never trained on), read without
a chat template, shows it: a checkpoint whose per-token negative log-likelihood rises
far above its base model's has lost more than it gained. The deterministic control
tasks (group ``controls``) are the other check; run them with ``randbench run``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from importlib.resources import files
from typing import Any

HELDOUT_TEXT = "heldout_text.txt"


def heldout_text() -> str:
    return files("randbench.finetune").joinpath(HELDOUT_TEXT).read_text(encoding="utf-8")


@dataclass(frozen=True)
class TextLikelihood:
    tokens: int
    nll_per_token: float

    @property
    def perplexity(self) -> float:
        return math.exp(self.nll_per_token)


def text_likelihood(backend: Any, text: str) -> TextLikelihood:
    """Mean -log p(token | tokens before it) of ``text`` under the backend's model."""
    torch = backend.torch
    ids = backend.tokenizer(text, add_special_tokens=True, return_tensors="pt")["input_ids"]
    ids = ids.to(backend.device)
    with torch.inference_mode():
        logits = backend.model(input_ids=ids).logits[:, :-1].float()
    logprobs = torch.log_softmax(logits, dim=-1).gather(-1, ids[:, 1:, None]).squeeze(-1)
    return TextLikelihood(tokens=int(ids.shape[1] - 1), nll_per_token=float(-logprobs.mean()))
