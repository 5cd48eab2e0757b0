"""Data embedded in pages as JSON inside ``<script type="application/json">``.

The JSON holds untrusted text (model outputs, names from result files). Inside a
script element the HTML parser ends the element at the first ``</script`` and
treats ``<!--`` specially, so ``<``, ``>`` and ``&`` are written as ``\\u003c``,
``\\u003e`` and ``\\u0026`` (still the same JSON strings), and U+2028/U+2029 as
escapes too. Strict JSON has no NaN or Infinity: they become null.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
from markupsafe import Markup

_ESCAPES = {
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}


def plain(value: Any) -> Any:
    """JSON-ready data: numpy scalars to Python, tuples to lists, non-finite floats to None."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [plain(v) for v in value]
    return value


def script_json(data: Any) -> Markup:
    """JSON text that is safe between ``<script type="application/json">`` tags."""
    text = json.dumps(plain(data), ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    for raw, escaped in _ESCAPES.items():
        text = text.replace(raw, escaped)
    return Markup(text)
