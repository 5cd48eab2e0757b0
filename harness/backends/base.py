"""The backend protocol and its registry.

A backend has up to two capabilities (DESIGN.md): ``generate`` — n completions
per request, sharing the prompt across them where the engine allows — and
``score`` — log P(candidate | prompt) for every candidate of a finite support.
Backend modules import their engines lazily, so torch or llama_cpp load only
when that backend is chosen.
"""

from __future__ import annotations

from abc import ABC
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any, ClassVar

from randbench.harness.api.secrets import SECRET_ARG as SECRET_ARG
from randbench.harness.errors import BackendError as BackendError
from randbench.harness.requests import CandidateScores, Completion, GenerateRequest, ScoreRequest
from randbench.plugins import unknown_name_message
from randbench.registry import Registry, import_entry_points
from randbench.tasks import Task


class Capability(str, Enum):
    GENERATE = "generate"
    SCORE = "score"


class CapabilityError(ValueError):
    """A backend asked for a mode it cannot serve; raised before any work starts."""


CompletionSink = Callable[[int, int, Completion], None]
"""``sink(request_index, sample_index, completion)``: one finished completion."""


@dataclass(frozen=True)
class ModelSpec:
    """``--model NAME[:ARG]`` and ``--model-args k=v,...``."""

    backend: str
    name: str = ""
    args: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def parse(cls, model: str, model_args: str = "") -> ModelSpec:
        backend, _, name = model.partition(":")
        return cls(backend=backend, name=name, args=parse_model_args(model_args))

    def without_chat_template(self) -> ModelSpec:
        """``--no-chat-template``: prompts go to the model as raw text (base models)."""
        if self.args.get("chat_template", False) is not False:
            raise ValueError("--no-chat-template contradicts --model-args chat_template=true")
        return replace(self, args={**self.args, "chat_template": False})


def parse_model_args(text: str) -> dict[str, Any]:
    """``k=v,k2=v2`` -> dict, with ints, floats and booleans typed as lm-eval does."""
    args: dict[str, Any] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise ValueError(f"--model-args: expected key=value, got {item!r}")
        args[key.strip()] = _typed(raw.strip())
    return args


def _typed(raw: str) -> Any:
    lowered = raw.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    for convert in (int, float):
        try:
            return convert(raw)
        except ValueError:
            pass
    return raw


class Backend(ABC):
    """A model. Subclasses implement the capabilities they declare."""

    capabilities: ClassVar[frozenset[Capability]]
    concurrency: int = 1
    """Requests in flight at once (``--concurrency``), for backends that talk to a server."""

    def __init__(self, spec: ModelSpec) -> None:
        self.spec = spec

    def bind(self, tasks: Sequence[Task]) -> None:  # noqa: B027 - optional hook
        """See the tasks of a run before any request (reference backends need their targets)."""

    def identity(self) -> dict[str, Any]:
        """What identifies this model in cache keys and result files (never secrets)."""
        args = {k: v for k, v in self.spec.args.items() if not SECRET_ARG.search(k)}
        return {"backend": self.spec.backend, "name": self.spec.name, "args": args}

    def generate(self, requests: Sequence[GenerateRequest]) -> list[list[Completion]]:
        raise CapabilityError(f"backend {self.spec.backend!r} cannot generate")

    def generate_each(self, requests: Sequence[GenerateRequest], sink: CompletionSink) -> None:
        """:meth:`generate`, handing every completion to ``sink`` as soon as it exists. Backends
        that make many calls per request override it, so that a failure part-way loses
        nothing that finished."""
        for r, completions in enumerate(self.generate(requests)):
            for i, completion in enumerate(completions):
                sink(r, i, completion)

    def score(self, requests: Sequence[ScoreRequest]) -> list[CandidateScores]:
        raise CapabilityError(f"backend {self.spec.backend!r} cannot score candidates")

    def require(self, capability: Capability, why: str) -> None:
        if capability not in self.capabilities:
            can = ", ".join(sorted(c.value for c in self.capabilities)) or "nothing"
            raise CapabilityError(
                f"{why} needs a backend that can {capability.value}; "
                f"backend {self.spec.backend!r} can only: {can}"
            )


BACKENDS: Registry[type[Backend]] = Registry("backend")


def register_backend(name: str) -> Any:
    """Class decorator. A backend module imports its engine (torch, llama_cpp, ...) inside
    ``__init__``, never at module level, so listing backends stays cheap."""
    return BACKENDS.register(name)


ENTRY_POINT_GROUP = "randbench.backends"
"""Backends of other distributions register here (as inspect_ai's providers do)."""


def load_backend(spec: ModelSpec) -> Backend:
    """The backend ``spec`` names: randbench's own, or one an installed distribution
    declares under the ``randbench.backends`` entry-point group (looked up on first need)."""
    if spec.backend not in BACKENDS:
        failed = import_entry_points(ENTRY_POINT_GROUP, BACKENDS)
        if spec.backend in failed:
            raise ImportError(failed[spec.backend])
        if spec.backend not in BACKENDS:
            message = unknown_name_message("backend", spec.backend, BACKENDS.names())
            raise ValueError("\n".join([message, *failed.values()]))
    return BACKENDS.get(spec.backend)(spec)
