"""randbench: measure how well language models produce randomness.

``randbench.evaluate(...)`` and ``randbench.score(...)`` run and judge as ``randbench run``
and ``randbench score`` do (:mod:`randbench.api`); they are imported on first use, so that
importing randbench stays light.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

try:
    __version__ = version("randbench")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"

if TYPE_CHECKING:
    from randbench.api import Evaluation, evaluate, score

__all__ = ["Evaluation", "__version__", "evaluate", "score"]


def __getattr__(name: str) -> Any:
    if name in ("Evaluation", "evaluate", "score"):
        from randbench import api

        return getattr(api, name)
    raise AttributeError(f"module 'randbench' has no attribute {name!r}")
