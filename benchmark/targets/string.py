from __future__ import annotations

import string as charsets
from functools import cached_property

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
MAX_REQUIREMENTS = 8


def expand_charset(spec: str | list[str]) -> str:
    """Characters of a charset spec: named sets (``lower``, ``digits``...) or literal characters.

    A list concatenates its parts; repeated characters count once, in first-seen order.
    """
    parts = [spec] if isinstance(spec, str) else spec
    chars = "".join(NAMED_CHARSETS.get(part, part) for part in parts)
    return "".join(dict.fromkeys(chars))


@register_target("string")
class RandomString(UniformStructuredTarget):
    """Uniform over strings of ``length`` characters from ``charset`` meeting every requirement.

    A requirement is a charset of which at least one character must appear
    ("at least one digit"). The distribution is the exact conditional one: each
    valid string equally likely, so per-position marginals are not uniform over
    the charset — they come from inclusion–exclusion over the requirements, and so
    does the exact sequential sampler (each character drawn with the probability
    that it starts a valid completion).
    """

    analysis = Analysis.STRING
    value_kind = ValueKind.STRING
    length: int = Field(ge=1, le=256)
    charset: str | list[str]
    require: list[str | list[str]] = Field(default_factory=list, max_length=MAX_REQUIREMENTS)

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
        return self

    def alphabet(self) -> list[str]:
        return list(expand_charset(self.charset))

    @cached_property
    def _signatures(self) -> list[int]:
        """For each alphabet character, the bitmask of the requirements it meets."""
        required = [set(expand_charset(spec)) for spec in self.require]
        return [
            sum(1 << j for j, chars in enumerate(required) if c in chars) for c in self.alphabet()
        ]

    @cached_property
    def _avoiding(self) -> list[int]:
        """For each set T of requirements (a bitmask), how many characters meet none of T."""
        return [
            sum(1 for s in self._signatures if not s & t) for t in range(1 << len(self.require))
        ]

    def _completions(self, m: int, unmet: int) -> int:
        """Strings of length ``m`` meeting every requirement in the bitmask ``unmet``.

        Inclusion–exclusion over the subsets T of ``unmet``: (-1)^|T| (chars avoiding T)^m.
        """
        key = (m, unmet)
        cache = self._completion_cache
        if key not in cache:
            total, t = 0, unmet
            while True:  # every submask t of unmet
                total += (-1) ** t.bit_count() * self._avoiding[t] ** m
                if t == 0:
                    break
                t = (t - 1) & unmet
            cache[key] = total
        return cache[key]

    @cached_property
    def _completion_cache(self) -> dict[tuple[int, int], int]:
        return {}

    @property
    def _all(self) -> int:
        return (1 << len(self.require)) - 1

    def count(self) -> int:
        return self._completions(self.length, self._all)

    def _next_char_probabilities(self, m: int, unmet: int) -> np.ndarray:
        """P(next character) given the unmet requirements and ``m`` characters after it."""
        total = self._completions(m + 1, unmet)
        return np.array(
            [self._completions(m, unmet & ~s) / total for s in self._signatures], dtype=float
        )

    def enumerate(self) -> list[Outcome]:
        """Every valid string in lexicographic order of the alphabet, pruning dead branches."""
        alphabet, signatures = self.alphabet(), self._signatures
        found: list[Outcome] = []

        def extend(prefix: str, unmet: int) -> None:
            m = self.length - len(prefix)
            if m == 0:
                found.append(prefix)
                return
            for c, s in zip(alphabet, signatures, strict=True):
                if self._completions(m - 1, unmet & ~s) > 0:
                    extend(prefix + c, unmet & ~s)

        extend("", self._all)
        return found

    def position_probabilities(self) -> np.ndarray:
        """P(character | position), shape (length, alphabet); every position alike by symmetry."""
        row = self._next_char_probabilities(self.length - 1, self._all)
        return np.tile(row, (self.length, 1))

    def characters(self, value: Outcome) -> str:
        return str(value)

    def contains(self, value: Outcome) -> bool:
        if not isinstance(value, str) or len(value) != self.length:
            return False
        alphabet = self.alphabet()
        if not set(value) <= set(alphabet):
            return False
        met = 0
        for c in set(value):
            met |= self._signatures[alphabet.index(c)]
        return met == self._all

    def sample(self, rng: np.random.Generator, n: int) -> list[Outcome]:
        alphabet = np.asarray(self.alphabet())
        signatures = np.asarray(self._signatures, dtype=np.int64)
        unmet = np.full(n, self._all, dtype=np.int64)
        chosen = np.empty((n, self.length), dtype=np.int64)
        for position in range(self.length):
            m = self.length - position - 1
            for state in np.unique(unmet):
                rows = np.flatnonzero(unmet == state)
                p = self._next_char_probabilities(m, int(state))
                chosen[rows, position] = rng.choice(len(alphabet), size=len(rows), p=p / p.sum())
            unmet &= ~signatures[chosen[:, position]]
        return ["".join(row) for row in alphabet[chosen]]
