"""Exact metrics for logprob mode, where the model's distribution is read off directly.

There is no sampling error here, so no tests or intervals: only exact distances.
Model probabilities are renormalised over the target's support before any distance is
computed; the probability mass the model puts outside the support (other tokens, badly
formed answers) is reported separately by :func:`mass_outside_support`.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special

__all__ = [
    "exact_entropy",
    "exact_kl",
    "exact_kl_target_model",
    "exact_tvd",
    "mass_outside_support",
    "renormalise",
]

FloatArray = NDArray[np.float64]


def renormalise(model_probs: ArrayLike) -> FloatArray:
    """Scale non-negative probabilities (possibly summing to < 1) to sum to 1."""
    arr = np.asarray(model_probs, dtype=np.float64)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError("probabilities must be a non-empty 1-D array")
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise ValueError("probabilities must be finite and non-negative")
    total = float(arr.sum())
    if total <= 0:
        raise ValueError("the model puts no mass on the support")
    return arr / total


def _pair(model_probs: ArrayLike, target_probs: ArrayLike) -> tuple[FloatArray, FloatArray]:
    model = renormalise(model_probs)
    target = renormalise(target_probs)
    if model.size != target.size:
        raise ValueError(f"model has {model.size} cells, target has {target.size}")
    return model, target


def exact_tvd(model_probs: ArrayLike, target_probs: ArrayLike) -> float:
    """Total variation distance between the renormalised model and the target."""
    model, target = _pair(model_probs, target_probs)
    return float(0.5 * np.abs(model - target).sum())


def exact_kl(model_probs: ArrayLike, target_probs: ArrayLike) -> float:
    """KL(model || target) in nats (model renormalised); ``inf`` if the model puts mass
    where the target has none."""
    model, target = _pair(model_probs, target_probs)
    return float(special.rel_entr(model, target).sum())


def exact_kl_target_model(model_probs: ArrayLike, target_probs: ArrayLike) -> float:
    """KL(target || model) in nats; ``inf`` when the model gives 0 to a target outcome."""
    model, target = _pair(model_probs, target_probs)
    return float(special.rel_entr(target, model).sum())


def exact_entropy(probs: ArrayLike) -> float:
    """Shannon entropy in nats of the (renormalised) distribution."""
    p = renormalise(probs)
    return float(special.entr(p).sum())


def mass_outside_support(mass_on_support: float) -> float:
    """Probability the model puts outside the support: ``1 - mass``, clipped at 0."""
    return float(max(0.0, 1.0 - float(mass_on_support)))
