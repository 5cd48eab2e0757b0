"""``lmeval``: any model type of lm-evaluation-harness's registry, driven through its ``LM`` API.

``--model lmeval:hf --model-args pretrained=PATH,dtype=float32`` (or ``lmeval:vllm``,
``lmeval:local-completions``, ...): the name after the colon is the lm-eval model type and
the model args are its ``--model_args``, given to ``create_from_arg_string`` unchanged
(``chat_template=false`` is randbench's own: raw text, for base models).

The peer's pitfalls (``../shared/PEERS.md``) are avoided here:

- Sampling calls ``generate_until`` once per sample, with the sample's own seed set first
  (Python, NumPy and torch generators, and the seed an API model puts in its payload),
  so neither a fixed seed nor its ``repeats`` collapse N samples into one.
- The LM is used directly, never through lm-eval's ``CachingLM``, whose cache key ignores
  the sample and would return one answer N times; randbench's own cache keeps every sample.
- Scoring calls ``loglikelihood`` with the chat-rendered prompt as context and each candidate
  followed by the end-of-turn text as continuation, all candidates in one call.

lm-eval and its model's engine are imported only when this backend is chosen.
"""

from __future__ import annotations

import random
import sys
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

INSTALL = "pip install 'randbench[lmeval]'"
PROBE = "\x00randbench-probe\x00"


@register_backend("lmeval")
class LMEvalBackend(Backend):
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {Capability.GENERATE, Capability.SCORE}
    )

    def __init__(self, spec: ModelSpec) -> None:
        super().__init__(spec)
        if not spec.name:
            raise ValueError("backend 'lmeval' needs an lm-eval model type: --model lmeval:hf")
        try:
            from lm_eval.api.instance import Instance
            from lm_eval.api.registry import get_model
        except ImportError as error:
            raise ImportError(f"backend 'lmeval' needs lm-evaluation-harness: {INSTALL}") from error
        self._instance = Instance
        args = dict(spec.args)
        chat = args.pop("chat_template", True)
        if not isinstance(chat, bool):
            raise ValueError(f"model arg chat_template={chat!r}: expected true or false")
        try:
            model_class = get_model(spec.name)
        except (KeyError, ValueError) as error:
            raise ValueError(
                f"lmeval: unknown lm-eval model type {spec.name!r} ({error})"
            ) from None
        arg_string = ",".join(f"{k}={_text(v)}" for k, v in args.items())
        self.lm = model_class.create_from_arg_string(arg_string, {})
        self.chat = chat and self._has_template()
        if chat and not self.chat:
            raise ValueError(
                f"lmeval: the {spec.name!r} model has no chat template; use chat_template=false"
            )
        self.end_text = self._end_of_turn()

    # -- prompts --------------------------------------------------------------------------

    def _has_template(self) -> bool:
        if not hasattr(self.lm, "apply_chat_template"):
            return False
        try:
            self.lm.apply_chat_template([{"role": "user", "content": "hi"}])
        except Exception:
            return False
        tokenizer = getattr(self.lm, "tokenizer", None)
        return tokenizer is None or bool(getattr(tokenizer, "chat_template", None))

    def context(self, prompt: Prompt) -> str:
        messages = [{"role": m.role, "content": m.content} for m in prompt.messages]
        if not self.chat or prompt.plain:
            return "".join(m["content"] for m in messages) + prompt.assistant_prefix
        return str(self.lm.apply_chat_template(messages)) + prompt.assistant_prefix

    def _end_of_turn(self) -> str:
        """The text of the token that ends an answer: the first token of what the chat
        template writes after an assistant message, else the EOS token."""
        tokenizer = getattr(self.lm, "tokenizer", None)
        if self.chat:
            messages = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": PROBE}]
            text = str(self.lm.apply_chat_template(messages, add_generation_prompt=False))
            after = text.split(PROBE, 1)[1] if PROBE in text else ""
            if after and tokenizer is not None:
                ids = tokenizer(after, add_special_tokens=False)["input_ids"]
                return str(tokenizer.decode(ids[:1])) if ids else ""
            if after.strip():
                return after.strip()
        eos = getattr(tokenizer, "eos_token", None)
        if not eos:
            raise ValueError(f"lmeval: {self.spec.name!r} has no end-of-turn or EOS token")
        return str(eos)

    # -- the two capabilities -------------------------------------------------------------

    def generate(self, requests: Sequence[GenerateRequest]) -> list[list[Completion]]:
        return [self._generate_one(request) for request in requests]

    def _generate_one(self, request: GenerateRequest) -> list[Completion]:
        params = request.params
        gen_kwargs: dict[str, Any] = {
            "until": [self.end_text] if self.end_text else [],
            "max_gen_toks": params.max_tokens,
            "do_sample": params.temperature > 0,
        }
        if params.temperature > 0:
            gen_kwargs.update(temperature=params.temperature, top_p=params.top_p)
        context = self.context(request.prompt)
        out = []
        for seed in request.seeds:
            self._seed(seed)
            instance = self._instance(
                request_type="generate_until", doc={}, arguments=(context, dict(gen_kwargs)), idx=0
            )
            (text,) = self.lm.generate_until([instance], disable_tqdm=True)
            out.append(Completion(str(text)))
        return out

    def _seed(self, seed: int) -> None:
        """The sample's seed everywhere an lm-eval model draws from: Python's, NumPy's and
        torch's global generators, and the seed an API model sends in its payload."""
        random.seed(seed)
        if "numpy" in sys.modules:
            sys.modules["numpy"].random.seed(seed)
        if "torch" in sys.modules:
            sys.modules["torch"].manual_seed(seed)
        if hasattr(self.lm, "_seed"):
            self.lm._seed = seed

    def score(self, requests: Sequence[ScoreRequest]) -> list[CandidateScores]:
        pairs: list[tuple[str, str]] = []
        for request in requests:
            context = self.context(request.prompt)
            stripped = context.rstrip()
            # lm-eval moves a context's trailing whitespace into the continuation, so it
            # scores P(whitespace + candidate | stripped context); P(whitespace | stripped
            # context), asked first, is taken off again.
            pairs.append((stripped, context[len(stripped) :]))
            after = self.end_text if request.until is None else request.until
            pairs += [(context, candidate + after) for candidate in request.candidates]
        instances = [
            self._instance(request_type="loglikelihood", doc={}, arguments=pair, idx=0)
            for pair in pairs
            if pair[1]
        ]
        found = iter(self.lm.loglikelihood(instances, disable_tqdm=True) if instances else [])
        values = iter(float(next(found)[0]) if pair[1] else 0.0 for pair in pairs)
        out = []
        for request in requests:
            whitespace = next(values)
            logprobs = tuple(next(values) - whitespace for _ in request.candidates)
            out.append(CandidateScores(logprobs, exact=True))
        return out


def _text(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)
