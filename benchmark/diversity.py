"""Open-ended tasks: how diverse k generations for one prompt are, and where that lies
between two references (docs/diversity.md).

:func:`measure` computes every metric of :mod:`randbench.stats.diversity` on the valid
answers of a task with the packaged embedder (:mod:`randbench.embedder`, loaded on the
first call). The references are built from the shipped corpus at the same k: the floor is
k copies of one text, the ceiling k unrelated texts. The semantic-class threshold is
calibrated on shipped paraphrase pairs by :func:`calibrate_threshold`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cache
from importlib.resources import files

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict

from randbench.stats import diversity as div

SEMANTIC_THRESHOLD = 0.69
"""Cosine similarity at or above which two generations are one semantic class: the middle
of the gap between the shipped paraphrase and non-paraphrase pairs on all-MiniLM-L6-v2
(calibrated by :func:`calibrate_threshold`; numbers on docs/diversity.md)."""

Encode = Callable[[Sequence[str]], np.ndarray]


class Diversity(BaseModel):
    """The diversity of k generations (the valid answers of one task), as written to results."""

    model_config = ConfigDict(extra="forbid")

    k: int
    distinct_1: float | None = None
    distinct_2: float | None = None
    distinct_3: float | None = None
    distinct_4: float | None = None
    self_bleu: float | None = None
    compression_ratio: float | None = None
    mean_cosine_distance: float | None = None
    vendi_score: float | None = None
    semantic_classes: int = 0
    exact_duplicates: int = 0
    """Generations identical to an earlier one (k minus the distinct texts)."""
    mean_tokens: float | None = None
    classes: list[int] = []
    """The semantic class of each generation, in answer order (empty for the references)."""


class OpenEndedMetrics(BaseModel):
    """An open-ended task's diversity beside the floor and ceiling references at its k."""

    model_config = ConfigDict(extra="forbid")

    model: Diversity
    floor: Diversity
    ceiling: Diversity | None
    """None when k exceeds the reference corpus (more generations than a task asks for)."""
    threshold: float
    embedder: str


def measure(
    texts: Sequence[str], encode: Encode, threshold: float = SEMANTIC_THRESHOLD
) -> Diversity:
    """Every diversity metric of ``texts``; ``encode`` gives unit-norm embeddings."""
    k = len(texts)
    if k == 0:
        return Diversity(k=0)
    similarity = div.cosine_similarities(encode(texts))
    classes = div.greedy_classes(texts, similarity, threshold)
    return Diversity(
        k=k,
        **{f"distinct_{n}": div.distinct_n(texts, n) for n in div.NGRAM_ORDERS},
        self_bleu=div.self_bleu(texts),
        compression_ratio=div.compression_ratio(texts),
        mean_cosine_distance=div.mean_pairwise_cosine_distance(similarity),
        vendi_score=div.vendi_score(similarity),
        semantic_classes=max(classes) + 1,
        exact_duplicates=k - len(set(texts)),
        mean_tokens=float(np.mean([len(div.tokens(t)) for t in texts])),
        classes=classes,
    )


