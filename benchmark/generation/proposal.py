"""A generated task as a model proposes it, and what randbench makes of it (issue #33).

The model never writes YAML: it fills a small declarative form (:class:`Proposal`) under
a JSON-schema grammar, and randbench renders the form to a task YAML whose target comes
from the declared fields alone. Before a proposal reaches the loader, the checks here
say what is wrong with it, each as a reason a rejects file can count:

* ``schema``: the JSON does not fit the form;
* ``target``: the declared distribution does not normalise (or is no distribution);
* ``prompt``: the prompt does not state what the target assumes (an outcome, a range end
  or a stated weight is missing from it).

The loader and its sandbox then judge the YAML as they judge a contributed task
(``template``), and the diversity filter judges it against the library (``duplicate``).
"""

from __future__ import annotations

import re
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

Kind = Literal["uniform_choice", "weighted_choice", "uniform_int"]
CATEGORIES = ("basic", "games", "distributions")
"""The library categories a declarative proposal can belong to."""
MAX_CHOICES = 12
MAX_PROMPT = 300
MAX_CHOICE = 40
MAX_RANGE = 1000
WEIGHT_TOLERANCE = 0.01


class ProposalError(ValueError):
    """A proposal is rejected: ``reason`` is one of the rejects file's reasons."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


class Proposal(BaseModel):
    """The form a generator fills in: one task, stated declaratively."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z][a-z0-9_]{2,47}$")
    category: Literal["basic", "games", "distributions"]
    prompt: str = Field(min_length=15, max_length=400)
    """Up to 400 characters; a local model's grammar stops it at ``MAX_PROMPT``, leaving
    room for the sentence ``complete_prompt`` may append."""
    kind: Kind
    choices: list[str] = Field(default_factory=list, max_length=MAX_CHOICES)
    weights: list[float] = Field(default_factory=list, max_length=MAX_CHOICES)
    low: int = 0
    high: int = 0


KINDS: tuple[Kind, ...] = ("uniform_choice", "weighted_choice", "uniform_int")
KIND_FIELDS: dict[str, tuple[str, ...]] = {
    "uniform_choice": ("choices",),
    "weighted_choice": ("choices", "weights"),
    "uniform_int": ("low", "high"),
}
_FIELD_SCHEMAS: dict[str, dict[str, Any]] = {
    "choices": {"type": "array", "items": {"type": "string"}, "minItems": 2,
                "maxItems": MAX_CHOICES},
    "weights": {"type": "array", "items": {"type": "number"}, "minItems": 2,
                "maxItems": MAX_CHOICES},
    "low": {"type": "integer"},
    "high": {"type": "integer"},
}  # fmt: skip


def json_schema(kind: Kind, *, bounded: bool = False) -> dict[str, Any]:
    """The grammar a local model decodes one proposal of ``kind`` under (llama.cpp's
    JSON-schema grammar), and the structured output an API model is asked for: the kind
    fixed and exactly its fields required, so a choice task cannot come without choices
    and a range without its ends (a form with every field optional let SmolLM2 leave
    ``choices`` empty while its prompt listed them). ``bounded`` caps the length of the
    prompt and of each choice in the grammar itself (a small model otherwise rambles
    inside a string until its token budget cuts the JSON short); strict structured output
    is not asked for it."""
    fields = KIND_FIELDS[kind]
    prompt: dict[str, Any] = {"type": "string"}
    fields_schema = {name: _FIELD_SCHEMAS[name] for name in fields}
    if bounded:
        prompt.update(minLength=15, maxLength=MAX_PROMPT)
        if "choices" in fields_schema:
            item = {"type": "string", "minLength": 1, "maxLength": MAX_CHOICE}
            fields_schema["choices"] = {**fields_schema["choices"], "items": item}
    return {
        "type": "object",
        "properties": {
            "name": {"type": "string", "pattern": "^[a-z][a-z0-9_]{2,40}$"},
            "category": {"type": "string", "enum": list(CATEGORIES)},
            "prompt": prompt,
            "kind": {"type": "string", "enum": [kind]},
            **fields_schema,
        },
        "required": ["name", "category", "prompt", "kind", *fields],
        "additionalProperties": False,
    }


def parse_proposal(data: Any) -> Proposal:
    """The proposal in ``data`` (parsed JSON), or a ``schema`` rejection naming the field."""
    try:
        return Proposal.model_validate(data)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'proposal'}: {e['msg']}" for e in error.errors()
        )
        raise ProposalError("schema", problems) from None


