"""What several answers from one unit say beyond the marginal: dependence, stated
distributions, and whether a prompt seed reproduces its answer.

A method that returns several answers per call (a list of five, five turns of one
conversation) breaks independence: Verbalized Sampling gets a near-uniform marginal on a
die by listing five distinct faces in every call. :func:`within_call` measures it against
what i.i.d. draws from the target would give in calls of the same sizes: the distinct rate
within a call, the rate at which an answer repeats the one before it, and (numeric answers)
the correlation between neighbouring positions. Expectations are exact for enumerable
targets and simulated from the target otherwise; p-values come from the same simulation.

:func:`stated_distribution` scores a verbalized distribution (what the model *says* the
probabilities are) exactly against the target; :func:`reproducibility` says how often the
same prompt seed gave the same answer, beside what chance agreement would give.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict
from scipy import special

from randbench import stats
from randbench.outcomes import Outcome
from randbench.targets import Target

ENUMERATION_ALPHA = 0.01
"""``enumerates`` is set when more distinct answers than i.i.d. draws give has p below this."""
NEAR_LAGS = 10
"""Repeats within this many positions are near repeats: a model that avoids repeating its
last few answers (shuffled blocks of 1-10) has too few of them."""
MAX_SIMULATED_DRAWS = 2_000_000
"""Simulated answers in total for one null (memory bound for enumerable targets)."""
SLOW_SIMULATIONS = 200
"""Simulations of a target that draws Python objects one by one (strings, reals)."""

Calls = Sequence[Sequence[Outcome | None]]
"""The answers of each call (or unit) in the order given; None where an answer was invalid."""


class Dependence(BaseModel):
    """Within-call dependence of a multi-answer method, beside i.i.d. draws from the target."""

    model_config = ConfigDict(extra="forbid")

    answers_per_call: int
    calls: int
    """Calls with at least two valid answers (the others say nothing about dependence)."""
    calls_of_other_length: int = 0
    """Calls that gave more answers than ``answers_per_call`` asked for (all are kept)."""
    distinct_rate: float | None = None
    """Mean over calls of (distinct valid answers / valid answers); None when no call has
    two valid answers (the answers were still asked for several per call)."""
    expected_distinct_rate: float | None = None
    """The same for i.i.d. draws from the target with the same numbers of valid answers."""
    distinct_rate_null: tuple[float, float] | None = None
    """2.5% and 97.5% percentiles of the distinct rate of i.i.d. draws."""
    p_more_distinct: float | None = None
    """Monte Carlo p-value for as many distinct answers or more (enumeration)."""
    p_fewer_distinct: float | None = None
    """Monte Carlo p-value for as few distinct answers or fewer (repetition)."""
    repeat_rate: float | None = None
    """Share of neighbouring valid answers that are equal."""
    expected_repeat_rate: float | None = None
    lag1_correlation: float | None = None
    """Pearson correlation of neighbouring answers (numeric answers only)."""
    lag1_correlation_null: tuple[float, float] | None = None
    near_repeat_rate: float | None = None
    """Share of pairs of valid answers at most ``NEAR_LAGS`` apart in a call that are equal."""
    expected_near_repeat_rate: float | None = None
    p_fewer_near_repeats: float | None = None
    """Monte Carlo p-value for as few near repeats or fewer (avoiding recent answers)."""
    runs_up_down: int | None = None
    """Numeric answers: runs of rises and falls between neighbours, over all calls."""
    runs_up_down_null: tuple[float, float] | None = None
    p_runs_up_down: float | None = None
    """Two-sided Monte Carlo p-value of the runs up and down (too many: over-alternation)."""
    fired: list[str] = []
    """The serial tests below ``ENUMERATION_ALPHA``, by name: ``more distinct answers``,
    ``fewer near repeats``, ``runs up and down``."""
    enumerates: bool = False
    """More distinct answers per call, or fewer near repeats, than i.i.d. sampling gives
    (p < ENUMERATION_ALPHA): a near-uniform marginal then comes from listing, not from
    sampling."""
    method: str = "none: no call has two valid answers"
    """How the expectations were computed: ``exact`` (enumerable target) or ``simulated``."""


class Verbalized(BaseModel):
    """The distribution the model states: per outcome, the mean probability it writes."""

    model_config = ConfigDict(extra="forbid")

    calls: int
    """Calls whose stated probabilities were readable and summed to more than zero."""
    distribution: dict[str, float]
    """Stated probability of each outcome of the target's support (by its text)."""
    tvd: float | None = None
    kl_stated_target: float | None = None
    """KL(stated || target) in nats."""
    kl_target_stated: float | None = None
    """KL(target || stated) in nats; infinite (null) when the model never names an outcome."""
    mean_stated_total: float
    """Mean over calls of the sum of the probabilities a call wrote."""
    stated_mass_outside_support: float
    """Mean share of a call's stated mass on answers outside the target's support."""
    stated_total_on_support: float | None = None
    """Sum over the support of the stated probabilities before renormalising (1 when the
    model's statements about the outcomes are coherent)."""
    coverage: float | None = None
    """Share of the support's outcomes that some call names."""
    note: str = ""


