"""Open-ended tasks: the diversity metrics against hand cases and independent computations,
the real all-MiniLM-L6-v2 embedder, the references, the calibration, and every method."""

from __future__ import annotations

import gzip
import math
from pathlib import Path

import numpy as np
import pytest
import sacrebleu

from randbench import diversity
from randbench.embedder import WEIGHTS, EmbedderError, default_embedder, verify_weights
from randbench.harness.backends import ModelSpec, load_backend
from randbench.harness.cache import ResponseCache
from randbench.harness.early_stop import stop_cells
from randbench.harness.methods import METHODS, SamplingMethod
from randbench.harness.runner import Runner
from randbench.harness.runs import RunConfig
from randbench.loader import load_tasks
from randbench.stats import diversity as div
from randbench.targets import Analysis

OPEN_ENDED = [t for t in load_tasks() if t.target.analysis is Analysis.OPEN_ENDED]
SAMPLING_METHODS = [n for n in METHODS.names() if issubclass(METHODS.get(n), SamplingMethod)]


def encode(texts: list[str]) -> np.ndarray:
    return default_embedder().encode(texts)


# ------------------------------------------------------------------ lexical metrics


def test_distinct_n_by_hand() -> None:
    texts = ["a b a b", "c"]
    assert div.distinct_n(texts, 1) == pytest.approx(3 / 5)  # a b a b c: a, b, c
    assert div.distinct_n(texts, 2) == pytest.approx(2 / 3)  # (a b) (b a) (a b); "c" has none
    assert div.distinct_n(texts, 4) == pytest.approx(1.0)
    assert div.distinct_n(["one two"], 3) is None


def test_distinct_n_controls_length_by_cutting_each_text() -> None:
    long = " ".join(f"w{i}" for i in range(200))
    cut = " ".join(f"w{i}" for i in range(div.DISTINCT_TOKENS))
    assert div.distinct_n([long, long], 1) == div.distinct_n([cut, cut], 1) == pytest.approx(0.5)
    assert div.tokens("Hello, World!") == ["hello", ",", "world", "!"]


def test_self_bleu_matches_sacrebleu_sentence_bleu() -> None:
    texts = ["the cat sat on the mat", "a dog ran in the park", "the cat ran on the mat"]
    expected = np.mean(
        [
            sacrebleu.sentence_bleu(
                t.lower(), [o.lower() for j, o in enumerate(texts) if j != i]
            ).score
            / 100
            for i, t in enumerate(texts)
        ]
    )
    assert div.self_bleu(texts) == pytest.approx(expected)
    assert div.self_bleu(["same words here"] * 4) == pytest.approx(1.0)
    assert div.self_bleu(["alone"]) is None


def test_compression_ratio_is_raw_over_gzip_size() -> None:
    texts = ["abc def", "ghi"]
    raw = b"abc def\nghi"
    assert div.compression_ratio(texts) == pytest.approx(len(raw) / len(gzip.compress(raw)))
    assert div.compression_ratio(["x" * 50] * 20) > 10 * div.compression_ratio(texts)
    assert div.compression_ratio([""]) is None


# ------------------------------------------------------------------ embedding metrics


def test_vendi_score_hand_cases() -> None:
    k = 7
    identical = np.ones((k, k))
    assert div.vendi_score(identical) == pytest.approx(1.0)
    assert div.vendi_score(np.eye(k)) == pytest.approx(k)
    c = 0.6  # two items of cosine c: eigenvalues of K/2 are (1 + c)/2 and (1 - c)/2
    lam = np.array([(1 + c) / 2, (1 - c) / 2])
    pair = np.array([[1.0, c], [c, 1.0]])
    assert div.vendi_score(pair) == pytest.approx(math.exp(-(lam * np.log(lam)).sum()))


def test_mean_pairwise_cosine_distance_by_hand() -> None:
    rows = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
    similarity = div.cosine_similarities(rows)
    assert div.mean_pairwise_cosine_distance(similarity) == pytest.approx((1 + 2 + 1) / 3)
    assert div.mean_pairwise_cosine_distance(np.ones((1, 1))) is None


def test_greedy_classes_join_the_first_close_representative() -> None:
    texts = ["a", "b", "c", "d"]
    similarity = np.array(
        [
            [1.0, 0.2, 0.9, 0.1],
            [0.2, 1.0, 0.8, 0.1],
            [0.9, 0.8, 1.0, 0.1],
            [0.1, 0.1, 0.1, 1.0],
        ]
    )
    assert div.greedy_classes(texts, similarity, 0.7) == [0, 1, 0, 2]
    assert div.greedy_classes(texts, similarity, 0.95) == [0, 1, 2, 3]


def test_exact_duplicates_always_share_a_class() -> None:
    rng = np.random.default_rng(3)
    for _ in range(50):
        texts = [f"t{i}" for i in rng.integers(0, 6, size=12)]
        noise = rng.uniform(-1, 1, size=(12, 12))
        similarity = (noise + noise.T) / 2  # not even consistent for equal texts
        classes = div.greedy_classes(texts, similarity, float(rng.uniform(0, 1)))
        for i, a in enumerate(texts):
            for j, b in enumerate(texts):
                if a == b:
                    assert classes[i] == classes[j]


# ------------------------------------------------------------------ the real embedder


