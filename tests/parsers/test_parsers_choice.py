"""choice: labels found word-bounded and case-insensitively, with aliases and tie-breaks."""

from __future__ import annotations

from typing import Any

import pytest

from randbench.parsers.spec import build_parser
from randbench.targets import TARGETS, Target


def target(name: str, **params: Any) -> Target:
    return TARGETS.get(name)(**params)


COIN = target("uniform_choice", choices=["heads", "tails"])
RPS = target("uniform_choice", choices=["rock", "paper", "scissors"])
COLOURS = target("uniform_choice", choices=["blue", "light blue", "red"])
CITIES = target("uniform_choice", choices=["New York", "Paris", "York"])
LETTERS = target("uniform_choice", choices=list("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
WEIGHTED = target("categorical", weights={"heads": 0.3, "tails": 0.7})
NUMBERED = target("categorical", weights={1: 0.5, 2: 0.25, 10: 0.25})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("heads", "heads"),
        ("Heads", "heads"),
        ("TAILS", "tails"),
        ("I choose **tails**.", "tails"),
        ("*Heads!*", "heads"),
        ('"tails"', "tails"),
        ("Sure! I flipped the coin and it landed on heads. 🪙", "heads"),
        ("tails\n\nI hope this helps!", "tails"),
        ("Heads or tails? **Tails**.", "tails"),
        ("<think>heads, tails... pick one</think>Tails", "tails"),
        ("`heads`", "heads"),
        ("# Heads", "heads"),
    ],
)
def test_choice_coin(text: str, expected: str) -> None:
    assert build_parser("choice").parse(text, COIN).value == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("headstrong", "no option in the answer: expected one of 'heads', 'tails'"),
        ("", "no option in the answer: expected one of 'heads', 'tails'"),
        (
            "I can't flip a coin, I'm an AI.",
            "no option in the answer: expected one of 'heads', 'tails'",
        ),
        ("heads, tails", "several options in the answer: 'heads' and 'tails'"),
        ("Not heads — tails.", "several options in the answer: 'heads' and 'tails'"),
    ],
)
def test_choice_coin_rejects(text: str, reason: str) -> None:
    assert build_parser("choice").parse(text, COIN).invalid_reason == reason


def test_choice_aliases() -> None:
    parser = build_parser({"choice": {"aliases": {"heads": ["H", "head"], "tails": ["T", "tail"]}}})
    assert parser.parse("H", COIN).value == "heads"
    assert parser.parse("t.", COIN).value == "tails"
    assert parser.parse("It's a head!", COIN).value == "heads"
    assert parser.parse("Here: T", COIN).value == "tails"
    assert parser.parse("head or tail", COIN).invalid_reason == (
        "several options in the answer: 'heads' and 'tails'"
    )


def test_choice_several_named() -> None:
    result = build_parser("choice").parse("rock, paper or scissors", RPS)
    assert result.invalid_reason == "several options in the answer: 'rock' and 'paper' (and 1 more)"
    assert build_parser("choice").parse("Paper beats rock! I pick paper.", RPS).invalid_reason == (
        "several options in the answer: 'paper' and 'rock'"
    )
    assert build_parser("choice").parse("Scissors ✂️", RPS).value == "scissors"


def test_choice_longest_label_wins() -> None:
    parser = build_parser("choice")
    assert parser.parse("Light Blue", COLOURS).value == "light blue"
    assert parser.parse("I pick light\nblue", COLOURS).value == "light blue"
    assert parser.parse("blue", COLOURS).value == "blue"
    assert parser.parse("New York!", CITIES).value == "New York"
    assert parser.parse("york", CITIES).value == "York"


def test_choice_one_letter_labels() -> None:
    parser = build_parser("choice")
    assert parser.parse("B", LETTERS).value == "B"
    assert parser.parse("b", LETTERS).value == "B"
    assert parser.parse("Sure, here is a random letter: Q", LETTERS).value == "Q"
    assert parser.parse("I choose B", LETTERS).invalid_reason == (
        "several options in the answer: 'I' and 'B'"
    )


def test_choice_categorical_labels() -> None:
    assert build_parser("choice").parse("It's tails.", WEIGHTED).value == "tails"


def test_choice_integer_labels() -> None:
    parser = build_parser({"choice": {"aliases": {1: ["one", "ace"], 10: ["ten"]}}})
    assert parser.parse("10", NUMBERED).value == 10
    assert parser.parse("I draw the ace", NUMBERED).value == 1
    assert parser.parse("Ten.", NUMBERED).value == 10
    assert parser.parse("2", NUMBERED).value == 2
    assert parser.parse("I pick 7", NUMBERED).value == 7  # the caller reports the support
    assert parser.parse("1 or 2", NUMBERED).invalid_reason == (
        "several options in the answer: 1 and 2"
    )
    assert parser.format(10, NUMBERED) == "10"


def test_choice_check_fits() -> None:
    assert build_parser("choice").check_fits(COIN) is None
    assert build_parser("choice").check_fits(NUMBERED) is None
    misfit = build_parser({"choice": {"aliases": {"edge": ["side"]}}}).check_fits(COIN)
    assert misfit == "aliases name labels the target does not have: edge"
    misfit = build_parser("choice").check_fits(target("poisson", rate=3))
    assert misfit == "parser choice needs a target with a finite support"
    assert build_parser("choice").check_fits(target("normal", mean=0, sd=1)) is not None
