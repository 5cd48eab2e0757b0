"""sequence, permutation and subset: real-looking answers, exact values and reasons."""

from __future__ import annotations

from typing import Any

import pytest

from randbench.parsers.spec import build_parser
from randbench.targets import TARGETS, Target


def target(name: str, **params: Any) -> Target:
    return TARGETS.get(name)(**params)


FLIPS5 = target("coin_sequence", length=5)
FLIPS20 = target("coin_sequence", length=20)
BITS = target("coin_sequence", length=4, symbols=[0, 1])
WORDS = target("coin_sequence", length=3, symbols=["heads", "tails"])
HTHTH = ("H", "T", "H", "T", "H")


@pytest.mark.parametrize(
    "text",
    [
        "H T H T H",
        "HTHTH",
        "hthth",
        "H, T, H, T, H",
        "H-T-H-T-H",
        "[H, T, H, T, H]",
        '["H", "T", "H", "T", "H"]',
        "heads tails heads tails heads",
        "Heads, Tails, Heads, Tails, Heads",
        "Sure! Here is a sequence of 5 coin flips: H T H T H\n\nI hope this helps!",
        "1. Heads\n2. Tails\n3. Heads\n4. Tails\n5. Heads",
        "- H\n- T\n- H\n- T\n- H",
        "Flip 1: H\nFlip 2: T\nFlip 3: H\nFlip 4: T\nFlip 5: H",
        "**H T H T H**",
        "```\nHTHTH\n```",
        "Here: HTHTH. Once more, that is HTHTH.",
        "H\nT\nH\nT\nH",
    ],
)
def test_sequence_reads(text: str) -> None:
    assert build_parser("sequence").parse(text, FLIPS5).value == HTHTH


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("H T H T", "expected 5 symbols, got 4"),
        ("HTHTHT", "expected 5 symbols, got 6"),
        ("", "no sequence of symbols in the answer"),
        ("I'm unable to flip coins.", "no sequence of symbols in the answer"),
        ("headstrong", "no sequence of symbols in the answer"),
        ("HTHTH or THTHT", "several sequences in the answer: 2 different"),
    ],
)
def test_sequence_rejects(text: str, reason: str) -> None:
    assert build_parser("sequence").parse(text, FLIPS5).invalid_reason == reason


def test_sequence_twenty() -> None:
    parser = build_parser("sequence")
    answer = "Here are 20 coin flips:\n" + ", ".join("HTTHHTHTTTHHTHTHHTTH"[:19])
    assert parser.parse(answer, FLIPS20).invalid_reason == "expected 20 symbols, got 19"
    assert parser.parse("HTTHHTHTTTHHTHTHHTTH", FLIPS20).value == tuple("HTTHHTHTTTHHTHTHHTTH")


@pytest.mark.parametrize(
    "text",
    ["0 1 1 0", "0110", "0, 1, 1, 0", "Here are 4 flips: 0 1 1 0", "1. 0\n2. 1\n3. 1\n4. 0"],
)
def test_sequence_digits(text: str) -> None:
    assert build_parser("sequence").parse(text, BITS).value == ("0", "1", "1", "0")


def test_sequence_aliases_and_word_symbols() -> None:
    parser = build_parser({"sequence": {"aliases": {"0": ["zero"], "1": ["one"]}}})
    assert parser.parse("zero one one zero", BITS).value == ("0", "1", "1", "0")
    words = build_parser("sequence")
    assert words.parse("H T T", WORDS).value == ("heads", "tails", "tails")
    assert words.parse("Heads, heads, tails", WORDS).value == ("heads", "heads", "tails")


def test_sequence_format() -> None:
    assert build_parser("sequence").format(HTHTH, FLIPS5) == "H T H T H"
    assert build_parser({"sequence": {"separator": ""}}).format(HTHTH, FLIPS5) == "HTHTH"
    assert build_parser({"sequence": {"separator": ", "}}).format(("0", "1"), BITS) == "0, 1"


def test_sequence_check_fits() -> None:
    assert build_parser("sequence").check_fits(FLIPS5) is None
    assert build_parser({"sequence": {"separator": ""}}).check_fits(WORDS) == (
        "separator '' cannot separate symbols longer than a character"
    )
    assert build_parser({"sequence": {"aliases": {"X": ["x"]}}}).check_fits(FLIPS5) == (
        "aliases name symbols the target does not have: X"
    )
    assert build_parser("sequence").check_fits(target("uniform_int", low=1, high=6)) is not None


FRUIT = target("permutation", items=["apple", "banana", "cherry"])
NUMBERS = target("permutation", items=[1, 2, 3, 4, 5])
CITIES = target("permutation", items=["New York", "Paris", "Tokyo"])
BAC = ("banana", "apple", "cherry")


