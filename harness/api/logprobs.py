"""Log-probabilities an OpenAI-compatible API returns -> candidate scores: the arithmetic
of the ``openai`` backend's two scoring modes, apart from the transport that fetches them.

``echo`` (exact): a completions call with ``echo`` and ``logprobs`` gives every prompt
token's log-probability; a candidate's score is the sum over the tokens after the
prompt's own. ``top`` (approximate): the first answer token's ``top_logprobs``, each token
credited to the candidate it spells or alone begins.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from randbench.harness.requests import CandidateScores


@dataclass(frozen=True)
class Echo:
    """A completions call with ``echo``: the prompt's tokens and their log-probabilities."""

    tokens: tuple[str, ...]
    logprobs: tuple[float | None, ...]


class EchoUnsupportedError(ValueError):
    pass


def echo_from_completion(completion: Any, sent: str) -> Echo | None:
    """The prompt part of an echo completion, or None when it cannot be told apart."""
    if not completion.choices:
        raise EchoUnsupportedError("openai: the server returned no choice for an echo call")
    choice = completion.choices[0]
    tokens = list(getattr(choice.logprobs, "tokens", None) or [])
    values = list(getattr(choice.logprobs, "token_logprobs", None) or [])
    generated = getattr(completion.usage, "completion_tokens", 0) or 0
    if not tokens or len(values) != len(tokens) or len(tokens) <= generated:
        raise EchoUnsupportedError(
            "openai: the server returned no prompt log-probabilities for echo=true "
            "(use logprobs=top)"
        )
    text = choice.text or ""
    if generated and text.startswith(sent):
        appended = text[len(sent) :]
        if not appended or "".join(tokens[-generated:]) != appended:
            return None
    keep = len(tokens) - generated
    return Echo(tuple(tokens[:keep]), tuple(values[:keep]))


def assemble_echo(prompt: Echo, candidates: Sequence[Echo]) -> CandidateScores:
    """Each candidate's log-probability: the sum over the tokens after the prompt's own.
    A candidate whose tokens do not start where the prompt's end is inexact (joint merge)."""
    n = len(prompt.tokens)
    logprobs: list[float] = []
    merged = []
    for i, echo in enumerate(candidates):
        if echo.tokens[:n] != prompt.tokens or len(echo.tokens) <= n:
            merged.append(i)
        values = echo.logprobs[n:] if len(echo.tokens) > n else echo.logprobs[-1:]
        logprobs.append(sum(v for v in values if v is not None))
    if not merged:
        return CandidateScores(tuple(logprobs), exact=True)
    return CandidateScores(
        tuple(logprobs),
        exact=False,
        note=f"{len(merged)} candidate(s) are tokenized together with the end of the prompt "
        "by the server; their scores are of that joint tokenization",
        details={"merged_candidates": float(len(merged))},
    )


def approximate_scores(
    candidates: Sequence[str], entries: Sequence[tuple[str, float]], k: int
) -> CandidateScores:
    """First-token top-k log-probabilities -> approximate candidate scores: a token that
    spells a candidate counts for it, one that begins exactly one candidate counts for that
    one; the rest of the mass is left out (and reported)."""
    mass = [0.0] * len(candidates)
    top_mass = ambiguous = 0.0
    for token, logprob in entries:
        p = math.exp(logprob)
        top_mass += p
        text = token.lstrip()
        if not text:
            continue
        exact = [i for i, c in enumerate(candidates) if c == text]
        starting = [i for i, c in enumerate(candidates) if c.startswith(text)]
        if exact:
            mass[exact[0]] += p
        elif len(starting) == 1:
            mass[starting[0]] += p
        elif starting:
            ambiguous += p
    covered = sum(mass)
    logprobs = tuple(math.log(m) if m > 0 else -math.inf for m in mass)
    note = (
        f"approximate: first-token top-{k} logprobs of the API; the candidates cover "
        f"{covered:.1%} of the first token's probability (the top {k} tokens hold {top_mass:.1%})"
    )
    details = {
        "top_logprobs": float(k),
        "covered_mass": covered,
        "top_mass": top_mass,
        "ambiguous_mass": ambiguous,
    }
    return CandidateScores(logprobs, exact=False, note=note, details=details)