def target_spec(proposal: Proposal) -> dict[str, Any]:
    """The task's ``target`` from the declared fields, or a ``target`` rejection."""
    if proposal.kind == "uniform_int":
        if not proposal.low < proposal.high:
            raise ProposalError("target", f"low {proposal.low} is not below high {proposal.high}")
        if proposal.high - proposal.low + 1 > MAX_RANGE:
            raise ProposalError("target", f"a range of more than {MAX_RANGE} numbers")
        return {"uniform_int": {"low": proposal.low, "high": proposal.high}}
    choices = [c.strip() for c in proposal.choices]
    if len(choices) < 2 or len({c.lower() for c in choices}) != len(choices) or "" in choices:
        raise ProposalError("target", "needs two or more distinct, non-empty choices")
    if proposal.kind == "uniform_choice":
        return {"uniform_choice": {"choices": choices}}
    weights = proposal.weights
    if len(weights) != len(choices):
        raise ProposalError("target", f"{len(weights)} weights for {len(choices)} choices")
    if any(w <= 0 for w in weights):
        raise ProposalError("target", "a weight is not positive")
    total = sum(weights)
    if abs(total - 1) > WEIGHT_TOLERANCE and abs(total - 100) > 100 * WEIGHT_TOLERANCE:
        raise ProposalError("target", f"weights sum to {total:g}, not 1 (or 100%)")
    scale = 100.0 if abs(total - 100) <= 100 * WEIGHT_TOLERANCE else 1.0
    normalised = [w / scale for w in weights]
    shares = [round(w / sum(normalised), 6) for w in normalised]
    return {"categorical": {"weights": dict(zip(choices, shares, strict=True))}}


def check_prompt_states_target(proposal: Proposal) -> None:
    """The prompt must name what the target assumes: every choice, both ends of a range,
    and each stated weight (as a percentage or a fraction); else a ``prompt`` rejection."""
    text = proposal.prompt.lower()
    if proposal.kind == "uniform_int":
        missing = [str(v) for v in (proposal.low, proposal.high)
                   if not re.search(rf"(?<![\d.]){v}(?!\.?\d)", text)]  # fmt: skip
        if missing:
            raise ProposalError("prompt", f"does not state the range end(s) {', '.join(missing)}")
        return
    missing = [c for c in proposal.choices if not _names(text, c.strip().lower())]
    if missing:
        raise ProposalError("prompt", f"does not name the choice(s) {', '.join(missing)}")
    if proposal.kind == "weighted_choice":
        total = sum(proposal.weights)
        unstated = [w for w in proposal.weights if not _states_weight(text, w / total)]
        if unstated:
            shown = ", ".join(f"{w:g}" for w in unstated)
            raise ProposalError("prompt", f"does not state the weight(s) {shown}")


def complete_prompt(proposal: Proposal) -> Proposal:
    """``proposal`` with a sentence stating its support (and weights) appended where its
    prompt leaves any of them out (``tasks generate --complete-prompts``): the model
    proposes the scenario and the distribution, randbench states the distribution in the
    words the prompt check reads, as an evaluation harness adds an answer format. A
    prompt that already states everything is left as it is."""
    try:
        check_prompt_states_target(proposal)
        return proposal
    except ProposalError:
        pass
    if proposal.kind == "uniform_int":
        stated = f"Answer with a whole number from {proposal.low} to {proposal.high}."
    else:
        choices = [c.strip() for c in proposal.choices]
        if proposal.kind == "weighted_choice":
            total = sum(proposal.weights)
            shares = [round(100 * w / total, 6) for w in proposal.weights]
            chances = ", ".join(f"{c} {p:g}%" for c, p in zip(choices, shares, strict=True))
            stated = f"The chances are: {chances}. Answer with one of them."
        else:
            stated = f"Answer with one of: {', '.join(choices)}."
    return proposal.model_copy(update={"prompt": f"{proposal.prompt.rstrip()} {stated}"})


def _names(text: str, choice: str) -> bool:
    return re.search(rf"(?<![a-z0-9]){re.escape(choice)}(?![a-z0-9])", text) is not None


def _states_weight(text: str, share: float) -> bool:
    """``share`` written as a percentage (``30%``, ``30 percent``) or a fraction (``0.3``)."""
    percent = round(100 * share, 6)
    forms = {f"{percent:g}%", f"{percent:g} %", f"{percent:g} percent", f"{share:g}"}
    return any(_names(text, form) for form in forms)


def task_yaml(proposal: Proposal, provenance: dict[str, Any]) -> str:
    """The task YAML randbench writes for an accepted proposal: the declared target, the
    ``generated`` split, and its provenance as a comment header and a ``source`` line."""
    task = {
        "task": proposal.name,
        "description": f"Generated: {proposal.prompt}"[:200],
        "group": ["generated"],
        "prompt": proposal.prompt,
        "answer": "integer" if proposal.kind == "uniform_int" else "choice",
        "target": target_spec(proposal),
        "samples": 200,
        "split": "generated",
        "source": f"generated by {provenance.get('model', '?')} (randbench tasks generate)",
    }
    header = "".join(f"# {key}: {value}\n" for key, value in provenance.items())
    return header + yaml.safe_dump(task, sort_keys=False, allow_unicode=True, width=100)


def target_signature(target: dict[str, Any]) -> tuple[Any, ...] | None:
    """Same support and probabilities: the key of a target duplicate, for a target spec as
    a task YAML writes it (None for a family a proposal cannot declare)."""
    ((family, params),) = target.items()
    params = params or {}
    if family == "uniform_int":
        return (family, params.get("low"), params.get("high"))
    if family == "uniform_choice":
        return (family, tuple(sorted(str(c).lower() for c in params.get("choices", []))))
    if family == "categorical" and isinstance(params.get("weights"), dict):
        weights = params["weights"]
        total = sum(weights.values())
        return (family, tuple(sorted((str(c).lower(), round(w / total, 4))
                                     for c, w in weights.items())))  # fmt: skip
    return None
