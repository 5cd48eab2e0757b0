"""Bad target parameters are refused with messages a task author can act on."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from randbench.targets import TARGETS


def make(name: str, params: dict[str, Any]) -> Any:
    return TARGETS.get(name).model_validate(params)


BAD: list[tuple[str, dict[str, Any], str]] = [
    ("categorical", {"weights": {"a": 0.5, "b": 0.4}}, "weights sum to 0.9, expected 1"),
    ("categorical", {"weights": {"a": 0.7, "b": 0.4}}, "weights sum to 1.1, expected 1"),
    ("categorical", {"weights": {}}, "at least one outcome"),
    ("categorical", {"weights": {"a": float("nan"), "b": 1.0}}, "finite numbers: ['a']"),
    ("categorical", {"weights": {"a": 1.2, "b": -0.2}}, "must not be negative: ['b']"),
    ("categorical", {"weights": {"a": 0.5, 1: 0.5}}, "not a mix"),
    ("categorical", {"weights": {True: 0.5, False: 0.5}}, "is a YAML boolean: quote it"),
    ("uniform_choice", {"choices": []}, "at least one choice"),
    ("uniform_choice", {"choices": ["a", "b", "a"]}, "repeated: ['a']"),
    ("uniform_choice", {"choices": [True, False]}, "choice True is a YAML boolean"),
    ("dice_sum", {"dice": 2, "sides": 1}, "greater than or equal to 2"),
    ("binomial", {"n": 0, "p": 0.5}, "greater than or equal to 1"),
    ("binomial", {"n": 10, "p": -0.1}, "greater than or equal to 0"),
    ("geometric", {"p": 0}, "greater than 0"),
    ("geometric", {"p": 0.5, "start": 2}, "Input should be 0 or 1"),
    ("poisson", {"rate": -1}, "greater than 0"),
    ("normal", {"mean": 0, "sd": 0}, "greater than 0"),
    ("normal", {"mean": 0, "sd": 1, "decimals": -1}, "greater than or equal to 0"),
    ("exponential", {"rate": 0}, "greater than 0"),
    ("uniform_real", {"low": 2, "high": 1}, "high (1.0) must be > low (2.0)"),
    ("permutation", {"items": ["a", "b", "a"]}, "items must be distinct; repeated: ['a']"),
    ("permutation", {"items": ["a", True]}, "item True is a YAML boolean"),
    ("subset", {"items": [1, 2, 3], "k": 0}, "greater than or equal to 1"),
    ("subset", {"items": [1, 2, 3], "k": 4}, "k (4) must be at most the number of items (3)"),
    ("subset", {"items": [1, 1, 2], "k": 1}, "repeated: ['1']"),
    ("string", {"length": 0, "charset": "abc"}, "greater than or equal to 1"),
    ("string", {"length": 4, "charset": ""}, "charset is empty"),
    ("string", {"length": 4, "charset": "abc", "require": ["digits"]}, "shares no character"),
    (
        "string",
        {"length": 2, "charset": "abc", "require": ["a", "b", "c"]},
        "no string of length 2 meets all 3 requirements",
    ),
    ("string", {"length": 9, "charset": "alnum", "require": list("abcdefghi")}, "at most 8"),
    ("coin_sequence", {"length": 0}, "greater than or equal to 1"),
    ("coin_sequence", {"length": 3, "p": 1.5}, "less than or equal to 1"),
    ("coin_sequence", {"length": 3, "symbols": ["H", "T", "E"]}, "two distinct non-empty"),
    ("coin_sequence", {"length": 3, "symbols": [True, False]}, "symbol True is a YAML boolean"),
    ("point_mass", {"value": True}, "value True is a YAML boolean"),
    ("point_mass", {"value": float("inf")}, "finite number"),
    ("uniform_int", {"low": 1, "high": 6, "sides": 6}, "Extra inputs are not permitted"),
    ("open_ended", {"anything": 1}, "Extra inputs are not permitted"),
]


@pytest.mark.parametrize(
    ("name", "params", "message"), BAD, ids=[f"{name}-{i}" for i, (name, _, _) in enumerate(BAD)]
)
def test_bad_parameters_are_refused_with_a_clear_message(
    name: str, params: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        make(name, params)
    assert message in str(caught.value)


def test_field_errors_point_at_the_field() -> None:
    with pytest.raises(ValidationError) as caught:
        make("categorical", {"weights": {"a": 0.5, "b": 0.4}})
    (error,) = caught.value.errors()
    assert error["loc"] == ("weights",)
    assert error["msg"] == "Value error, weights sum to 0.9, expected 1"


def test_yaml_yes_no_is_refused_not_turned_into_numbers() -> None:
    params = yaml.safe_load("weights: {yes: 0.5, no: 0.5}")
    with pytest.raises(ValidationError, match="YAML boolean"):
        make("categorical", params)
    quoted = make("categorical", yaml.safe_load("weights: {'yes': 0.5, 'no': 0.5}"))
    assert quoted.support() == ["yes", "no"]


def test_yaml_lists_become_hashable_outcomes() -> None:
    shuffle = make("permutation", yaml.safe_load("items: [red, green, blue]"))
    coins = make("coin_sequence", yaml.safe_load("length: 2\nsymbols: [0, 1]"))
    for target in (shuffle, coins):
        support = target.support()
        assert support is not None and all(isinstance(v, tuple) for v in support)
        assert len(set(support)) == len(support)
