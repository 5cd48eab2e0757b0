"""Plots rendered at build time as SVG with matplotlib, byte-for-byte reproducible.

Every plot is drawn on a fresh :class:`~matplotlib.figure.Figure` (no pyplot state),
saved with a fixed ``svg.hashsalt`` and no date, so the same results give the same
files. Labels come from result files (untrusted): they are shortened and their
``$`` escaped so that matplotlib never reads them as mathtext; the pages show the
SVGs through ``<img>``, where nothing in an SVG can run.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import matplotlib
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, NullFormatter
from scipy import stats

from randbench.leaderboard.load import TaskData, outcome_value
from randbench.leaderboard.probes import Series
from randbench.leaderboard.projection import Projection
from randbench.leaderboard.scoring import Aggregate, TaskScore, seed_for
from randbench.targets import Analysis

MODEL = "#1f5fa8"
TARGET = "#555555"
BAND = "#d9d9d9"
METHOD_COLOURS = ("#1f5fa8", "#d0661a", "#2a8a4a", "#8a3fa0", "#a83232", "#6b6b2a")
MAX_BARS = 60
MANY_NUMBERS = 30
"""Numeric supports with more outcomes than this are shown as a CDF, not bars."""
RC: dict[str, Any] = {
    "svg.hashsalt": "randbench",
    "text.parse_math": False,
    "svg.fonttype": "none",
    "font.size": 8.5,
    "font.family": "DejaVu Sans",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 9.5,
    "axes.titleweight": "bold",
    "legend.frameon": False,
    "legend.fontsize": 8,
}


@contextmanager
def _figure(
    width: float = 6.4, height: float = 3.0, *, fit: bool = False
) -> Iterator[tuple[Figure, io.StringIO]]:
    """A figure saved as SVG on exit. ``fit`` lays it out around its labels (slower: for
    plots with long labels); otherwise fixed margins leave room for rotated tick labels."""
    out = io.StringIO()
    with matplotlib.rc_context(RC):  # type: ignore[arg-type]
        fig = Figure(figsize=(width, height), layout="constrained" if fit else None)
        if not fit:
            fig.subplots_adjust(left=0.1, right=0.97, top=0.9, bottom=0.25)
        yield fig, out
        fig.savefig(out, format="svg", metadata={"Date": None})


def text(label: object, limit: int = 18) -> str:
    """A label cut to ``limit`` characters (``text.parse_math`` is off: drawn literally)."""
    shown = str(label)
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"


def plot_kind(score: TaskScore, data: TaskData) -> str:
    """Which picture a task calls for."""
    analysis = data.target.judged_as()
    if analysis is Analysis.CONTINUOUS:
        return "cdf"
    if analysis in (Analysis.POINT_MASS, Analysis.OPEN_ENDED) or score.projection is None:
        return "answers"
    if analysis is Analysis.PERMUTATION:
        return "heatmap"
    if analysis is Analysis.SUBSET:
        return "inclusion"
    if score.projection.shape[0] > 1:
        return "positions"
    support = data.target.support() or []
    numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in support)
    return "cdf" if numeric and len(support) > MANY_NUMBERS else "bars"


def task_plot(score: TaskScore, data: TaskData) -> str:
    """The model's distribution against the target for one task, as SVG."""
    kind = plot_kind(score, data)
    draw = _TASK_PLOTS[kind]
    with _figure(fit=kind in ("answers", "heatmap")) as (fig, out):
        draw(fig.add_subplot(), score, data)
    return out.getvalue()


def _bars(ax: Axes, score: TaskScore, data: TaskData) -> None:
    projection = score.projection
    assert projection is not None
    labels = projection.cell_labels
    target = projection.probs[0]
    shares = _shares(score)[0]
    order = np.arange(len(labels))
    if len(labels) > MAX_BARS:
        order = np.argsort(-(shares + target), kind="stable")[:MAX_BARS]
    x = np.arange(len(order))
    ax.bar(x, shares[order], color=MODEL, width=0.7, label=_model_label(score))
    if not score.exact and score.n_valid:
        low, high = _binomial_band(score.n_valid, target[order])
        ax.vlines(x, low, high, color=TARGET, linewidth=3, alpha=0.35, label="perfect sampler 95%")
    ax.scatter(x, target[order], color=TARGET, marker="_", s=180, zorder=3, label="target")
    ax.set_xticks(x, [text(labels[i], 12) for i in order], rotation=90 if len(x) > 12 else 0)
    ax.set_ylabel("share of valid answers" if not score.exact else "probability")
    ax.legend(loc="upper right", ncols=3)
    ax.set_ylim(0, max(1e-9, float(max(shares.max(), target.max()))) * 1.25)


