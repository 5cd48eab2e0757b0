"""json_list, verbalized and build_parser."""

from __future__ import annotations

from typing import Any

import pytest

from randbench.parsers import PARSERS
from randbench.parsers.spec import build_parser
from randbench.plugins import PluginError
from randbench.targets import TARGETS, Target


def target(name: str, **params: Any) -> Target:
    return TARGETS.get(name)(**params)


D10 = target("uniform_int", low=1, high=10)
COIN = target("uniform_choice", choices=["heads", "tails"])
FLIPS = target("coin_sequence", length=3)
UNIT = target("uniform_real", low=0, high=1, decimals=2)


@pytest.mark.parametrize(
    "text",
    [
        "[3, 7, 1]",
        "[3,7,1]",
        '["3", "7", "1"]',
        "Sure! Here are three random numbers:\n```json\n[3, 7, 1]\n```\nEnjoy!",
        "['3', '7', '1',]",
        '{"numbers": [3, 7, 1]}',
        "<think>[1, 2]? no</think>[3, 7, 1]",
    ],
)
def test_json_list_reads(text: str) -> None:
    assert build_parser({"json_list": {"item": "integer"}}).parse(text, D10).value == (3, 7, 1)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("3, 7, 1", "no JSON list in the answer"),
        ("", "no JSON list in the answer"),
        ("[]", "empty list"),
        ('[3, "seven", 1]', "invalid element: index 1: no integer in the answer"),
        ("[3, 11]", "invalid element: index 1: outside the target's support: 11"),
        ("[3, 7.5]", "invalid element: index 1: no integer in the answer"),
        ("[3, [1, 2]]", "invalid element: index 1: several integers in the answer: 1, 2"),
    ],
)
def test_json_list_rejects(text: str, reason: str) -> None:
    parser = build_parser({"json_list": {"item": "integer"}})
    assert parser.parse(text, D10).invalid_reason == reason


def test_json_list_default_item_follows_the_target() -> None:
    parser = build_parser("json_list")
    assert parser.parse('["Heads", "tails"]', COIN).value == ("heads", "tails")
    assert parser.parse("[0.25, 0.5]", UNIT).value == (0.25, 0.5)
    assert parser.parse('["HTH", ["T", "T", "H"]]', FLIPS).value == (
        ("H", "T", "H"),
        ("T", "T", "H"),
    )


def test_json_list_item_options() -> None:
    parser = build_parser({"json_list": {"item": {"choice": {"aliases": {"heads": ["H"]}}}}})
    assert parser.parse('["H", "tails"]', COIN).value == ("heads", "tails")


def test_json_list_format() -> None:
    assert build_parser("json_list").format((3, 7, 1), D10) == "[3, 7, 1]"
    assert build_parser("json_list").format(("heads",), COIN) == '["heads"]'
    assert build_parser("json_list").format((0.5, 0.25), UNIT) == "[0.50, 0.25]"
    assert build_parser("json_list").format((("H", "T", "T"),), FLIPS) == '["H T T"]'


def test_json_list_check_fits() -> None:
    assert build_parser({"json_list": {"item": "integer"}}).check_fits(D10) is None
    misfit = build_parser({"json_list": {"item": "real"}}).check_fits(D10)
    assert misfit == "item: parser reads real answers but the target produces integer values"


VS = (
    '{"responses": [{"text": "7", "probability": 0.3}, {"text": "3", "probability": 0.2},'
    ' {"text": "9", "probability": 0.1}]}'
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (VS, ((7, 0.3), (3, 0.2), (9, 0.1))),
        (f"Sure! Here are my responses:\n```json\n{VS}\n```", ((7, 0.3), (3, 0.2), (9, 0.1))),
        ('[{"text": "7", "prob": "30%"}, {"text": 2, "prob": "0.5"}]', ((7, 0.3), (2, 0.5))),
        ('[{"Text": "Seven is 7", "Probability": 1.5}]', ((7, 1.5),)),  # recorded as given
        (
            "<response><text>4</text><probability>0.25</probability></response>\n"
            "<response><text>8</text><probability>0.15</probability></response>",
            ((4, 0.25), (8, 0.15)),
        ),
        ('[{"text": "11", "probability": 0.0}]', ((11, 0.0),)),  # outside the support: kept
    ],
)
def test_verbalized_reads(text: str, expected: tuple[tuple[int, float], ...]) -> None:
    assert build_parser({"verbalized": {"item": "integer"}}).parse(text, D10).value == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("7", "no list of answers with probabilities"),
        ("[]", "empty list"),
        ("[1, 2]", "invalid element: index 0: not an object"),
        ('[{"text": "7"}]', "invalid element: index 0: no probability"),
        ('[{"probability": 0.5}]', "invalid element: index 0: no text"),
        (
            '[{"text": "7", "probability": -0.1}]',
            "invalid element: index 0: negative probability -0.1",
        ),
        (
            '[{"text": "7", "probability": "high"}]',
            "invalid element: index 0: not a probability: 'high'",
        ),
        (
            '[{"text": "7", "probability": NaN}]',
            "invalid element: index 0: not a finite probability: nan",
        ),
        (
            '[{"text": "7", "probability": 0.5}, {"text": "x", "probability": 0.5}]',
            "invalid element: index 1: no integer in the answer",
        ),
    ],
)
def test_verbalized_rejects(text: str, reason: str) -> None:
    assert build_parser({"verbalized": {"item": "integer"}}).parse(text, D10).invalid_reason == (
        reason
    )


def test_verbalized_labels_and_format() -> None:
    parser = build_parser("verbalized")
    value = parser.parse('[{"text": "Heads", "probability": 0.5}]', COIN).value
    assert value == (("heads", 0.5),)
    assert parser.format(value, COIN) == '[{"text": "heads", "probability": 0.5}]'
    assert parser.parse(parser.format(value, COIN), COIN).value == value


def test_yields() -> None:
    assert PARSERS.get("integer").yields == "outcome"
    assert PARSERS.get("json_list").yields == "outcomes"
    assert PARSERS.get("verbalized").yields == "weighted"


def test_build_parser() -> None:
    assert build_parser("integer") == PARSERS.get("integer")()
    assert build_parser({"integer": {"words": True}}).words is True  # type: ignore[attr-defined]
    assert build_parser({"integer": None}) == PARSERS.get("integer")()


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("intger", "unknown parser 'intger' (did you mean 'integer'?); expected one of: choice,"),
        ({"json_list": {"item": "nope"}}, "json_list.item: unknown parser 'nope'; expected one of"),
        ({"choice": {"alias": {}}}, "unknown field 'alias' (did you mean 'aliases'?)"),
        ({"integer": {}, "real": {}}, "expected one parser name, got 2"),
        (5, "expected a parser name or {name: options}, got 5"),
    ],
)
def test_build_parser_errors(spec: Any, message: str) -> None:
    with pytest.raises(PluginError) as error:
        build_parser(spec)
    assert message in str(error.value)
    if "unknown parser" in message:
        for name in PARSERS.names():
            assert name in str(error.value)
