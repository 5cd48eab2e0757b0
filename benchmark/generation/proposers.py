"""Who writes proposals: a local GGUF model decoding under llama.cpp's JSON-schema
grammar, or an OpenAI-compatible server asked for structured output. Either way the text
that comes back parses as the proposal form's JSON (the form's own checks come after).

``--model smollm2`` / ``gemma3`` (embedded), ``llamacpp:PATH.gguf``, or ``openai:MODEL``
(``OPENAI_BASE_URL`` and ``OPENAI_API_KEY`` as the openai backend reads them)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from randbench.generation.proposal import Kind, json_schema

MAX_TOKENS = 400
Propose = Callable[[str, int, Kind], str]
"""(request text, seed, the kind asked for) -> the proposal's JSON text, decoded under
that kind's schema (:func:`randbench.generation.proposal.json_schema`)."""


def proposer(model: str, *, temperature: float = 1.0) -> Propose:
    """The proposal writer for ``model``; the message says what is accepted."""
    backend, _, name = model.partition(":")
    if model in ("smollm2", "gemma3"):
        from randbench.harness.models import gemma3_gguf, smollm2_gguf

        path = smollm2_gguf() if model == "smollm2" else gemma3_gguf()
        return llama_proposer(path, temperature=temperature)
    if backend == "llamacpp" and name:
        return llama_proposer(Path(name), temperature=temperature)
    if backend == "openai" and name:
        return openai_proposer(name, temperature=temperature)
    raise ValueError(
        f"--model {model!r}: generate with smollm2, gemma3, llamacpp:PATH.gguf or openai:MODEL"
    )


def llama_proposer(path: Path, *, temperature: float) -> Propose:
    """A GGUF model under the form's grammar: chat-style where the file has a chat template,
    else as a question and an answer line (a base model)."""
    import llama_cpp
    from llama_cpp._utils import suppress_stdout_stderr
    from llama_cpp.llama_grammar import LlamaGrammar

    with suppress_stdout_stderr(disable=False):
        llama = llama_cpp.Llama(str(path), n_ctx=4096, verbose=False)
    grammars: dict[str, LlamaGrammar] = {}
    chat = bool(llama.metadata.get("tokenizer.chat_template"))

    def propose(text: str, seed: int, kind: Kind) -> str:
        if kind not in grammars:
            schema = json.dumps(json_schema(kind, bounded=True))
            grammars[kind] = LlamaGrammar.from_json_schema(schema, verbose=False)
        grammar = grammars[kind]
        llama.set_seed(seed)
        if chat:
            reply: Any = llama.create_chat_completion(
                [{"role": "user", "content": text}], grammar=grammar,
                temperature=temperature, max_tokens=MAX_TOKENS, seed=seed,
            )  # fmt: skip
            return str(reply["choices"][0]["message"]["content"])
        out: Any = llama.create_completion(
            f"Question: {text}\nAnswer: ", grammar=grammar, temperature=temperature,
            max_tokens=MAX_TOKENS, seed=seed,
        )  # fmt: skip
        return str(out["choices"][0]["text"])

    return propose


def openai_proposer(name: str, *, temperature: float) -> Propose:
    """An OpenAI-compatible chat model asked for the form as strict structured output."""
    from openai import OpenAI

    client = OpenAI()

    def propose(text: str, seed: int, kind: Kind) -> str:
        reply = client.chat.completions.create(
            model=name, messages=[{"role": "user", "content": text}], temperature=temperature,
            seed=seed, max_tokens=MAX_TOKENS,
            response_format={"type": "json_schema", "json_schema": {
                "name": "randbench_task", "schema": json_schema(kind), "strict": True}},
        )  # fmt: skip
        return reply.choices[0].message.content or ""

    return propose