def _shares(score: TaskScore) -> np.ndarray:
    assert score.counts is not None
    counts = np.asarray(score.counts, dtype=float)
    totals = counts.sum(axis=1, keepdims=True)
    return np.asarray(np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0))


def _model_label(score: TaskScore) -> str:
    return "model (exact)" if score.exact else f"model (n={score.n_valid})"


def _binomial_band(n: int, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    low = stats.binom.ppf(0.025, n, p) / n
    high = stats.binom.ppf(0.975, n, p) / n
    return np.asarray(low), np.asarray(high)


def _cdf(ax: Axes, score: TaskScore, data: TaskData) -> None:
    target = data.target
    if score.exact:
        support = np.asarray(target.support() or [], dtype=float)
        assert score.counts is not None
        ax.step(support, np.cumsum(score.counts[0]), where="post", color=MODEL, label="model")
        grid = support
    else:
        values = np.sort(np.asarray(_valid_values(data), dtype=float))
        lo, hi = _cdf_range(target, values)
        grid = np.linspace(lo, hi, 400)
        if len(values):
            ecdf = np.searchsorted(values, grid, side="right") / len(values)
            ax.step(grid, ecdf, where="post", color=MODEL, label=f"model (n={len(values)})")
            low, high = _binomial_band(len(values), _target_cdf(target, grid))
            ax.fill_between(grid, low, high, color=BAND, step="post", label="perfect sampler 95%")
    ax.step(grid, _target_cdf(target, grid), where="post", color=TARGET, linestyle="--",
            label="target")  # fmt: skip
    ax.set_ylabel("cumulative share")
    ax.set_ylim(0, 1.02)
    ax.legend(loc="lower right")


def _target_cdf(target: Any, x: np.ndarray) -> np.ndarray:
    if hasattr(target, "scipy_dist"):
        return np.asarray(target.scipy_dist().cdf(x))
    return np.asarray(target.cdf(x))


def _cdf_range(target: Any, values: np.ndarray) -> tuple[float, float]:
    if hasattr(target, "scipy_dist"):
        dist = target.scipy_dist()
        lo, hi = float(dist.ppf(0.001)), float(dist.ppf(0.999))
    else:
        support = np.asarray(target.support(), dtype=float)
        lo, hi = float(support.min()), float(support.max())
    if len(values):
        lo, hi = min(lo, float(values[0])), max(hi, float(values[-1]))
    return lo, hi


def _valid_values(data: TaskData) -> list[Any]:
    return [
        outcome_value(o.value) for s in data.samples for o in s.outcomes if o.invalid_reason is None
    ]


def _heatmap(ax: Axes, score: TaskScore, data: TaskData) -> None:
    projection = score.projection
    assert projection is not None
    shares = _shares(score)
    expected = 1 / projection.shape[1]
    image = ax.imshow(shares.T, cmap="RdBu_r", vmin=0, vmax=2 * expected, aspect="auto")
    ax.set_xticks(range(len(projection.group_labels)), [str(i + 1) for i in range(shares.shape[0])])
    ax.set_yticks(range(len(projection.cell_labels)), [text(c, 12) for c in projection.cell_labels])
    ax.set_xlabel("position")
    ax.figure.colorbar(image, ax=ax, label=f"share (target {expected:.3g})")
    if shares.size <= 64:
        for (g, c), value in np.ndenumerate(shares):
            ax.text(g, c, f"{value:.2f}", ha="center", va="center", fontsize=7)


def _inclusion(ax: Axes, score: TaskScore, data: TaskData) -> None:
    projection = score.projection
    assert projection is not None
    shares = _shares(score)[:, 0]
    target = projection.probs[:, 0]
    x = np.arange(len(shares))
    ax.bar(x, shares, color=MODEL, width=0.7, label=_model_label(score))
    if not score.exact and score.n_valid:
        low, high = _binomial_band(score.n_valid, target)
        ax.fill_between(x, low, high, color=BAND, step="mid", label="perfect sampler 95%",
                        zorder=0)  # fmt: skip
    ax.plot(x, target, color=TARGET, linestyle="--", label="target")
    labels = [text(g, 10) for g in projection.group_labels]
    ax.set_xticks(x, labels, rotation=90 if len(x) > 12 else 0)
    ax.set_ylabel("share of answers that choose it")
    ax.legend(loc="upper right", ncols=3)


def _positions(ax: Axes, score: TaskScore, data: TaskData) -> None:
    projection = score.projection
    assert projection is not None
    shares = _shares(score)
    distance = 0.5 * np.abs(shares - projection.probs).sum(axis=1)
    x = np.arange(len(distance)) + 1
    if not score.exact and score.n_valid:
        low, high = _group_null_band(score, data)
        ax.fill_between(x, low, high, color=BAND, step="mid", label="perfect sampler 95%")
    ax.plot(x, distance, color=MODEL, marker="o", markersize=3, label=_model_label(score))
    ax.set_xlabel(projection.view.replace("the ", "", 1).split(" at ")[-1])
    ax.set_ylabel("total variation distance")
    ax.set_ylim(0, max(0.05, float(distance.max()) * 1.2))
    ax.legend(loc="upper right", ncols=2)


def _group_null_band(score: TaskScore, data: TaskData, runs: int = 200) -> tuple[np.ndarray, ...]:
    projection = score.projection
    assert projection is not None
    rng = seed_for("group-band", data.name, str(score.n_valid))
    lows, highs = [], []
    for probs in projection.probs:
        counts = rng.multinomial(score.n_valid, probs, size=runs) / score.n_valid
        tvd = 0.5 * np.abs(counts - probs).sum(axis=1)
        lows.append(np.percentile(tvd, 2.5))
        highs.append(np.percentile(tvd, 97.5))
    return np.array(lows), np.array(highs)


def _answers(ax: Axes, score: TaskScore, data: TaskData) -> None:
    """Controls and open-ended tasks: the most frequent answers, and the unreadable ones."""
    tally: dict[str, float] = {}
    if data.entry.is_exact:
        tally = dict(data.entry.distribution)
        tally = {k: v * score.validity for k, v in tally.items()}
        tally["(other text)"] = 1 - score.validity
    else:
        total = max(1, sum(len(s.outcomes) for s in data.samples))
        for s in data.samples:
            for o in s.outcomes:
                key = "(unreadable)" if o.invalid_reason else _answer_label(o.value)
                tally[key] = tally.get(key, 0.0) + 1 / total
    top = sorted(tally.items(), key=lambda kv: (-kv[1], kv[0]))[:20]
    y = np.arange(len(top))[::-1]
    ax.barh(y, [v for _, v in top], color=MODEL)
    ax.set_yticks(y, [text(k, 24) for k, _ in top])
    ax.set_xlabel("share of answers")
    ax.set_xlim(0, 1)


def _answer_label(value: Any) -> str:
    shown = outcome_value(value)
    return " ".join(map(str, shown)) if isinstance(shown, tuple) else str(shown)


_TASK_PLOTS: dict[str, Callable[[Axes, TaskScore, TaskData], None]] = {
    "bars": _bars,
    "cdf": _cdf,
    "heatmap": _heatmap,
    "inclusion": _inclusion,
    "positions": _positions,
    "answers": _answers,
}


def overall_plot(labels: Sequence[str], scores: Sequence[Aggregate]) -> str:
    """Overall scores with their 95% intervals, best at the top (a forest plot)."""
    height = 0.9 + 0.32 * len(labels)
    with _figure(6.4, height, fit=True) as (fig, out):
        ax = fig.add_subplot()
        y = np.arange(len(labels))[::-1]
        for yi, agg in zip(y, scores, strict=True):
            if agg.score is None or agg.interval is None:
                continue
            low, high = agg.interval
            ax.plot([100 * low, 100 * high], [yi, yi], color=MODEL, linewidth=2)
            ax.plot(100 * agg.score, yi, "o", color=MODEL)
        ax.axvline(100, color=TARGET, linestyle="--", linewidth=1)
        ax.axvline(0, color=TARGET, linestyle=":", linewidth=1)
        ax.set_yticks(y, [text(label, 48) for label in labels])
        ax.set_xlabel("overall score (100 = perfect sampler, 0 = constant answer)")
        ax.set_xlim(-5, 110)
    return out.getvalue()


def model_plot(categories: Sequence[str], series: dict[str, list[TaskScore]]) -> str:
    """Every scored task of one model, by category, one marker colour per method."""
    height = 1.0 + 0.4 * len(categories)
    with _figure(6.4, height, fit=True) as (fig, out):
        ax = fig.add_subplot()
        positions = {c: i for i, c in enumerate(reversed(categories))}
        for k, (method, scores) in enumerate(sorted(series.items())):
            offset = (k - (len(series) - 1) / 2) * 0.18
            xs = [100 * s.score for s in scores if s.score is not None and s.category in positions]
            ys = [positions[s.category] + offset for s in scores if s.score is not None
                  and s.category in positions]  # fmt: skip
            colour = METHOD_COLOURS[k % len(METHOD_COLOURS)]
            ax.scatter(xs, ys, s=14, color=colour, alpha=0.75, label=text(method, 20))
        ax.axvline(100, color=TARGET, linestyle="--", linewidth=1)
        ax.set_yticks(list(positions.values()), [text(c, 20) for c in positions])
        ax.set_xlabel("task score (100 = perfect sampler, 0 = constant answer)")
        ax.set_xlim(-5, 125)
        ax.legend(loc="lower right")
    return out.getvalue()


def compare_plot(labels: Sequence[str], scores: Sequence[TaskScore]) -> str:
    """One task across rows: grouped bars of each outcome's share (few outcomes), cumulative
    shares (many numbers), or the distance in each group of the view (structured answers)."""
    projection = scores[0].projection
    assert projection is not None
    with _figure() as (fig, out):
        ax = fig.add_subplot()
        if projection.shape[0] > 1:
            _compare_groups(ax, labels, scores, projection)
        elif projection.shape[1] <= MAX_GROUPED:
            _compare_bars(ax, labels, scores, projection)
        else:
            _compare_cumulative(ax, labels, scores, projection)
        ax.legend(loc="upper right", fontsize=7)
    return out.getvalue()


MAX_GROUPED = 16
"""Up to this many outcomes, the comparison shows grouped bars; beyond, cumulative lines."""


def _colour(k: int) -> str:
    return METHOD_COLOURS[k % len(METHOD_COLOURS)]


def _compare_bars(
    ax: Axes, labels: Sequence[str], scores: Sequence[TaskScore], projection: Projection
) -> None:
    x = np.arange(projection.shape[1])
    width = 0.8 / len(scores)
    for k, (label, score) in enumerate(zip(labels, scores, strict=True)):
        offset = (k - (len(scores) - 1) / 2) * width
        ax.bar(x + offset, _shares(score)[0], width=width, color=_colour(k), label=text(label, 48))
    ax.scatter(x, projection.probs[0], color="black", marker="_", s=250, zorder=3, label="target")
    ax.set_xticks(x, [text(c, 10) for c in projection.cell_labels],
                  rotation=90 if len(x) > 8 else 0)  # fmt: skip
    ax.set_ylabel("share of valid answers")


def _compare_cumulative(
    ax: Axes, labels: Sequence[str], scores: Sequence[TaskScore], projection: Projection
) -> None:
    x = np.arange(projection.shape[1])
    ax.step(x, np.cumsum(projection.probs[0]), where="post", color="black", linestyle="--",
            label="target")  # fmt: skip
    for k, (label, score) in enumerate(zip(labels, scores, strict=True)):
        ax.step(x, np.cumsum(_shares(score)[0]), where="post", color=_colour(k),
                label=text(label, 48))  # fmt: skip
    ticks = np.unique(np.linspace(0, len(x) - 1, min(len(x), 11)).astype(int))
    ax.set_xticks(ticks, [text(projection.cell_labels[i], 10) for i in ticks])
    ax.set_xlabel("outcome (in the target's order)")
    ax.set_ylabel("cumulative share")
    ax.set_ylim(0, 1.02)


def _compare_groups(
    ax: Axes, labels: Sequence[str], scores: Sequence[TaskScore], projection: Projection
) -> None:
    x = np.arange(projection.shape[0]) + 1
    for k, (label, score) in enumerate(zip(labels, scores, strict=True)):
        distance = 0.5 * np.abs(_shares(score) - projection.probs).sum(axis=1)
        ax.plot(x, distance, marker="o", markersize=3, linewidth=1, color=_colour(k),
                label=text(label, 48))  # fmt: skip
    ax.set_xlabel(projection.view)
    ax.set_ylabel("distance from the target")
    ax.set_ylim(bottom=0)


CAPTIONS = {
    "bars": "The share of each outcome among the valid answers (bars) against the target (ticks); "
    "grey: where a perfect sampler with as many answers lands 95% of the time.",
    "cdf": "The cumulative share of the answers (solid) against the target (dashed); "
    "grey: a perfect sampler's pointwise 95% band.",
    "heatmap": "The share of each item at each position; a uniform shuffle is the same everywhere "
    "(white).",
    "inclusion": "How often each item is chosen (bars) against the target (dashed); "
    "grey: a perfect sampler's 95% band.",
    "positions": "The distance from the target in each group of the view (line); "
    "grey: a perfect sampler's 95% range.",
    "answers": "The most frequent answers and the share of unreadable ones.",
}


EXACT_CAPTIONS = {
    "bars": "The model's probability of each outcome, renormalised over the task's answers "
    "(bars), against the target (ticks).",
    "cdf": "The model's cumulative probability, renormalised over the task's answers (solid), "
    "against the target (dashed).",
    "heatmap": "The model's probability of each item at each position; a uniform shuffle is the "
    "same everywhere (white).",
    "inclusion": "The model's probability of choosing each item (bars) against the target "
    "(dashed).",
    "positions": "The distance of the model's distribution from the target in each group of the "
    "view.",
}


def compare_caption(projection: Projection) -> str:
    if projection.shape[0] > 1:
        return f"The distance from the target of every row, view: {projection.view}."
    if projection.shape[1] <= MAX_GROUPED:
        return "The share of each outcome for every row; black ticks: the target."
    return "The cumulative share of the outcomes for every row; dashed: the target."


def caption(score: TaskScore, data: TaskData) -> str:
    """What the task's plot shows, in one sentence (also its alt text)."""
    kind = plot_kind(score, data)
    if score.exact and kind in EXACT_CAPTIONS:
        return EXACT_CAPTIONS[kind]
    return CAPTIONS[kind]


CURVE_STYLES = {"target": "-", "posterior": "--", "prior": ":", "discounted": "-."}
BASELINE_STYLES = {"posterior predictive": "--", "empirical frequency": (0, (1, 1))}
"""The predictors a model's TVD to theta is read against (grey lines)."""
"""Line style of each distribution the in-context TVDs are measured to (others: dotted)."""


def tvd_curve_plot(title: str, series: Sequence[tuple[str, dict[str, list[float]]]],
                   lengths: Sequence[int]) -> str:  # fmt: skip
    """Mean TVD (over theta) against the evidence length N for one task family: one colour
    per method, one line style per distribution (theta, posterior predictive, ...). The N
    are evenly spaced (0, 1, 3, ... 100), labelled with their values."""
    with _figure(6.4, 3.2, fit=True) as (fig, out):
        ax = fig.add_subplot()
        x = np.arange(len(lengths))
        for k, (method, curves) in enumerate(series):
            for name, values in curves.items():
                if method == "baseline":  # a predictor's own TVD to theta, in grey
                    ax.plot(
                        x[: len(values)],
                        values,
                        color="0.55",
                        linewidth=1.0,
                        linestyle=BASELINE_STYLES.get(name, ":"),
                        label=text(name, 24),
                    )
                    continue
                ax.plot(x[: len(values)], values, color=_colour(k), marker="o", markersize=3,
                        linestyle=CURVE_STYLES.get(name, ":"), linewidth=1.3,
                        label=f"{text(method, 16)}: to {text(name, 16)}")  # fmt: skip
        ax.set_xticks(x, [str(n) for n in lengths])
        ax.set_xlabel("observations in the context (N)")
        ax.set_ylabel("mean TVD over theta")
        ax.set_ylim(0, 1)
        ax.set_title(text(title, 60))
        ax.legend(loc="upper right", ncols=2, fontsize=7)
    return out.getvalue()


def compliance_plot(series: Sequence[tuple[str, Sequence[float], Sequence[float]]]) -> str:
    """The model's P(first outcome) against the stated theta, one line per (family, method),
    with the diagonal a compliant model follows."""
    with _figure(6.4, 3.4, fit=True) as (fig, out):
        ax = fig.add_subplot()
        ax.plot([0, 100], [0, 1], color=TARGET, linestyle="--", linewidth=1, label="stated bias")
        for k, (label, thetas, p_first) in enumerate(series):
            ax.plot(thetas, p_first, color=_colour(k), marker="o", markersize=3,
                    label=text(label, 48))  # fmt: skip
        ax.set_xlabel("stated P(heads), %")
        ax.set_ylabel("model's P(heads)")
        ax.set_xlim(-2, 102)
        ax.set_ylim(-0.02, 1.02)
        ax.legend(loc="upper left", fontsize=7)
    return out.getvalue()


def poisson_plot(series: Sequence[tuple[str, Sequence[float], Sequence[float]]]) -> str:
    """The share of gaps the model marked against lambda, one marker series per (method,
    form), with the target 1 - e^(-lambda) (at most one mark per gap)."""
    rates = [r for _, xs, _ in series for r in xs] or [1.0]
    grid = np.linspace(0, max(rates) * 1.05, 200)
    with _figure(6.4, 3.2, fit=True) as (fig, out):
        ax = fig.add_subplot()
        ax.plot(grid, -np.expm1(-grid), color=TARGET, linestyle="--", linewidth=1,
                label="target 1 − e^(−λ)")  # fmt: skip
        for k, (label, xs, ys) in enumerate(series):
            ax.plot(xs, ys, color=_colour(k), marker="o", linestyle="-", linewidth=1,
                    label=text(label, 48))  # fmt: skip
        ax.set_xlabel("λ (rate per gap between words)")
        ax.set_ylabel("share of gaps marked")
        ax.set_ylim(-0.02, 1.02)
        ax.legend(loc="lower right", fontsize=7)
    return out.getvalue()


def probe_plot(title: str, series: Sequence[Series], log_scale: bool) -> str:
    """A probe's quantities over training steps: one colour per arm, one line style per
    quantity, the mean over training seeds with their range shaded."""
    arms = list(dict.fromkeys(s.arm for s in series))
    with _figure(6.4, 3.4, fit=True) as (fig, out):
        ax = fig.add_subplot()
        for line in series:
            colour = _colour(arms.index(line.arm))
            ax.fill_between(line.steps, line.low, line.high, color=colour, alpha=0.15,
                            linewidth=0)  # fmt: skip
            ax.plot(line.steps, line.mean, color=colour, linestyle=line.style, marker="o",
                    markersize=2.5, linewidth=1.3,
                    label=f"{text(line.arm, 12)}: {text(line.label, 36)}")  # fmt: skip
        if log_scale:
            ax.set_yscale("log")
            ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:.0e}"))
            ax.yaxis.set_minor_formatter(NullFormatter())
        else:
            ax.set_ylim(-0.02, 1.02)
        ax.set_xlabel("training step")
        ax.set_ylabel("probability (mean over names)" if log_scale else "value")
        ax.set_title(text(title, 70))
        ax.legend(loc="best", fontsize=6.5, ncols=2)
    return out.getvalue()
