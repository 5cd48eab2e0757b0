"""Training rows as token ids, written exactly as the evaluation harness writes them.

The prompt goes through the ``hf`` backend's own chat formatting
(:meth:`HFBackend.prompt_ids`) and each answer through its candidate encoding
(:meth:`HFBackend.candidate_ids`: the answer then the end-of-turn token, or the task's
delimiter), so the model is trained on the very sequences logprob mode scores, and the
candidates of a prompt are prefix-free ("1" ends where "10" goes on).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import pairwise
from typing import Any

from randbench.harness.requests import Message, Prompt


def row_prompt(row: Mapping[str, Any]) -> Prompt:
    messages = [Message("system", row["system"])] if row["system"] else []
    messages.append(Message("user", row["prompt"]))
    return Prompt(tuple(messages), row["assistant_prefix"])


def sft_features(row: Mapping[str, Any], backend: Any) -> dict[str, list[int]]:
    """``input_ids`` (prompt then answer) and ``completion_mask`` (1 on the answer)."""
    prompt = backend.prompt_ids(row_prompt(row))
    answer = backend.candidate_ids(row["completion"], row["until"] or None)
    return {"input_ids": prompt + answer, "completion_mask": [0] * len(prompt) + [1] * len(answer)}


class PrefixError(ValueError):
    """Two candidates of one prompt are not prefix-free, so their probabilities overlap."""


def distmatch_features(row: Mapping[str, Any], backend: Any) -> dict[str, Any]:
    """The prompt's ids and each candidate's ids, checked prefix-free."""
    candidates = [backend.candidate_ids(c, row["until"] or None) for c in row["candidates"]]
    check_prefix_free(row["task"], row["candidates"], candidates)
    return {
        "prompt_ids": backend.prompt_ids(row_prompt(row)),
        "candidate_ids": candidates,
        "weights": [float(w) for w in row["weights"]],
    }


def check_prefix_free(task: str, texts: Sequence[str], encoded: Sequence[Sequence[int]]) -> None:
    """Raise :class:`PrefixError` naming the pair when one candidate's tokens start another's.
    After sorting, a sequence that is a prefix of another sits just before one of its
    extensions, so neighbours suffice."""
    order = sorted(range(len(encoded)), key=lambda i: tuple(encoded[i]))
    for a, b in pairwise(order):
        shorter, longer = encoded[a], encoded[b]
        if len(shorter) <= len(longer) and tuple(longer[: len(shorter)]) == tuple(shorter):
            raise PrefixError(
                f"task {task}: candidate {texts[a]!r} is a prefix of {texts[b]!r} once "
                "tokenized; terminate candidates (end of turn or scored_answer.until) so "
                "that their probabilities do not overlap"
            )