def test_embedder_gives_unit_rows_and_one_row_per_distinct_text() -> None:
    rows = encode(
        [
            "A cat sat on the mat.",
            "A cat was sitting on the mat.",
            "Stocks fell.",
            "A cat sat on the mat.",
        ]
    )
    assert rows.shape == (4, 384)
    assert np.allclose(np.linalg.norm(rows, axis=1), 1.0, atol=1e-5)
    assert np.array_equal(rows[0], rows[3])
    similarity = rows @ rows.T
    assert similarity[0, 1] > diversity.SEMANTIC_THRESHOLD > similarity[0, 2]


def test_embedder_refuses_weights_that_are_not_the_pinned_file(tmp_path: Path) -> None:
    with pytest.raises(EmbedderError, match="missing"):
        verify_weights(tmp_path)
    (tmp_path / WEIGHTS).write_bytes(b"not the model")
    with pytest.raises(EmbedderError, match="is not the pinned 53aa5117"):
        verify_weights(tmp_path)


def test_duplicates_share_a_class_with_the_real_embedder_at_any_threshold() -> None:
    texts = ["Elara Moonwhisper", "Lyra Starfall", "Elara Moonwhisper", "Kael", "Lyra Starfall"]
    strict = diversity.measure(texts, encode, threshold=2.0)  # nothing is similar enough
    assert strict.classes == [0, 1, 0, 2, 1]
    assert strict.semantic_classes == 3 and strict.exact_duplicates == 2


def test_pinned_threshold_is_the_calibrated_one() -> None:
    calibration = diversity.calibrate_threshold(encode)
    assert len(calibration.same) == len(calibration.different) == 30
    assert calibration.low < diversity.SEMANTIC_THRESHOLD <= calibration.high
    assert round(calibration.threshold, 2) == diversity.SEMANTIC_THRESHOLD
    assert calibration.accuracy_at(diversity.SEMANTIC_THRESHOLD) == calibration.balanced_accuracy
    assert calibration.balanced_accuracy >= 0.95


@pytest.mark.parametrize("k", [10, 20])
def test_floor_and_ceiling_references(k: int) -> None:
    floor, ceiling = diversity.references(k, encode)
    assert ceiling is not None
    assert floor.k == ceiling.k == k
    assert floor.semantic_classes == 1 and floor.exact_duplicates == k - 1
    assert floor.vendi_score == pytest.approx(1.0)
    assert floor.mean_cosine_distance == pytest.approx(0.0, abs=1e-6)
    assert floor.self_bleu == pytest.approx(1.0)
    assert floor.distinct_4 == pytest.approx(1 / k)
    assert ceiling.semantic_classes == k and ceiling.exact_duplicates == 0
    assert ceiling.vendi_score > 0.85 * k
    assert ceiling.mean_cosine_distance > 0.9
    assert ceiling.self_bleu < 0.1 < floor.self_bleu
    assert ceiling.distinct_2 > 0.9
    assert ceiling.compression_ratio < 2 < k / 2 < floor.compression_ratio


def test_no_ceiling_beyond_the_corpus() -> None:
    k = len(diversity.reference_corpus()) + 1
    floor, ceiling = diversity.references(k, encode)
    assert ceiling is None and floor.semantic_classes == 1


# ------------------------------------------------------------------ tasks and methods


def test_open_ended_library() -> None:
    assert len(OPEN_ENDED) >= 15
    assert all(t.category == "open_ended" and t.parser.yields == "outcome" for t in OPEN_ENDED)
    assert all(t.samples <= len(diversity.reference_corpus()) for t in OPEN_ENDED)
    assert all(stop_cells(t, RunConfig()) is None for t in OPEN_ENDED)


def test_logprob_refuses_open_ended_tasks_before_any_work(tmp_path: Path) -> None:
    backend = load_backend(ModelSpec("oracle"))
    runner = Runner(backend, ResponseCache(tmp_path / "c.sqlite"), RunConfig())
    with pytest.raises(ValueError, match="open-ended task has no target distribution"):
        runner.run(OPEN_ENDED[:2], [METHODS.get("logprob")()])
    assert runner.cache.get_many("x", [0]) == {}
    dice = [t for t in load_tasks() if t.name == "dice_d6"]
    runs = runner.run([*dice, OPEN_ENDED[0]], [METHODS.get("logprob")()])
    assert runs[0].metrics is not None
    assert runs[1].skipped == "skipped: open-ended task (no target distribution to score)"


def test_every_sampling_method_measures_open_ended_diversity(tmp_path: Path) -> None:
    task = next(t for t in OPEN_ENDED if t.name == "short_story_dragon")
    runner = Runner(
        load_backend(ModelSpec("oracle")), ResponseCache(tmp_path / "c.sqlite"), RunConfig()
    )
    runs = runner.run([task], [METHODS.get(name)() for name in SAMPLING_METHODS])
    assert [r.method for r in runs] == SAMPLING_METHODS
    for run in runs:
        assert run.metrics is not None and run.metrics.diversity is not None, run.skipped
        metrics = run.metrics.diversity
        assert run.metrics.n_valid == task.samples, (run.method, run.metrics.invalid_reasons)
        assert metrics.model.k == metrics.floor.k == task.samples
        assert len(metrics.model.classes) == task.samples
        assert 1 <= metrics.model.semantic_classes <= task.samples
        assert metrics.threshold == diversity.SEMANTIC_THRESHOLD
        assert "all-MiniLM-L6-v2" in metrics.embedder