class Reproducibility(BaseModel):
    """Whether the same prompt seed, asked again in a fresh context, gives the same answer."""

    model_config = ConfigDict(extra="forbid")

    pairs: int
    """Pairs where both answers were valid."""
    invalid_pairs: int
    agreement: float | None = None
    agreement_ci: tuple[float, float] | None = None
    chance_agreement_target: float | None = None
    """Agreement of two independent draws from the target: sum of p squared."""
    chance_agreement_model: float | None = None
    """Agreement of two independent draws from the model's own marginal (unbiased
    estimate from its valid answers): what ignoring the seed gives."""


# ----------------------------------------------------------------- within-call dependence


def _codes(values: Sequence[Hashable]) -> np.ndarray:
    index: dict[Hashable, int] = {}
    return np.array([index.setdefault(v, len(index)) for v in values], dtype=np.int64)


def _numeric(values: Sequence[Any]) -> np.ndarray | None:
    if values and all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        return np.asarray(values, dtype=float)
    return None


def _distinct_rate(codes: np.ndarray, bounds: Sequence[tuple[int, int]]) -> np.ndarray:
    """Mean over calls of distinct/size, for each row of ``codes`` (rows: simulations)."""
    rates = np.zeros(codes.shape[0])
    for start, end in bounds:
        block = np.sort(codes[:, start:end], axis=1)
        distinct = 1 + (np.diff(block, axis=1) != 0).sum(axis=1)
        rates += distinct / (end - start)
    return rates / len(bounds)


def _pairs(bounds: Sequence[tuple[int, int]]) -> np.ndarray:
    return np.array([j for start, end in bounds for j in range(start, end - 1)], dtype=np.int64)


def _near_repeat_rate(codes: np.ndarray, bounds: Sequence[tuple[int, int]]) -> np.ndarray:
    """Row-wise share of equal pairs at most ``NEAR_LAGS`` apart within a call."""
    hits, pairs = np.zeros(codes.shape[0]), 0
    for lag in range(1, NEAR_LAGS + 1):
        left = np.array(
            [j for start, end in bounds for j in range(start, end - lag)], dtype=np.int64
        )
        if left.size:
            hits += (codes[:, left] == codes[:, left + lag]).sum(axis=1)
            pairs += left.size
    return hits / pairs


def _runs_up_down(x: np.ndarray, left: np.ndarray) -> np.ndarray:
    """Row-wise count of runs of rises and falls between neighbours (ties left out)."""
    signs = np.sign(x[:, left + 1] - x[:, left])
    runs = np.zeros(x.shape[0])
    for row, values in enumerate(signs):
        moves = values[values != 0]
        runs[row] = 1 + np.count_nonzero(np.diff(moves)) if moves.size else 0
    return runs


def _repeat_rate(codes: np.ndarray, left: np.ndarray) -> np.ndarray:
    return np.asarray((codes[:, left] == codes[:, left + 1]).mean(axis=1), dtype=float)


