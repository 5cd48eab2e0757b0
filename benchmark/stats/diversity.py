"""Diversity of a set of texts that answer one prompt (open-ended tasks: no target).

Pure functions on texts and embeddings; the definitions are on docs/diversity.md.
Lexical metrics use sacrebleu's ``13a`` tokenizer (lowercased), so distinct-n and
self-BLEU see the same tokens (sacrebleu comes with the ``diversity`` extra and is
imported on first use). Embedding metrics take unit-norm embeddings (rows), so a
dot product is a cosine similarity.
"""

from __future__ import annotations

import gzip
from collections.abc import Sequence
from functools import cache
from typing import Any

import numpy as np

DISTINCT_TOKENS = 50
"""Length control of distinct-n: each text counts with its first 50 tokens at most."""
NGRAM_ORDERS = (1, 2, 3, 4)


@cache
def _tokenizer() -> Any:
    from sacrebleu.tokenizers.tokenizer_13a import Tokenizer13a

    return Tokenizer13a()  # type: ignore[no-untyped-call]


def tokens(text: str) -> list[str]:
    """``text`` as sacrebleu's 13a tokenizer splits it, lowercased."""
    return list(_tokenizer()(text.lower()).split())


def distinct_n(texts: Sequence[str], n: int, max_tokens: int = DISTINCT_TOKENS) -> float | None:
    """Distinct n-grams over all n-grams of the pooled texts, each text cut to its first
    ``max_tokens`` tokens (n-grams never cross two texts); None when no text has n tokens."""
    grams = [
        tuple(words[i : i + n])
        for words in (tokens(t)[:max_tokens] for t in texts)
        for i in range(len(words) - n + 1)
    ]
    return len(set(grams)) / len(grams) if grams else None


@cache
def _sentence_bleu() -> Any:
    from sacrebleu.metrics.bleu import BLEU

    return BLEU(lowercase=True, tokenize="13a", effective_order=True)


def self_bleu(texts: Sequence[str]) -> float | None:
    """Mean over texts of the sentence BLEU (0..1, sacrebleu, exponential smoothing) of a
    text against all the others as references; None for fewer than two texts."""
    if len(texts) < 2:
        return None
    bleu = _sentence_bleu()
    scores = [
        float(bleu.sentence_score(text, [*texts[:i], *texts[i + 1 :]]).score) / 100
        for i, text in enumerate(texts)
    ]
    return float(np.mean(scores))


def compression_ratio(texts: Sequence[str]) -> float | None:
    """Size of the texts joined by newlines over its gzip size (higher: more repetitive)."""
    raw = "\n".join(texts).encode("utf-8")
    if not raw:
        return None
    return len(raw) / len(gzip.compress(raw, compresslevel=9, mtime=0))


def cosine_similarities(embeddings: np.ndarray) -> np.ndarray:
    """The cosine-similarity matrix of unit-norm rows, clipped to [-1, 1]."""
    rows = np.asarray(embeddings, dtype=np.float64)
    return np.clip(rows @ rows.T, -1.0, 1.0)


def mean_pairwise_cosine_distance(similarity: np.ndarray) -> float | None:
    """Mean of 1 - cos over the unordered pairs of distinct items; None for one item."""
    n = len(similarity)
    if n < 2:
        return None
    upper = similarity[np.triu_indices(n, k=1)]
    return float(np.mean(1.0 - upper))


def vendi_score(similarity: np.ndarray) -> float:
    """exp of the Shannon entropy of the eigenvalues of K/n (Friedman & Dieng, 2023): the
    effective number of distinct items, 1 for identical items and n for orthogonal ones."""
    n = len(similarity)
    eigenvalues = np.clip(np.linalg.eigvalsh(similarity / n), 0.0, None)
    positive = eigenvalues[eigenvalues > 1e-12]
    return float(np.exp(-(positive * np.log(positive)).sum()))


def greedy_classes(texts: Sequence[str], similarity: np.ndarray, threshold: float) -> list[int]:
    """NoveltyBench's partition: in order, each text joins the first class whose
    representative (its first member) is at least ``threshold`` similar, else it starts a
    new class; a text seen before joins its first copy's class, whatever the similarities.
    Returns the class index of every text."""
    representatives: list[int] = []
    seen: dict[str, int] = {}
    classes: list[int] = []
    for i, text in enumerate(texts):
        if text not in seen:
            close = (c for c, r in enumerate(representatives) if similarity[i, r] >= threshold)
            seen[text] = next(close, len(representatives))
            if seen[text] == len(representatives):
                representatives.append(i)
        classes.append(seen[text])
    return classes
