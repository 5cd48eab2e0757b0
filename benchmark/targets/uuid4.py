from __future__ import annotations

import math
import re
import uuid

import numpy as np

from randbench.outcomes import Outcome, ValueKind
from randbench.targets.base import Analysis, UniformStructuredTarget, register_target

HEX = "0123456789abcdef"
_UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
VERSION_POSITION, VARIANT_POSITION, HYPHENS = 14, 19, (8, 13, 18, 23)
RANDOM_BITS = 122


@register_target("uuid4")
class Uuid4(UniformStructuredTarget):
    """A random UUID version 4 (RFC 9562): 122 uniform bits in the 8-4-4-4-12 hex layout.

    Answers are compared case-insensitively (the RFC prints lowercase and reads either).
    """

    analysis = Analysis.STRING
    value_kind = ValueKind.STRING

    def count(self) -> int:
        return int(2**RANDOM_BITS)

    def enumerate(self) -> list[Outcome]:
        raise NotImplementedError("2^122 UUIDs cannot be enumerated")

    def support(self) -> list[Outcome] | None:
        return None

    def alphabet(self) -> list[str]:
        return [*HEX, "-"]

    def position_probabilities(self) -> np.ndarray:
        probs = np.zeros((36, len(HEX) + 1))
        for position in range(36):
            if position in HYPHENS:
                probs[position, -1] = 1.0
            elif position == VERSION_POSITION:
                probs[position, HEX.index("4")] = 1.0
            elif position == VARIANT_POSITION:
                probs[position, [HEX.index(c) for c in "89ab"]] = 0.25
            else:
                probs[position, : len(HEX)] = 1.0 / len(HEX)
        return probs

    def characters(self, value: Outcome) -> str:
        return str(value).lower()

    def contains(self, value: Outcome) -> bool:
        return isinstance(value, str) and bool(_UUID4.match(value.lower()))

    def sample(self, rng: np.random.Generator, n: int) -> list[Outcome]:
        return [str(uuid.UUID(bytes=rng.bytes(16), version=4)) for _ in range(n)]

    def log_pmf(self, value: Outcome) -> float:
        return -RANDOM_BITS * math.log(2) if self.contains(value) else -math.inf
