"""``vllm``: a model run in process by vLLM's offline engine (``vllm.LLM``), imported lazily.

``--model vllm:MODEL_OR_PATH --model-args tensor_parallel_size=4,gpu_memory_utilization=0.9``:
every model arg but ``chat_template`` is an engine argument, passed to ``vllm.LLM`` as is
(tensor and data parallelism, dtype, max_model_len, quantization, ...), so vLLM itself
checks them.

- Sampling: each request is one prompt with ``SamplingParams(n=number of samples,
  seed=first sample's seed)``; vLLM prefills the prompt once and decodes the n samples
  side by side.
- Scoring: every candidate is one prompt of token ids — the prompt's, the candidate's
  (tokenized on its own, as the model writes it after the prompt) and the end-of-turn
  token — with ``SamplingParams(max_tokens=1, prompt_logprobs=0)``; the candidate's score is
  the sum of the returned prompt log-probabilities after the prompt. All candidates go in
  one ``generate`` call, where vLLM's prefix caching shares the prompt.

The prompt is rendered with the tokenizer's chat template (``chat_template=false``: the
message texts, for base models), as the ``hf`` backend does. No GPU or vLLM runs on
randbench's test machines: the tests drive this backend through a stand-in ``vllm`` module
that implements the documented ``LLM`` / ``SamplingParams`` / ``RequestOutput`` API.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, ClassVar

from randbench.harness.backends.base import Backend, Capability, ModelSpec, register_backend
from randbench.harness.requests import (
    CandidateScores,
    Completion,
    GenerateRequest,
    Prompt,
    ScoreRequest,
)

INSTALL = "pip install 'randbench[vllm]' (needs a supported GPU)"
PROBE = "\x00randbench-probe\x00"
OWN_ARGS = frozenset({"chat_template"})


@register_backend("vllm")
class VLLMBackend(Backend):
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {Capability.GENERATE, Capability.SCORE}
    )

    def __init__(self, spec: ModelSpec) -> None:
        super().__init__(spec)
        if not spec.name:
            raise ValueError("backend 'vllm' needs a model: --model vllm:NAME_OR_PATH")
        try:
            import vllm
        except ImportError as error:
            raise ImportError(f"backend 'vllm' needs vLLM: {INSTALL}") from error
        self._vllm = vllm
        engine_args = {k: v for k, v in spec.args.items() if k not in OWN_ARGS}
        try:
            self.llm = vllm.LLM(model=spec.name, **engine_args)
        except TypeError as error:  # EngineArgs refuses an unknown argument
            raise ValueError(f"vllm: engine arguments refused: {error}") from None
        self.tokenizer = self.llm.get_tokenizer()
        has_template = bool(getattr(self.tokenizer, "chat_template", None))
        chat = spec.args.get("chat_template", has_template)
        if not isinstance(chat, bool):
            raise ValueError(f"model arg chat_template={chat!r}: expected true or false")
        if chat and not has_template:
            raise ValueError(f"vllm: {spec.name!r} has no chat template; use chat_template=false")
        self.chat = chat
        self.end_id = self._end_of_turn()

    def _end_of_turn(self) -> int:
        """What the chat template writes right after an answer (its first token), else EOS."""
        if self.chat:
            messages = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": PROBE}]
            text = str(self.tokenizer.apply_chat_template(messages, tokenize=False))
            after = text.split(PROBE, 1)[1] if PROBE in text else ""
            ids = self.tokenizer(after, add_special_tokens=False)["input_ids"] if after else []
            if ids:
                return int(ids[0])
        eos = self.tokenizer.eos_token_id
        if eos is None:
            raise ValueError(f"vllm: {self.spec.name!r} has no EOS token to end an answer with")
        return int(eos)

    def prompt_ids(self, prompt: Prompt) -> list[int]:
        chat = self.chat and not prompt.plain
        if chat:
            messages = [{"role": m.role, "content": m.content} for m in prompt.messages]
            text = str(
                self.tokenizer.apply_chat_template(
                    messages, tokenize=False, add_generation_prompt=True
                )
            )
        else:
            text = "".join(m.content for m in prompt.messages)
        ids = self.tokenizer(text + prompt.assistant_prefix, add_special_tokens=not chat)
        return [int(i) for i in ids["input_ids"]]

    def generate(self, requests: Sequence[GenerateRequest]) -> list[list[Completion]]:
        prompts = [{"prompt_token_ids": self.prompt_ids(r.prompt)} for r in requests]
        params = [
            self._vllm.SamplingParams(
                n=r.n,
                seed=r.seeds[0] if r.seeds else None,
                temperature=r.params.temperature,
                top_p=r.params.top_p,
                max_tokens=r.params.max_tokens,
            )
            for r in requests
        ]
        outputs = self.llm.generate(prompts, params)
        results = []
        for request, output in zip(requests, outputs, strict=True):
            choices = sorted(output.outputs, key=lambda o: o.index)
            if len(choices) != request.n:
                raise RuntimeError(f"vllm returned {len(choices)} of {request.n} samples")
            results.append([Completion(c.text, len(c.token_ids)) for c in choices])
        return results

    def score(self, requests: Sequence[ScoreRequest]) -> list[CandidateScores]:
        prompts: list[dict[str, Any]] = []
        spans: list[tuple[int, int]] = []  # (first scored position, length) per candidate
        for request in requests:
            head = self.prompt_ids(request.prompt)
            for candidate in request.candidates:
                text = candidate if request.until is None else candidate + request.until
                tail = [int(t) for t in self.tokenizer(text, add_special_tokens=False)["input_ids"]]
                ids = [*head, *tail, *([self.end_id] if request.until is None else [])]
                prompts.append({"prompt_token_ids": ids})
                spans.append((len(head), len(ids)))
        params = self._vllm.SamplingParams(max_tokens=1, prompt_logprobs=0)
        outputs = self.llm.generate(prompts, params) if prompts else []
        values = iter(
            _prompt_logprob(output, prompt["prompt_token_ids"], start)
            for output, prompt, (start, _) in zip(outputs, prompts, spans, strict=True)
        )
        return [
            CandidateScores(tuple(next(values) for _ in request.candidates), exact=True)
            for request in requests
        ]


def _prompt_logprob(output: Any, ids: Sequence[int], start: int) -> float:
    """Sum of log P(ids[j] | ids[:j]) for j >= start, from vLLM's ``prompt_logprobs`` (a list
    with one entry per prompt token, None for the first, each a dict token id -> Logprob
    that always holds the prompt's own token)."""
    entries = output.prompt_logprobs
    if entries is None or len(entries) != len(ids):
        raise RuntimeError("vllm returned no prompt log-probabilities for prompt_logprobs=0")
    total = 0.0
    for j in range(start, len(ids)):
        entry = entries[j]
        if entry is None or ids[j] not in entry:
            return -math.inf
        total += float(entry[ids[j]].logprob)
    return total