def _lag1(x: np.ndarray, left: np.ndarray) -> np.ndarray:
    """Row-wise Pearson correlation of neighbours; NaN where a row has no spread."""
    a, b = x[:, left], x[:, left + 1]
    a = a - a.mean(axis=1, keepdims=True)
    b = b - b.mean(axis=1, keepdims=True)
    denominator = np.sqrt((a * a).sum(axis=1) * (b * b).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(np.where(denominator > 0, (a * b).sum(axis=1) / denominator, np.nan))


def _simulate(
    target: Target, total: int, rng: np.random.Generator, n_sim: int
) -> tuple[np.ndarray, np.ndarray | None, str] | None:
    """``n_sim`` rows of ``total`` i.i.d. draws from ``target``: codes, numeric values, how."""
    support = target.support()
    if support is not None:
        rows = max(1, min(n_sim, MAX_SIMULATED_DRAWS // max(total, 1)))
        codes = rng.choice(len(support), size=(rows, total), p=target.probabilities())
        numeric = _numeric(support)
        return codes, (numeric[codes] if numeric is not None else None), "exact"
    rows = min(n_sim, SLOW_SIMULATIONS)
    try:
        draws = [target.sample(rng, total) for _ in range(rows)]
    except NotImplementedError:
        return None
    codes = np.stack([_codes([_hashable(v) for v in row]) for row in draws])
    numbers = [_numeric(row) for row in draws]
    numeric = None if any(x is None for x in numbers) else np.stack(numbers)  # type: ignore[arg-type]
    return codes, numeric, "simulated"


def _hashable(value: Any) -> Hashable:
    return tuple(value) if isinstance(value, list) else value


def _exact_expectations(target: Target, sizes: Sequence[int]) -> tuple[float | None, float | None]:
    support = target.support()
    if support is None:
        return None, None
    p = target.probabilities()
    distinct = float(np.mean([(1 - (1 - p) ** m).sum() / m for m in sizes]))
    return distinct, float((p * p).sum())


def _p_value(null: np.ndarray, observed: float, more: bool) -> float:
    hits = (null >= observed - 1e-12) if more else (null <= observed + 1e-12)
    return float((1 + hits.sum()) / (len(null) + 1))


def within_call(
    target: Target,
    calls: Calls,
    answers_per_call: int,
    *,
    rng: np.random.Generator,
    n_sim: int = 2000,
) -> Dependence:
    """Dependence among the valid answers of each call, against i.i.d. draws from ``target``.

    Invalid answers are left out of a call (its neighbours become neighbours); calls with
    fewer than two valid answers are left out. With no call of two valid answers only
    ``answers_per_call`` is set: the result still says the answers came several per call.
    """
    kept = [[_hashable(v) for v in call if v is not None] for call in calls]
    kept = [call for call in kept if len(call) >= 2]
    if not kept:
        return Dependence(answers_per_call=answers_per_call, calls=0)
    sizes = [len(call) for call in kept]
    ends = np.cumsum(sizes)
    bounds = [(int(e - m), int(e)) for e, m in zip(ends, sizes, strict=True)]
    flat = [v for call in kept for v in call]
    codes = _codes(flat)[None, :]
    left = _pairs(bounds)
    numeric = _numeric(flat)
    distinct = float(_distinct_rate(codes, bounds)[0])
    repeat = float(_repeat_rate(codes, left)[0])
    lag1 = float(_lag1(numeric[None, :], left)[0]) if numeric is not None else None
    expected_distinct, expected_repeat = _exact_expectations(target, sizes)
    result = Dependence(
        answers_per_call=answers_per_call,
        calls=len(kept),
        distinct_rate=distinct,
        expected_distinct_rate=expected_distinct,
        repeat_rate=repeat,
        expected_repeat_rate=expected_repeat,
        lag1_correlation=None if lag1 is None or np.isnan(lag1) else lag1,
        enumerates=False,
        method="exact" if expected_distinct is not None else "simulated",
    )
    simulated = _simulate(target, len(flat), rng, n_sim)
    if simulated is None:
        result.method = "none: the target cannot be sampled"
        return result
    sim_codes, sim_numeric, how = simulated
    null = _distinct_rate(sim_codes, bounds)
    if result.expected_distinct_rate is None:
        result.expected_distinct_rate = float(null.mean())
        result.expected_repeat_rate = float(_repeat_rate(sim_codes, left).mean())
    low, high = np.percentile(null, [2.5, 97.5])
    result.distinct_rate_null = (float(low), float(high))
    result.p_more_distinct = _p_value(null, distinct, more=True)
    result.p_fewer_distinct = _p_value(null, distinct, more=False)
    if result.lag1_correlation is not None and sim_numeric is not None:
        lag_null = _lag1(sim_numeric, left)
        lag_null = lag_null[~np.isnan(lag_null)]
        if lag_null.size:
            lo, hi = np.percentile(lag_null, [2.5, 97.5])
            result.lag1_correlation_null = (float(lo), float(hi))
    _serial_tests(result, codes, numeric, sim_codes, sim_numeric, bounds, left)
    more_distinct = bool(
        result.p_more_distinct < ENUMERATION_ALPHA
        and distinct > (result.expected_distinct_rate or 0.0)
    )
    if more_distinct:
        result.fired.insert(0, "more distinct answers")
    result.enumerates = more_distinct or "fewer near repeats" in result.fired
    result.method = how
    return result


def _serial_tests(
    result: Dependence,
    codes: np.ndarray,
    numeric: np.ndarray | None,
    sim_codes: np.ndarray,
    sim_numeric: np.ndarray | None,
    bounds: Sequence[tuple[int, int]],
    left: np.ndarray,
) -> None:
    """Near repeats and runs up and down, each against the same i.i.d. simulation."""
    near = float(_near_repeat_rate(codes, bounds)[0])
    near_null = _near_repeat_rate(sim_codes, bounds)
    result.near_repeat_rate = near
    result.expected_near_repeat_rate = float(near_null.mean())
    result.p_fewer_near_repeats = _p_value(near_null, near, more=False)
    if result.p_fewer_near_repeats < ENUMERATION_ALPHA and near < near_null.mean():
        result.fired.append("fewer near repeats")
    if numeric is None or sim_numeric is None:
        return
    runs = float(_runs_up_down(numeric[None, :], left)[0])
    runs_null = _runs_up_down(sim_numeric, left)
    low, high = np.percentile(runs_null, [2.5, 97.5])
    result.runs_up_down = int(runs)
    result.runs_up_down_null = (float(low), float(high))
    two_sided = 2 * min(_p_value(runs_null, runs, True), _p_value(runs_null, runs, False))
    result.p_runs_up_down = min(1.0, two_sided)
    if result.p_runs_up_down < ENUMERATION_ALPHA:
        result.fired.append("runs up and down")


# ----------------------------------------------------------------- stated distributions


def stated_distribution(
    target: Target, stated: Sequence[Sequence[tuple[Outcome, float]]]
) -> Verbalized | None:
    """What the model says each outcome's probability is, scored exactly against ``target``.

    The stated probability of an outcome is the mean of the probabilities the model wrote
    for it over the calls that name it (a response repeated within a call states the
    probability of that one response: its statements are averaged), 0 if no call names
    it; renormalised on the support, this is the model's verbalized distribution. Its raw
    total (1 when the statements are coherent) and the mean share of a call's stated mass
    on answers outside the support are reported beside it. None when no call stated anything.
    """
    totals = [sum(p for _, p in call) for call in stated]
    calls = [(call, t) for call, t in zip(stated, totals, strict=True) if call and t > 0]
    if not calls:
        return None
    support = target.support()
    outside = [sum(p for v, p in call if not _contains(target, v)) / t for call, t in calls]
    summary: dict[str, Any] = {
        "calls": len(calls),
        "mean_stated_total": float(np.mean([t for _, t in calls])),
        "stated_mass_outside_support": float(np.mean(outside)),
    }
    if support is None:
        return Verbalized(
            distribution={}, note="the target's support cannot be enumerated", **summary
        )
    index: dict[Hashable, int] = {v: i for i, v in enumerate(support)}
    sums = np.zeros(len(support))
    named = np.zeros(len(support))
    for call, _ in calls:
        said: dict[int, list[float]] = {}
        for value, p in call:
            i = index.get(_hashable(value))
            if i is not None:
                said.setdefault(i, []).append(p)
        for i, ps in said.items():
            sums[i] += float(np.mean(ps))
            named[i] += 1
    mean = np.divide(sums, named, out=np.zeros_like(sums), where=named > 0)
    summary["stated_total_on_support"] = float(mean.sum())
    summary["coverage"] = float((named > 0).mean())
    target_p = target.probabilities()
    if mean.sum() <= 0:
        return Verbalized(
            distribution={str(v): 0.0 for v in support},
            note="no stated probability on the target's support",
            **summary,
        )
    model = stats.renormalise(mean)
    return Verbalized(
        distribution={str(v): float(p) for v, p in zip(support, model, strict=True)},
        tvd=stats.exact_tvd(model, target_p),
        kl_stated_target=float(special.rel_entr(model, target_p).sum()),
        kl_target_stated=float(special.rel_entr(target_p, model).sum()),
        **summary,
    )


def _contains(target: Target, value: Outcome) -> bool:
    try:
        return bool(target.contains(value))
    except Exception:
        return False


# ----------------------------------------------------------------- reproducibility


def reproducibility(
    target: Target,
    pairs: Sequence[tuple[Outcome | None, Outcome | None]],
    marginal: Sequence[Outcome],
) -> Reproducibility:
    """Agreement of answers to the same seeded prompt, beside chance agreement."""
    valid = [(a, b) for a, b in pairs if a is not None and b is not None]
    result = Reproducibility(pairs=len(valid), invalid_pairs=len(pairs) - len(valid))
    if valid:
        same = sum(_hashable(a) == _hashable(b) for a, b in valid)
        result.agreement = same / len(valid)
        ci = stats.wilson_interval(same, len(valid))
        result.agreement_ci = (ci.low, ci.high)
    if target.support() is not None:
        p = target.probabilities()
        result.chance_agreement_target = float((p * p).sum())
    n = len(marginal)
    if n >= 2:
        counts = np.array(list(Counter(_hashable(v) for v in marginal).values()), dtype=float)
        result.chance_agreement_model = float(((counts * counts).sum() - n) / (n * (n - 1)))
    return result
