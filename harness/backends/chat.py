"""Rendering a :class:`Prompt` to text: a model's Jinja chat template, or raw text for base models.

Shared by the local backends (llama.cpp reads the template from the GGUF metadata,
transformers from the tokenizer). The rendered text always ends where the model's
answer begins: the assistant turn's opening (``add_generation_prompt``) followed by
the prompt's ``assistant_prefix``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from randbench.harness.requests import Prompt

RAW_SEPARATOR = "\n\n"
"""Between messages (and before the assistant prefix) when no chat template is applied."""

PROBE = "\x00randbench-probe\x00"
"""A message content that no template produces by itself; used to find the end-of-turn text."""


def _raise(message: str) -> None:
    raise ValueError(f"chat template: {message}")


def _compile(template: str) -> Any:
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
    env.globals["raise_exception"] = _raise
    env.globals["strftime_now"] = lambda fmt: datetime.now().strftime(fmt)
    return env.from_string(template)


def render_messages(
    template: str,
    messages: list[dict[str, str]],
    *,
    add_generation_prompt: bool,
    bos_token: str = "",
    eos_token: str = "",
) -> str:
    return str(
        _compile(template).render(
            messages=messages,
            add_generation_prompt=add_generation_prompt,
            bos_token=bos_token,
            eos_token=eos_token,
        )
    )


def render_prompt(
    prompt: Prompt, template: str | None, *, bos_token: str = "", eos_token: str = ""
) -> str:
    """The text the model continues. ``template=None``: base-model raw text (the message
    contents joined by blank lines, then the assistant prefix after another blank line)."""
    if template is None or prompt.plain:
        parts = [m.content for m in prompt.messages]
        if prompt.assistant_prefix:
            parts.append(prompt.assistant_prefix)
        return RAW_SEPARATOR.join(parts)
    messages = [{"role": m.role, "content": m.content} for m in prompt.messages]
    text = render_messages(
        template,
        messages,
        add_generation_prompt=True,
        bos_token=bos_token,
        eos_token=eos_token,
    )
    return text + prompt.assistant_prefix


def end_of_turn_text(template: str, *, bos_token: str = "", eos_token: str = "") -> str:
    """What the template writes right after an assistant message's content (e.g.
    ``<|im_end|>\\n`` for ChatML): the text that ends an answer. Empty if not found."""
    messages = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": PROBE}]
    text = render_messages(
        template,
        messages,
        add_generation_prompt=False,
        bos_token=bos_token,
        eos_token=eos_token,
    )
    _, found, after = text.rpartition(PROBE)
    return after if found else ""
