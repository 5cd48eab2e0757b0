"""Goodness of fit for continuous targets with every parameter known.

"Is this N(50, 10)?" is a fully specified null. ``scipy.stats.anderson(x, "norm")``
answers a different question (it estimates mean and scale, so data from N(55, 10) passes),
and ``kstest``/``cramervonmises`` p-values assume continuous data without ties. We use
``scipy.stats.goodness_of_fit`` with ``known_params`` holding *all* parameters; its null
distribution is simulated (Monte Carlo), so the same code serves AD, KS and CvM.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats

from randbench.stats.results import TestResult

Statistic = Literal["ad", "ks", "cvm"]
_STATISTICS: tuple[str, ...] = ("ad", "ks", "cvm")


def frozen_params(dist: Any) -> tuple[Any, dict[str, float]]:
    """Split a frozen scipy distribution into (family, every parameter by name).

    Positional ``args`` map onto the family's shape names, then ``loc``, then ``scale``;
    keyword arguments are merged in; missing ``loc``/``scale`` get scipy's defaults 0 and 1.
    """
    family = getattr(dist, "dist", None)
    if not isinstance(family, stats.rv_continuous):
        raise TypeError("dist must be a frozen continuous scipy distribution, e.g. norm(50, 10)")
    shapes = [s.strip() for s in family.shapes.split(",")] if family.shapes else []
    names = [*shapes, "loc", "scale"]
    args = tuple(dist.args)
    if len(args) > len(names):
        raise ValueError(f"too many positional parameters for {family.name}")
    params: dict[str, float] = {
        name: float(value) for name, value in zip(names, args, strict=False)
    }
    for name, value in dist.kwds.items():
        if name in params:
            raise ValueError(f"parameter {name} given twice")
        params[name] = float(value)
    params.setdefault("loc", 0.0)
    params.setdefault("scale", 1.0)
    missing = [name for name in names if name not in params]
    if missing:
        raise ValueError(f"shape parameters missing for {family.name}: {missing}")
    return family, params


def dequantize(
    values: NDArray[np.float64], dist: Any, decimals: int, rng: np.random.Generator
) -> NDArray[np.float64]:
    """Undo rounding to ``decimals`` places by a random draw inside each rounding cell.

    A value printed as r stands for some x in [r - h, r + h], h = 0.5 * 10**-decimals.
    Rounding creates ties, and ties break the continuous null of AD/KS/CvM (the statistic
    is computed as if the data were continuous). Each value is replaced by a random point
    of its cell: uniform on the target's probability scale, i.e. a draw from the target
    restricted to [r - h, r + h]. Under the null this restores *exactly* the target
    distribution (a plain uniform jitter would not, e.g. it puts exponential data below 0
    where F = 0 and the AD statistic is infinite). Cells with no target probability (far
    outside the support) are left at r, where they still count against the fit.
    """
    if decimals < 0:
        raise ValueError("decimals must be >= 0")
    half = 0.5 * 10.0 ** (-decimals)
    lower, upper = values - half, values + half
    u = rng.random(values.shape)
    # Work on the lower or upper tail, whichever is smaller, for precision in the tails.
    use_sf = np.asarray(dist.cdf(values)) > 0.5
    out = values.copy()
    cdf_lo, cdf_hi = np.asarray(dist.cdf(lower)), np.asarray(dist.cdf(upper))
    sf_lo, sf_hi = np.asarray(dist.sf(upper)), np.asarray(dist.sf(lower))
    lo = np.where(use_sf, sf_lo, cdf_lo)
    hi = np.where(use_sf, sf_hi, cdf_hi)
    q = lo + u * (hi - lo)
    ok = hi > lo
    drawn = np.where(use_sf, dist.isf(q), dist.ppf(q))
    out[ok] = np.clip(drawn[ok], lower[ok], upper[ok])
    return out


def continuous_gof(
    values: ArrayLike,
    dist: Any,
    *,
    rng: np.random.Generator,
    statistic: Statistic = "ad",
    decimals: int | None = None,
    n_mc: int = 999,
) -> TestResult:
    """Test that ``values`` come from the fully specified frozen distribution ``dist``.

    ``statistic`` is "ad" (Anderson-Darling), "ks" (Kolmogorov-Smirnov) or "cvm"
    (Cramér-von Mises). All parameters of ``dist`` are passed as known, so nothing is
    estimated from the data. When ``decimals`` is given (answers printed with that many
    places), ties from rounding are broken by :func:`dequantize` with ``rng`` before
    testing. The p-value comes from ``n_mc`` samples simulated from ``dist``.
    """
    if statistic not in _STATISTICS:
        raise ValueError(f"statistic must be one of {_STATISTICS}")
    if n_mc < 1:
        raise ValueError("n_mc must be positive")
    data = np.asarray(values, dtype=np.float64).ravel()
    if data.size < 2:
        raise ValueError("need at least 2 values")
    if not np.all(np.isfinite(data)):
        raise ValueError("values must be finite")
    family, params = frozen_params(dist)
    if decimals is not None:
        data = dequantize(data, dist, decimals, rng)
    result = stats.goodness_of_fit(
        family,
        data,
        known_params=params,
        statistic=statistic,
        n_mc_samples=n_mc,
        rng=rng,
    )
    return TestResult(
        statistic=float(result.statistic), p_value=float(result.pvalue), method="monte_carlo"
    )
