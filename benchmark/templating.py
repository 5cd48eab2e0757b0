"""Jinja2 rendering for task YAMLs, which come from strangers' pull requests.

Templates render in :class:`ImmutableSandboxedEnvironment` (no Python internals,
no mutation) with :class:`StrictUndefined` (a misspelt variable is an error, not
an empty string), and with ``*`` and ``**`` bounded so that a template cannot
exhaust memory or time.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Mapping
from typing import Any

from jinja2 import StrictUndefined, Template, TemplateError
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

MAX_RENDERED_CHARS = 200_000
MAX_SEQUENCE_PRODUCT = 100_000
MAX_EXPONENT = 1_000

_SINGLE_EXPRESSION = re.compile(r"^\s*\{\{(?P<expr>(?:(?!\{\{|\}\}|\{%|%\}).)*)\}\}\s*$", re.S)


class TemplateRenderError(ValueError):
    """A template that does not render; the message says why in a task author's terms."""


class TaskSandbox(ImmutableSandboxedEnvironment):
    """The sandbox, with size limits on the two operators that can blow up."""

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "**" and isinstance(right, int | float) and abs(right) > MAX_EXPONENT:
            raise SecurityError(f"exponent {right} is larger than {MAX_EXPONENT}")
        if operator == "*":
            for seq, times in ((left, right), (right, left)):
                if (
                    isinstance(seq, str | list | tuple)
                    and isinstance(times, int)
                    and len(seq) * times > MAX_SEQUENCE_PRODUCT
                ):
                    raise SecurityError(
                        f"repeating a sequence to {len(seq) * times} items "
                        f"is more than {MAX_SEQUENCE_PRODUCT}"
                    )
        return super().call_binop(context, operator, left, right)


_ENV = TaskSandbox(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)
_ENV.filters.update(exp=math.exp, log=math.log)
"""Two pure functions a rate needs (``{{ -(theta | log) }}``: the Poisson rate whose gap
is unmarked with probability theta); a math error is reported like any template error."""


def _explain(error: Exception) -> TemplateRenderError:
    if isinstance(error, SecurityError | OverflowError):
        return TemplateRenderError(f"template is not allowed in the sandbox: {error}")
    message = getattr(error, "message", None) or str(error)
    return TemplateRenderError(f"template error: {message}")


@functools.lru_cache(maxsize=4096)
def _compiled(template: str) -> Template:
    """A template compiled once: a family's tasks render the same few templates with
    other params (compiling each time was 6 of the 7 s that loading the library took)."""
    return _ENV.from_string(template)


@functools.lru_cache(maxsize=4096)
def _expression(expr: str) -> Callable[..., Any]:
    return _ENV.compile_expression(expr, undefined_to_none=False)


def render_text(template: str, variables: Mapping[str, Any]) -> str:
    """Render ``template`` to text with ``variables`` (the task's params)."""
    try:
        text = _compiled(template).render(**variables)
    except (TemplateError, ArithmeticError, TypeError, ValueError) as error:
        raise _explain(error) from None
    if len(text) > MAX_RENDERED_CHARS:
        raise TemplateRenderError(
            f"rendered text is {len(text)} characters, over {MAX_RENDERED_CHARS}"
        )
    return text


def render_value(template: str, variables: Mapping[str, Any]) -> Any:
    """Render a parameter: a lone ``{{ expr }}`` keeps its native type, anything else is text."""
    match = _SINGLE_EXPRESSION.match(template)
    if match is None:
        return render_text(template, variables)
    try:
        value = _expression(match["expr"])(**variables)
        if isinstance(value, StrictUndefined):
            str(value)  # raises the UndefinedError that names the variable
    except (TemplateError, ArithmeticError, TypeError, ValueError) as error:
        raise _explain(error) from None
    if isinstance(value, range | tuple | map | filter):
        value = list(value)
    return value


def render_tree(value: Any, variables: Mapping[str, Any]) -> Any:
    """Render every string inside nested dicts and lists (keys too)."""
    if isinstance(value, str):
        return render_value(value, variables)
    if isinstance(value, Mapping):
        return {
            (render_value(k, variables) if isinstance(k, str) else k): render_tree(v, variables)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [render_tree(v, variables) for v in value]
    return value
