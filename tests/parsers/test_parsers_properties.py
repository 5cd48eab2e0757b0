"""Properties of every parser: never raises, round trips, fits only the right targets."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from randbench.outcomes import ParseResult
from randbench.parsers import PARSERS, Parser
from randbench.parsers.spec import build_parser
from randbench.targets import TARGETS, Target


def target(name: str, **params: Any) -> Target:
    return TARGETS.get(name)(**params)


# (parser spec, target) pairs that fit: the pairs task YAMLs use.
PAIRS: list[tuple[Any, Target]] = [
    ("integer", target("uniform_int", low=1, high=100)),
    ({"integer": {"words": True}}, target("uniform_int", low=0, high=20)),
    ("integer", target("poisson", rate=3.0)),
    ("integer", target("categorical", weights={1: 0.5, 2: 0.3, 12: 0.2})),
    ("real", target("normal", mean=0, sd=1, decimals=2)),
    ("real", target("uniform_real", low=0, high=1, decimals=3)),
    ("choice", target("uniform_choice", choices=["heads", "tails"])),
    ("choice", target("uniform_choice", choices=["rock", "paper", "scissors"])),
    ("choice", target("uniform_choice", choices=["blue", "light blue", "New York", "C++", "A"])),
    ("choice", target("uniform_choice", choices=list("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))),
    ("choice", target("categorical", weights={"yes": 0.5, "no": 0.5})),
    ("choice", target("categorical", weights={1: 0.5, 2: 0.25, 10: 0.25})),
    ("choice", target("uniform_int", low=-3, high=12)),
    ("choice", target("point_mass", value="Paris")),
    ({"choice": {"aliases": {"heads": ["H"]}}}, target("uniform_choice", choices=["heads", "x"])),
    ("sequence", target("coin_sequence", length=4)),
    ({"sequence": {"separator": ""}}, target("coin_sequence", length=5)),
    ({"sequence": {"separator": ", "}}, target("coin_sequence", length=3, symbols=[0, 1])),
    ("sequence", target("coin_sequence", length=3, symbols=["heads", "tails"])),
    ("sequence", target("coin_sequence", length=3, p=0.7, symbols=["R", "B"])),
    ("permutation", target("permutation", items=["apple", "banana", "cherry", "date"])),
    ("permutation", target("permutation", items=[1, 2, 3, 4, 5])),
    ({"permutation": {"separator": " "}}, target("permutation", items=list("ABCD"))),
    ({"permutation": {"separator": "\n"}}, target("permutation", items=["New York", "Rome"])),
    ("subset", target("subset", items=["red", "green", "blue", "yellow", "purple"], k=2)),
    ("subset", target("subset", items=list(range(1, 8)), k=3)),
    ("string", target("string", length=8, charset="alnum")),
    ("string", target("uuid4")),
    ("text", target("open_ended")),
    ({"count": {"of": "*"}}, target("poisson_insertions", words=12, rate=0.5)),
    ({"json_list": {"item": "integer"}}, target("uniform_int", low=1, high=6)),
    ("json_list", target("uniform_choice", choices=["heads", "tails"])),
    ("json_list", target("coin_sequence", length=2)),
    ({"verbalized": {"item": "integer"}}, target("uniform_int", low=1, high=6)),
    ("verbalized", target("uniform_choice", choices=["rock", "paper", "scissors"])),
]


def _name(spec: Any) -> str:
    return spec if isinstance(spec, str) else next(iter(spec))


IDS = [f"{_name(spec)}-{i}" for i, (spec, _) in enumerate(PAIRS)]

MODEL_TEXT = st.one_of(
    st.text(max_size=300),
    st.text(alphabet="HT ,.-[]\"'`*_:\n0123456789{}", max_size=200),
    st.lists(st.sampled_from(["heads", "tails", " ", ",", "**", "7", "-", "[", "]",
                                      '"', "{", "}", ":", "probability", "text", "0.5", "\n",
                                      "```", "<think>", "</think>", "1.", "e", "%"]),
            max_size=60).map("".join),
)  # fmt: skip


def _check(result: object) -> None:
    assert isinstance(result, ParseResult)
    assert (result.value is None) != (result.invalid_reason is None)
    if result.invalid_reason is not None:
        assert result.invalid_reason.strip()


@pytest.mark.parametrize(("spec", "tgt"), PAIRS, ids=IDS)
def test_pairs_fit(spec: Any, tgt: Target) -> None:
    assert build_parser(spec).check_fits(tgt) is None


@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
@given(text=MODEL_TEXT)
@pytest.mark.parametrize(("spec", "tgt"), PAIRS, ids=IDS)
def test_never_raises(spec: Any, tgt: Target, text: str) -> None:
    _check(build_parser(spec).parse(text, tgt))


JUNK = [
    "",
    " ",
    "\x00\x01\x02\xff",
    "\ud7ff\ue000\ue001\ufffd",
    "🪙" * 1000,
    "[" * 5000,
    "[" * 5000 + "]" * 5000,
    "{" * 3000,
    "<think>" * 100,
    "```" * 333,
    "9" * 100_000,
    "1.5e" + "9" * 5000,
    "H" * 10_000,
    "a" * 10_000,
    "a:" * 5_000,
    "*a" * 5_000,
    "<think></think>" * 1_000,
    "<text>" * 2_000,
    "heads, " * 15_000,
    "banana, apple, cherry, kiwi\n" * 4_000,
    '[{"text": "7", "probability": 0.1}]' * 3_000,
    "\n".join(f"{i}. {i}" for i in range(10_000)),
]


@pytest.mark.parametrize(("spec", "tgt"), PAIRS, ids=IDS)
def test_never_raises_on_junk(spec: Any, tgt: Target) -> None:
    parser = build_parser(spec)
    for text in JUNK:
        _check(parser.parse(text, tgt))


def _finite_values(tgt: Target, limit: int = 400) -> list[Any]:
    support = tgt.support()
    assert support is not None
    return list(itertools.islice(support, limit))


ROUND_TRIP = [(s, t) for s, t in PAIRS if t.support() is not None and "verbalized" not in str(s)]


@pytest.mark.parametrize(("spec", "tgt"), ROUND_TRIP, ids=[_name(s) for s, _ in ROUND_TRIP])
def test_round_trip(spec: Any, tgt: Target) -> None:
    parser = build_parser(spec)
    values = _finite_values(tgt)
    if parser.yields == "outcomes":
        values = [tuple(values[i : i + 3]) for i in range(0, len(values), 3)]
    for value in values:
        text = parser.format(value, tgt)
        assert parser.parse(text, tgt).value == value, (value, text)


def test_round_trip_verbalized() -> None:
    tgt = target("uniform_int", low=1, high=6)
    parser = build_parser({"verbalized": {"item": "integer"}})
    value = tuple(
        (v, p) for v, p in zip(range(1, 7), [0.1, 0.2, 0.05, 0.3, 0.25, 0.1], strict=True)
    )
    assert parser.parse(parser.format(value, tgt), tgt).value == value


def test_round_trip_with_chatter() -> None:
    """The canonical text still reads the same inside a typical chatty reply."""
    for spec, tgt in ROUND_TRIP:
        parser = build_parser(spec)
        if parser.yields != "outcome" or spec == "text":
            continue
        for value in _finite_values(tgt, 50):
            text = f"Sure! Here is my answer:\n\n{parser.format(value, tgt)}\n\nHope this helps!"
            assert parser.parse(text, tgt).value == value, (spec, value, text)


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_real_round_trip(value: float) -> None:
    tgt = target("normal", mean=0, sd=1)
    parser = build_parser("real")
    assert parser.parse(parser.format(value, tgt), tgt).value == value


@given(st.integers(min_value=-(10**30), max_value=10**30))
def test_integer_round_trip(value: int) -> None:
    tgt = target("poisson", rate=3.0)
    parser = build_parser("integer")
    assert parser.parse(parser.format(value, tgt), tgt).value == value


MISFITS: list[tuple[str, Target]] = [
    ("integer", target("uniform_choice", choices=["heads", "tails"])),
    ("integer", target("normal", mean=0, sd=1)),
    ("real", target("uniform_int", low=1, high=6)),
    ("choice", target("normal", mean=0, sd=1)),
    ("choice", target("poisson", rate=2.0)),
    ("choice", target("coin_sequence", length=3)),
    ("sequence", target("uniform_choice", choices=["H", "T"])),
    ("permutation", target("subset", items=[1, 2, 3], k=2)),
    ("subset", target("permutation", items=[1, 2, 3])),
    ("string", target("uniform_choice", choices=["a", "b"])),
    ("text", target("uuid4")),
    ("json_list", target("open_ended")),  # text items: fits; see below
]


@pytest.mark.parametrize(("spec", "tgt"), MISFITS[:-1])
def test_misfits(spec: str, tgt: Target) -> None:
    misfit = build_parser(spec).check_fits(tgt)
    assert misfit is not None
    assert tgt.kind().value in misfit or "finite" in misfit


def test_every_parser_is_tested_here() -> None:
    names = {_name(s) for s, _ in PAIRS}
    assert names == set(PARSERS.names())
    for name in PARSERS.names():
        cls = PARSERS.get(name)
        assert issubclass(cls, Parser)
        assert cls.value_kinds
