from __future__ import annotations

import itertools
import math
import string as charsets

import numpy as np
from pydantic import Field, field_validator, model_validator

from randbench.outcomes import Outcome, ValueKind
from randbench.targets.base import Analysis, UniformStructuredTarget, register_target

NAMED_CHARSETS: dict[str, str] = {
    "lower": charsets.ascii_lowercase,
    "upper": charsets.ascii_uppercase,
    "digits": charsets.digits,
    "hex": "0123456789abcdef",
    "symbols": "!@#$%^&*()-_=+[]{};:,.?/",
    "alnum": charsets.ascii_letters + charsets.digits,
    "letters": charsets.ascii_letters,
}
MIN_ACCEPTANCE = 1e-4


def expand_charset(spec: str | list[str]) -> str:
    """Characters of a charset spec: named sets (``lower``, ``digits``...) or literal characters."""
    parts = [spec] if isinstance(spec, str) else spec
    chars = "".join(NAMED_CHARSETS.get(part, part) for part in parts)
    return "".join(dict.fromkeys(chars))


@register_target("string")
class RandomString(UniformStructuredTarget):
    """Uniform over strings of ``length`` characters from ``charset`` meeting every requirement.

    A requirement is a charset of which at least one character must appear
    ("at least one digit"). The distribution is the exact conditional one: each
    valid string equally likely, so per-position marginals are not uniform over
    the charset — they come from inclusion–exclusion over the requirements.
    """

    analysis = Analysis.STRING
    value_kind = ValueKind.STRING
    length: int = Field(ge=1, le=256)
    charset: str | list[str]
    require: list[str | list[str]] = Field(default_factory=list)

    @field_validator("charset")
    @classmethod
    def _not_empty(cls, charset: str | list[str]) -> str | list[str]:
        if not expand_charset(charset):
            raise ValueError("charset is empty")
        return charset

    @model_validator(mode="after")
    def _satisfiable(self) -> RandomString:
        alphabet = set(self.alphabet())
        for spec in self.require:
            if not set(expand_charset(spec)) & alphabet:
                raise ValueError(f"requirement {spec!r} shares no character with the charset")
        if self.count() == 0:
            raise ValueError(
                f"no string of length {self.length} meets all {len(self.require)} requirements"
            )
        if self.count() / len(alphabet) ** self.length < MIN_ACCEPTANCE:
            raise ValueError("the requirements leave too few valid strings to sample by rejection")
        return self

    def alphabet(self) -> list[str]:
        return list(expand_charset(self.charset))

    def _required_sets(self) -> list[frozenset[str]]:
        alphabet = set(self.alphabet())
        return [frozenset(expand_charset(spec)) & alphabet for spec in self.require]

    def _inclusion_exclusion(self, length: int, excluded_char: str | None = None) -> int:
        """Strings of ``length`` meeting every requirement (optionally with one char fixed).

        With ``excluded_char`` the count is of strings whose first character is that char.
        """
        alphabet = set(self.alphabet())
        required = self._required_sets()
        total = 0
        for size in range(len(required) + 1):
            for chosen in itertools.combinations(required, size):
                avoided: set[str] = set().union(*chosen)
                if excluded_char is not None and excluded_char in avoided:
                    continue
                total += (-1) ** size * len(alphabet - avoided) ** length
        return total

    def count(self) -> int:
        return self._inclusion_exclusion(self.length)

    def enumerate(self) -> list[Outcome]:
        everything = ("".join(c) for c in itertools.product(self.alphabet(), repeat=self.length))
        return [s for s in everything if self.contains(s)]

    def position_probabilities(self) -> np.ndarray:
        """P(character | position), shape (length, alphabet); every position alike by symmetry."""
        total = self.count()
        row = [self._inclusion_exclusion(self.length - 1, c) / total for c in self.alphabet()]
        return np.tile(np.asarray(row), (self.length, 1))

    def characters(self, value: Outcome) -> str:
        return str(value)

    def contains(self, value: Outcome) -> bool:
        if not isinstance(value, str) or len(value) != self.length:
            return False
        chars = set(value)
        return chars <= set(self.alphabet()) and all(chars & r for r in self._required_sets())

    def sample(self, rng: np.random.Generator, n: int) -> list[Outcome]:
        alphabet = np.asarray(self.alphabet())
        accept = self.count() / len(alphabet) ** self.length
        found: list[Outcome] = []
        while len(found) < n:
            batch = int(min(1e6, (n - len(found)) / accept * 1.2 + 16))
            draws = alphabet[rng.integers(0, len(alphabet), size=(batch, self.length))]
            words = ["".join(row) for row in draws]
            found.extend(w for w in words if self.contains(w))
        return found[:n]

    def log_pmf(self, value: Outcome) -> float:
        return -math.log(self.count()) if self.contains(value) else -math.inf
