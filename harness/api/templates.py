"""The chat template and special tokens of a model served elsewhere, read from local files.

A completions endpoint takes text, so a backend that sends one (``openai`` with
``api=completions``, and exact scoring through ``echo``) renders the conversation
itself, exactly as the server's chat endpoint would: it needs the model's chat template,
its BOS/EOS texts and its special tokens (the end-of-turn token is appended to every
scored candidate). They come from a GGUF file (read with the ``gguf`` package), a
Hugging Face model folder (``tokenizer_config.json`` / ``chat_template.jinja``), or a
Jinja file (template only).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from randbench.harness.requests import Prompt

GGUF_CONTROL_TOKEN = 3
"""``tokenizer.ggml.token_type`` of control (special) tokens."""


@dataclass(frozen=True)
class ModelText:
    """How a model's prompts are written as text. ``template=None``: raw text (base models)."""

    template: str | None
    bos: str = ""
    eos: str = ""
    special: frozenset[str] = field(default_factory=frozenset)
    source: str = ""

    def render(self, prompt: Prompt) -> str:
        from randbench.harness.backends.chat import render_prompt  # not at import: a cycle

        return render_prompt(prompt, self.template, bos_token=self.bos, eos_token=self.eos)

    def end_of_answer(self) -> str:
        """The special token that ends an answer: the first one the template writes after an
        assistant message (``<|im_end|>`` for ChatML), else EOS."""
        if self.template is not None:
            from randbench.harness.backends.chat import end_of_turn_text

            after = end_of_turn_text(self.template, bos_token=self.bos, eos_token=self.eos)
            for token in sorted(self.special, key=len, reverse=True):
                if token and after.startswith(token):
                    return token
        if not self.eos:
            raise ValueError(f"{self.source or 'the model'}: no end-of-turn or EOS token known")
        return self.eos


def load_model_text(source: str | Path, *, chat_template: bool = True) -> ModelText:
    """Read a GGUF file, a Hugging Face model folder or a Jinja template file."""
    path = Path(source).expanduser()
    if path.is_dir():
        text = _from_hf_folder(path)
    elif path.is_file() and path.suffix == ".gguf":
        text = _from_gguf(path)
    elif path.is_file():
        text = ModelText(path.read_text(encoding="utf-8"), source=str(path))
    else:
        raise FileNotFoundError(
            f"template_from={source}: no GGUF file, model folder or template file"
        )
    if not chat_template:
        return ModelText(None, text.bos, text.eos, text.special, text.source)
    if text.template is None:
        raise ValueError(f"{path} has no chat template; for a base model add chat_template=false")
    return text


def _from_hf_folder(path: Path) -> ModelText:
    config_file = path / "tokenizer_config.json"
    config: dict[str, Any] = {}
    if config_file.is_file():
        config = json.loads(config_file.read_text(encoding="utf-8"))
    template = config.get("chat_template")
    if isinstance(template, list):  # named templates: take the default one
        named = {t.get("name"): t.get("template") for t in template if isinstance(t, dict)}
        template = named.get("default") or next(iter(named.values()), None)
    jinja = path / "chat_template.jinja"
    if template is None and jinja.is_file():
        template = jinja.read_text(encoding="utf-8")
    special = {
        _content(entry)
        for entry in (config.get("added_tokens_decoder") or {}).values()
        if isinstance(entry, dict) and entry.get("special")
    }
    special.update(_content(config.get(k)) for k in ("bos_token", "eos_token", "pad_token"))
    special.update(_content(t) for t in config.get("additional_special_tokens") or [])
    special.discard("")
    return ModelText(
        template if isinstance(template, str) else None,
        _content(config.get("bos_token")),
        _content(config.get("eos_token")),
        frozenset(special),
        str(path),
    )


def _content(value: Any) -> str:
    if isinstance(value, dict):
        value = value.get("content")
    return value if isinstance(value, str) else ""


def _from_gguf(path: Path) -> ModelText:
    try:
        from gguf import GGUFReader
    except ImportError as error:
        raise ImportError(
            "reading a GGUF's chat template needs the gguf package: pip install gguf"
        ) from error
    reader = GGUFReader(str(path))

    def scalar(name: str) -> Any:
        item = reader.fields.get(name)
        return None if item is None else item.contents()

    tokens = scalar("tokenizer.ggml.tokens") or []
    types = scalar("tokenizer.ggml.token_type") or []
    special = {t for t, kind in zip(tokens, types, strict=False) if kind == GGUF_CONTROL_TOKEN}

    def token(name: str) -> str:
        index = scalar(name)
        return tokens[index] if isinstance(index, int) and 0 <= index < len(tokens) else ""

    template = scalar("tokenizer.chat_template")
    return ModelText(
        template if isinstance(template, str) else None,
        token("tokenizer.ggml.bos_token_id"),
        token("tokenizer.ggml.eos_token_id"),
        frozenset(special),
        str(path),
    )