@pytest.mark.parametrize(
    "text",
    [
        "banana, apple, cherry",
        "Banana, Apple, Cherry.",
        "Sure! Here is a random order: banana, apple, cherry",
        "1. banana\n2. apple\n3. cherry",
        "- Banana\n- Apple\n- Cherry\n\nI hope this helps!",
        "banana\napple\ncherry",
        '["banana", "apple", "cherry"]',
        "['banana', 'apple', 'cherry',]",
        "banana -> apple -> cherry",
        "banana → apple → cherry",
        "The order is banana, apple and cherry.",
        "**banana**, **apple**, **cherry**",
        "banana; apple; cherry",
    ],
)
def test_permutation_reads(text: str) -> None:
    assert build_parser("permutation").parse(text, FRUIT).value == BAC


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("banana, kiwi, apple, cherry", "unknown item: 'kiwi'"),
        ("banana, apple, kiwi", "unknown item: 'kiwi'; missing item: 'cherry'"),
        ("banana, apple, apple", "repeated item: 'apple'; missing item: 'cherry'"),
        ("banana, apple", "missing item: 'cherry'"),
        ("banana", "missing items: 'apple', 'cherry'"),
        ('["banana", "apple", "cherry", "date"]', "unknown item: 'date'"),
        ("", "no items of the target in the answer"),
        ("I can't shuffle things, sorry!", "no items of the target in the answer"),
    ],
)
def test_permutation_rejects(text: str, reason: str) -> None:
    assert build_parser("permutation").parse(text, FRUIT).invalid_reason == reason


@pytest.mark.parametrize(
    "text",
    [
        "3 1 4 5 2",
        "3, 1, 4, 5, 2",
        "[3, 1, 4, 5, 2]",
        "31452",
        "Here is a random permutation of 1 to 5: 3, 1, 4, 5, 2",
        "1. 3\n2. 1\n3. 4\n4. 5\n5. 2",
    ],
)
def test_permutation_numbers(text: str) -> None:
    assert build_parser("permutation").parse(text, NUMBERS).value == (3, 1, 4, 5, 2)


def test_permutation_number_problems() -> None:
    parser = build_parser("permutation")
    assert parser.parse("3, 1, 4, 5, 2, 6", NUMBERS).invalid_reason == "unknown item: '6'"
    assert parser.parse("3, 1, 4, 4, 2", NUMBERS).invalid_reason == (
        "repeated item: 4; missing item: 5"
    )


def test_permutation_multiword_items() -> None:
    parser = build_parser("permutation")
    assert parser.parse("Tokyo, New York, Paris", CITIES).value == ("Tokyo", "New York", "Paris")
    assert parser.parse("1. Paris\n2. Tokyo\n3. New York", CITIES).value == (
        "Paris",
        "Tokyo",
        "New York",
    )


def test_permutation_format() -> None:
    assert build_parser("permutation").format(BAC, FRUIT) == "banana, apple, cherry"
    assert build_parser({"permutation": {"separator": " "}}).format((3, 1), NUMBERS) == "3 1"


COLOURS = target("subset", items=["red", "green", "blue", "yellow"], k=2)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("blue, red", ("red", "blue")),
        ("red, blue", ("red", "blue")),
        ("I pick **green** and **yellow**.", ("green", "yellow")),
        ("Sure! My two colours: Yellow, Red", ("red", "yellow")),
        ('["yellow", "green"]', ("green", "yellow")),
        ("- blue\n- green", ("green", "blue")),
    ],
)
def test_subset_reads(text: str, expected: tuple[str, ...]) -> None:
    assert build_parser("subset").parse(text, COLOURS).value == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("red, red", "repeated item: 'red'; expected 2 items, got 1"),
        ("red, green, blue", "expected 2 items, got 3"),
        ("red, purple", "unknown item: 'purple'; expected 2 items, got 1"),
        ("red", "expected 2 items, got 1"),
        ("No.", "no items of the target in the answer"),
    ],
)
def test_subset_rejects(text: str, reason: str) -> None:
    assert build_parser("subset").parse(text, COLOURS).invalid_reason == reason


def test_subset_format_in_target_order() -> None:
    assert build_parser("subset").format(("blue", "red"), COLOURS) == "red, blue"


def test_structured_check_fits() -> None:
    assert build_parser("permutation").check_fits(FRUIT) is None
    assert build_parser("subset").check_fits(COLOURS) is None
    assert build_parser("permutation").check_fits(COLOURS) is not None
    assert build_parser("subset").check_fits(FRUIT) is not None
