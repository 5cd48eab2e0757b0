"""integer and real: real-looking answers with the exact value or reason they give."""

from __future__ import annotations

from typing import Any

import pytest

from randbench.outcomes import Outcome
from randbench.parsers.spec import build_parser
from randbench.targets import TARGETS, Target


def target(name: str, **params: Any) -> Target:
    return TARGETS.get(name)(**params)


D10 = target("uniform_int", low=1, high=10)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("7", 7),
        ("7\n", 7),
        (" 7 ", 7),
        ("The answer is 7.", 7),
        ("**7**", 7),
        ("{7}", 7),
        ("[7]", 7),
        ("#7", 7),
        ("Sure! Here's a random number: 7", 7),
        ("7\n\nI hope this helps!", 7),
        ("I rolled the d20 and got 14.", 14),
        ("My number is 7. Again: 7!", 7),
        ("Between 1 and 10, I pick **7**.", 7),
        ("<think>1 to 10, maybe 3 or 4</think>\n6", 6),
        ("```\n5\n```", 5),
        ("-3", -3),
        ("+4", 4),
        ("\u22125", -5),
        ("1,000", 1000),
        ("12,345 is my pick", 12345),
        ("It's the 3rd one: 3", 3),
        ("٣", 3),
    ],
)
def test_integer_reads(text: str, expected: int) -> None:
    assert build_parser("integer").parse(text, D10).value == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "no integer in the answer"),
        ("I can't generate random numbers, but you could use a die.", "no integer in the answer"),
        ("seven", "no integer in the answer"),
        ("7.5", "no integer in the answer"),
        ("7/10", "several integers in the answer: 7, 10"),
        ("Between 1 and 10: 7", "several integers in the answer: 1, 10, 7"),
        ("3 or 4", "several integers in the answer: 3, 4"),
        ("1-10", "several integers in the answer: 1, 10"),
        ("1,2,3", "several integers in the answer: 1, 2, 3"),
        ("**3** or **4**", "several integers in the answer: 3, 4"),
        ("9" * 5000, "integer too long: 5000 digits"),
    ],
)
def test_integer_rejects(text: str, reason: str) -> None:
    result = build_parser("integer").parse(text, D10)
    assert not result.valid
    assert result.invalid_reason == reason


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Seven.", 7),
        ("I pick **seven**!", 7),
        ("twenty-one", 21),
        ("Forty two", 42),
        ("minus three", -3),
        ("Here is one number: 7", 7),  # digits win: words are read only when there are none
        ("zero", 0),
    ],
)
def test_integer_words(text: str, expected: int) -> None:
    parser = build_parser({"integer": {"words": True}})
    assert parser.parse(text, D10).value == expected


def test_integer_words_several_and_off() -> None:
    parser = build_parser({"integer": {"words": True}})
    assert parser.parse("one or two", D10).invalid_reason == "several integers in the answer: 1, 2"
    assert parser.parse("no idea", D10).invalid_reason == "no integer in the answer"
    assert not build_parser("integer").parse("seven", D10).valid


def test_integer_format() -> None:
    parser = build_parser("integer")
    assert parser.format(7, D10) == "7"
    assert parser.format(-12, D10) == "-12"


NORMAL = target("normal", mean=0, sd=1)
NORMAL2 = target("normal", mean=0, sd=1, decimals=2)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0.42", 0.42),
        ("The value is 0.42.", 0.42),
        ("-1.5", -1.5),
        ("+2.25", 2.25),
        (".5", 0.5),
        ("3.", 3.0),
        ("3", 3.0),
        ("1.2e-3", 0.0012),
        ("6.02E23", 6.02e23),
        ("-4.5e+2", -450.0),
        ("1,234.5", 1234.5),
        ("Here's a sample from N(0, 1): **-0.73**", -0.73),
        ("Sure! My random number is 0.318. Let me know if you need more.", 0.318),
        ("**0.61**\n\nThis was drawn uniformly.", 0.61),
        ("\u22120.5", -0.5),
    ],
)
def test_real_reads(text: str, expected: float) -> None:
    value = build_parser("real").parse(text, NORMAL).value
    assert isinstance(value, float)
    assert value == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "no number in the answer"),
        ("I cannot produce random numbers.", "no number in the answer"),
        ("0.3 or 0.4", "several numbers in the answer: 0.3, 0.4"),
        ("between 0 and 1: 0.25", "several numbers in the answer: 0.0, 1.0, 0.25"),
        ("1e999", "not a finite number: 1e999"),
    ],
)
def test_real_rejects(text: str, reason: str) -> None:
    assert build_parser("real").parse(text, NORMAL).invalid_reason == reason


@pytest.mark.parametrize(
    ("value", "tgt", "text"),
    [
        (0.5, NORMAL2, "0.50"),
        (-1.234, NORMAL2, "-1.23"),
        (2.0, NORMAL2, "2.00"),
        (0.1, NORMAL, "0.1"),
        (1e-7, NORMAL, "1e-07"),
        (3, NORMAL, "3.0"),
    ],
)
def test_real_format(value: Outcome, tgt: Target, text: str) -> None:
    assert build_parser("real").format(value, tgt) == text


def test_real_format_reads_back() -> None:
    parser = build_parser("real")
    for value in (0.1, -2.5, 1e-7, 123456.789, 6.02e23, -0.0, 1 / 3):
        assert parser.parse(parser.format(value, NORMAL), NORMAL).value == value
    for value in (0.25, -1.5, 3.14):
        assert parser.parse(parser.format(value, NORMAL2), NORMAL2).value == value
