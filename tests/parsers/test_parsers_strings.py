"""string and text: the answer token, and the whole answer."""

from __future__ import annotations

from typing import Any

import pytest

from randbench.parsers.spec import build_parser
from randbench.targets import TARGETS, Target


def target(name: str, **params: Any) -> Target:
    return TARGETS.get(name)(**params)


PASSWORD = target("string", length=8, charset="alnum")
UUID = target("uuid4")
OPEN = target("open_ended")
PW = "k3J9xAb2"
ID = "3f1c2a9e-7b4d-4c1e-9a2b-5d6e7f8a9b0c"


@pytest.mark.parametrize(
    "text",
    [
        PW,
        f"  {PW}\n",
        f'"{PW}"',
        f"'{PW}'",
        f"`{PW}`",
        f"```\n{PW}\n```",
        f"```text\n{PW}\n```",
        f"**{PW}**",
        f"Password: {PW}",
        f"Sure! Here is your password: {PW}. Keep it safe.",
        f"Here is a random string:\n\n{PW}\n\nHope this helps!",
        f"Your new password is **{PW}**.",
        f"Here you go: `{PW}` -- remember to store it securely.",
        f"<think>8 characters, mixed case</think>{PW}",
        f"{PW}.",
    ],
)
def test_string_reads(text: str) -> None:
    assert build_parser("string").parse(text, PASSWORD).value == PW


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty answer"),
        ("   \n ", "empty answer"),
        ("I cannot generate passwords.", "no single string in the answer: 4 words"),
        ("abc12345 or xyz98765?", "no single string in the answer: 3 words"),
        ('"abc12345" or "xyz98765"', "several strings in the answer: 'abc12345' and 'xyz98765'"),
    ],
)
def test_string_rejects(text: str, reason: str) -> None:
    assert build_parser("string").parse(text, PASSWORD).invalid_reason == reason


def test_string_out_of_support_is_returned_for_the_caller() -> None:
    parser = build_parser("string")
    assert parser.parse("Password: k3J9xA", PASSWORD).value == "k3J9xA"
    assert parser.parse("hunter2", PASSWORD).value == "hunter2"


@pytest.mark.parametrize(
    "text",
    [
        ID,
        f"Here is a random UUID: {ID}",
        f"```\n{ID}\n```",
        f"UUID v4: `{ID}`",
        f'{{"uuid": "{ID}"}}',
    ],
)
def test_string_uuid(text: str) -> None:
    assert build_parser("string").parse(text, UUID).value == ID


def test_string_format() -> None:
    assert build_parser("string").format(PW, PASSWORD) == PW


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Once upon a time.", "Once upon a time."),
        ("  Blue whales sing.\n\n", "Blue whales sing."),
        ("<think>hmm</think>\nA red fox.", "A red fox."),
        ("**Bold** stays", "**Bold** stays"),
    ],
)
def test_text_reads(text: str, expected: str) -> None:
    assert build_parser("text").parse(text, OPEN).value == expected


def test_text_empty_and_format() -> None:
    parser = build_parser("text")
    assert parser.parse(" \n\t", OPEN).invalid_reason == "empty answer"
    assert parser.parse("<think>only thoughts</think>", OPEN).invalid_reason == "empty answer"
    assert parser.format("A story.", OPEN) == "A story."
    assert parser.check_fits(OPEN) is None
    assert parser.check_fits(PASSWORD) is not None