def _data(name: str) -> dict[str, object]:
    loaded = yaml.safe_load((files("randbench") / "data" / name).read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


@cache
def reference_corpus() -> tuple[str, ...]:
    """The shipped texts on unrelated subjects (the ceiling; the first is the floor's text)."""
    texts = _data("reference_corpus.yaml")["texts"]
    assert isinstance(texts, list)
    return tuple(str(t) for t in texts)


def floor_texts(k: int) -> list[str]:
    """k copies of one text: the least diverse answer set."""
    return [reference_corpus()[0]] * k


def ceiling_texts(k: int) -> list[str]:
    """k texts on unrelated subjects: about the most diverse answer set of that size."""
    corpus = reference_corpus()
    if k > len(corpus):
        raise ValueError(f"the reference corpus has {len(corpus)} texts, fewer than k = {k}")
    return list(corpus[:k])


def reference_sample(rng: np.random.Generator, n: int) -> list[str]:
    """n texts drawn uniformly, with replacement, from the corpus: what the ``oracle``
    answers to an open-ended task, which has no distribution of its own to draw from."""
    corpus = reference_corpus()
    return [corpus[i] for i in rng.integers(len(corpus), size=n)]


@cache
def references(k: int, encode: Encode) -> tuple[Diversity, Diversity | None]:
    """The floor and the ceiling at k generations (computed once per k and embedder)."""
    floor = measure(floor_texts(k), encode).model_copy(update={"classes": []})
    if k > len(reference_corpus()):
        return floor, None
    return floor, measure(ceiling_texts(k), encode).model_copy(update={"classes": []})


def open_ended_metrics(texts: Sequence[str], encode: Encode, embedder: str) -> OpenEndedMetrics:
    """``texts`` measured, beside the floor and ceiling at the same k."""
    floor, ceiling = references(len(texts), encode)
    return OpenEndedMetrics(
        model=measure(texts, encode),
        floor=floor,
        ceiling=ceiling,
        threshold=SEMANTIC_THRESHOLD,
        embedder=embedder,
    )


PLACED = (
    "semantic_classes",
    "vendi_score",
    "mean_cosine_distance",
    "distinct_2",
    "self_bleu",
    "compression_ratio",
)
"""The metrics placed between the references (self-BLEU and compression fall as diversity
grows; the placement takes the direction from the references)."""


def placement(metrics: OpenEndedMetrics) -> dict[str, float | None]:
    """Where each metric lies between the floor (0) and the ceiling (1) at the same k:
    (model - floor) / (ceiling - floor); None without a ceiling or when the two coincide."""
    placed: dict[str, float | None] = {}
    for name in PLACED:
        model, low = getattr(metrics.model, name), getattr(metrics.floor, name)
        high = getattr(metrics.ceiling, name) if metrics.ceiling is not None else None
        usable = None not in (model, low, high) and abs(high - low) > 1e-12
        placed[name] = (model - low) / (high - low) if usable else None
    return placed


def mean_placement(metrics: OpenEndedMetrics) -> float | None:
    """The mean of :func:`placement` over the metrics that have one."""
    found = [v for v in placement(metrics).values() if v is not None]
    return float(np.mean(found)) if found else None


class Calibration(BaseModel):
    """How the semantic-class threshold separates the shipped paraphrase pairs."""

    same: list[float]
    different: list[float]
    threshold: float
    """The middle of the widest run of thresholds with the best balanced accuracy."""
    low: float
    high: float
    """That run: every threshold in (low, high] classifies the pairs equally well."""
    balanced_accuracy: float

    def accuracy_at(self, threshold: float) -> float:
        """Balanced accuracy of calling a pair one class when its similarity >= threshold."""
        same = np.mean(np.asarray(self.same) >= threshold)
        different = np.mean(np.asarray(self.different) < threshold)
        return float((same + different) / 2)


def paraphrase_pairs() -> dict[str, list[tuple[str, str]]]:
    """The shipped calibration pairs: ``same`` (one class) and ``different`` (two)."""
    data = _data("paraphrase_pairs.yaml")
    return {label: [(str(a), str(b)) for a, b in data[label]] for label in ("same", "different")}  # type: ignore[attr-defined]


def pair_similarities(pairs: Sequence[tuple[str, str]], encode: Encode) -> list[float]:
    first = encode([a for a, _ in pairs])
    second = encode([b for _, b in pairs])
    return [float(s) for s in np.clip((first * second).sum(axis=1), -1.0, 1.0)]


def calibrate_threshold(encode: Encode) -> Calibration:
    """Pick the threshold on the shipped pairs: of the candidate cut points (the observed
    similarities), those with the best balanced accuracy; the middle of their run."""
    pairs = paraphrase_pairs()
    same = pair_similarities(pairs["same"], encode)
    different = pair_similarities(pairs["different"], encode)
    cuts = sorted({*same, *different, 1.0 + 1e-9})
    probe = Calibration(
        same=same, different=different, threshold=0, low=0, high=0, balanced_accuracy=0
    )
    scores = [probe.accuracy_at(c) for c in cuts]
    best = max(scores)
    first = scores.index(best)
    last = first
    while last + 1 < len(cuts) and scores[last + 1] == best:
        last += 1
    low = cuts[first - 1] if first > 0 else -1.0
    high = cuts[last]
    return probe.model_copy(
        update={"threshold": (low + high) / 2, "low": low, "high": high, "balanced_accuracy": best}
    )
