"""``openai``: OpenAI's API and every OpenAI-compatible server (vLLM serve, llama.cpp's
server, llama-cpp-python's, SGLang, Ollama), through the official ``openai`` SDK.

``--model openai:MODEL --model-args base_url=http://127.0.0.1:8000/v1,...`` (the key, if
the server wants one, comes from ``$OPENAI_API_KEY`` or the variable named by
``api_key_env``; a server at ``base_url`` without one gets a placeholder).

Sampling: chat completions (``api=chat``, the default) or completions (``api=completions``,
the prompt rendered here with the model's chat template read from ``template_from=``). Several
samples share one call through ``n`` where the server honours it; a server that returns
fewer choices than asked (llama.cpp's servers return one) is detected on the first such
call and the missing samples are asked for one call each from then on. Every call carries
its first sample's own seed (``seed=false`` omits seeds), so a seed-honouring server never
returns N copies of one answer.

Scoring (``logprob`` method), by ``logprobs=``:

- ``echo`` (exact): the completions endpoint with ``echo`` and ``logprobs`` returns the
  log-probability of every prompt token. Each candidate is sent as prompt + candidate +
  end-of-turn token, and its score is the sum over the tokens after the prompt's own
  (those of the prompt alone, asked once per request), so P("1") excludes "10". Needs
  ``template_from=`` (to render the prompt and know the end-of-turn token). A candidate that
  the server tokenizes together with the prompt's last characters is scored on that joint
  tokenization and the result is labelled inexact.
- ``top`` (approximate): the first answer token's ``top_logprobs`` (at most 20). A token
  that spells a candidate, or begins exactly one candidate, counts for it; the result is
  labelled approximate, and the probability mass the candidates cover is recorded.
- ``auto`` (default): ``echo`` when ``template_from`` is given and the server returns prompt
  log-probabilities (checked once), else ``top``.

Model args other than those below and the shared ones (:mod:`randbench.harness.api.backend`)
are refused; ``extra_NAME=VALUE`` sends ``NAME`` in the request body (server-specific
sampling settings such as llama.cpp's ``top_k``, ``min_p`` or ``repeat_penalty``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from randbench.harness.api.backend import ApiBackend, SampleJob
from randbench.harness.api.logprobs import (
    Echo,
    EchoUnsupportedError,
    approximate_scores,
    assemble_echo,
    echo_from_completion,
)
from randbench.harness.api.pool import Job, RequestFailedError
from randbench.harness.api.secrets import api_key
from randbench.harness.api.templates import ModelText, load_model_text
from randbench.harness.backends.base import Capability, ModelSpec, register_backend
from randbench.harness.requests import (
    CandidateScores,
    Completion,
    GenerateRequest,
    Prompt,
    ScoreRequest,
)
from randbench.tasks import Task

log = logging.getLogger("randbench.api")
INSTALL = "pip install 'randbench[openai]'"
DEFAULT_MAX_N = 8
MAX_TOP_LOGPROBS = 20
PLACEHOLDER_KEY = "no-key"
"""Sent to a ``base_url`` server when no key is set (OpenAI-compatible servers want one)."""
EXTRA_PREFIX = "extra_"
ECHO_ATTEMPTS = 8
"""Echo calls per candidate before giving up when the generated token has no text."""


@register_backend("openai")
class OpenAIBackend(ApiBackend):
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {Capability.GENERATE, Capability.SCORE}
    )
    default_key_env = "OPENAI_API_KEY"
    arg_prefixes = (EXTRA_PREFIX,)
    model_args: ClassVar[dict[str, str]] = {
        "base_url": "the server, e.g. http://127.0.0.1:8000/v1 (default: OpenAI's API)",
        "api": "chat (default) or completions",
        "n": "samples per call: auto (default; up to 8 while the server honours n) or a number",
        "seed": "send every call its sample's seed (default true)",
        "logprobs": "scoring: auto (default), echo (exact) or top (approximate)",
        "top_logprobs": "first-token alternatives asked for in top mode (default 20, at most 20)",
        "template_from": "GGUF file or Hugging Face folder with the served model's chat template "
        "(api=completions and exact scoring render prompts with it)",
        "chat_template": "true (default) or false: raw text, for base models",
        "length_field": "max_tokens (default) or max_completion_tokens",
    }

    def __init__(self, spec: ModelSpec) -> None:
        super().__init__(spec)
        args = dict(spec.args)
        self.base_url = _optional_str(args, "base_url")
        self.api = _choice(args, "api", ("chat", "completions"))
        self.max_n = _n_arg(args.get("n", "auto"))
        self.n_honoured: bool | None = None if self.max_n > 1 else False
        self.send_seed = _flag(args, "seed", True)
        self.logprobs_mode = _choice(args, "logprobs", ("auto", "echo", "top"))
        self.top_k = int(args.get("top_logprobs", MAX_TOP_LOGPROBS))
        if not 1 <= self.top_k <= MAX_TOP_LOGPROBS:
            raise ValueError(f"top_logprobs must be 1..{MAX_TOP_LOGPROBS}, got {self.top_k}")
        self.token_field = _choice(args, "length_field", ("max_tokens", "max_completion_tokens"))
        self.extra = {
            k[len(EXTRA_PREFIX) :]: v for k, v in args.items() if k.startswith(EXTRA_PREFIX)
        }
        self.text = _model_text(args)
        if self.api == "completions" and self.text is None:
            raise ValueError(
                "openai: api=completions renders prompts here: pass template_from=PATH (the served "
                "model's GGUF file or Hugging Face folder), or chat_template=false for raw text"
            )
        if self.logprobs_mode == "echo" and "template_from" not in args:
            raise ValueError(
                "openai: logprobs=echo renders the prompt and appends the end-of-turn token: "
                "it needs template_from=PATH (the served model's GGUF file or Hugging Face folder)"
            )
        self.echo_supported: bool | None = None
        self._key = api_key(self.key_env, "openai", required=self.base_url is None)
        try:
            import openai
        except ImportError as error:
            raise ImportError(f"backend 'openai' needs the openai SDK: {INSTALL}") from error
        self._openai = openai

    def open_client(self) -> Any:
        return self._openai.AsyncOpenAI(
            api_key=self._key or PLACEHOLDER_KEY,
            base_url=self.base_url,
            max_retries=0,
            timeout=self.policy.timeout,
        )

    # -- prompts --------------------------------------------------------------------------

    def bind(self, tasks: Sequence[Task]) -> None:
        if self.api != "chat":
            return
        prefilled = [t.name for t in tasks if t.assistant_prefix or t.completion]
        if prefilled:
            raise ValueError(
                f"openai: {len(prefilled)} selected task(s) pre-fill the assistant's answer "
                f"({', '.join(prefilled[:5])}), which a chat API cannot continue; use "
                "api=completions with template_from=PATH, or leave those tasks out"
            )

    @staticmethod
    def messages(prompt: Prompt) -> list[dict[str, str]]:
        if prompt.assistant_prefix:
            raise ValueError(
                "openai: the chat API cannot continue a pre-filled answer; use api=completions"
            )
        return [{"role": m.role, "content": m.content} for m in prompt.messages]

    def rendered(self, prompt: Prompt) -> str:
        assert self.text is not None
        return self.text.render(prompt)

    # -- sampling -------------------------------------------------------------------------

    def sample_jobs(self, index: int, request: GenerateRequest) -> list[SampleJob]:
        group = self.max_n if self.n_honoured is not False else 1
        jobs = []
        for start in range(0, request.n, group):
            positions = list(range(start, min(start + group, request.n)))
            jobs.append(self._sample_job(index, request, positions))
        return jobs

    def follow_up(self, job: SampleJob, got: int, request: GenerateRequest) -> list[SampleJob]:
        """The server returned fewer choices than ``n``: one call per missing sample."""
        return [self._sample_job(job.request, request, [p]) for p in job.positions[got:]]

    def _sample_job(self, index: int, request: GenerateRequest, positions: list[int]) -> SampleJob:
        seed = request.seeds[positions[0]]
        n = len(positions)
        return self.sample_job(index, request, positions, lambda: self._sample(request, n, seed))

    def _common(self, n: int, seed: int | None, max_tokens: int) -> dict[str, Any]:
        body: dict[str, Any] = {"model": self.spec.name, self.token_field: max_tokens}
        if n > 1:
            body["n"] = n
        if self.send_seed and seed is not None:
            body["seed"] = seed
        if self.extra:
            body["extra_body"] = dict(self.extra)
        return body

    async def _sample(self, request: GenerateRequest, n: int, seed: int) -> list[Completion]:
        params = request.params
        body = self._common(n, seed, params.max_tokens)
        body.update(temperature=params.temperature, top_p=params.top_p)
        if self.api == "chat":
            response = await self.client.chat.completions.create(
                messages=self.messages(request.prompt),
                **body,
            )
            choices = sorted(response.choices, key=lambda c: c.index)
            texts = [c.message.content or "" for c in choices]
        else:
            completion = await self.client.completions.create(
                prompt=self.rendered(request.prompt), **body
            )
            texts = [c.text for c in sorted(completion.choices, key=lambda c: c.index)]
            response = completion
        self._learn_n(n, len(texts))
        usage = getattr(response, "usage", None)
        tokens = getattr(usage, "completion_tokens", None) if len(texts) == 1 else None
        return [Completion(text, tokens) for text in texts]

    def _learn_n(self, asked: int, got: int) -> None:
        if asked <= 1 or self.n_honoured is not None:
            return
        self.n_honoured = got >= asked
        if not self.n_honoured:
            log.warning(
                "openai: the server returned %d choice(s) for n=%d; asking one call per "
                "sample from now on",
                got,
                asked,
            )

    # -- scoring --------------------------------------------------------------------------

    def score(self, requests: Sequence[ScoreRequest]) -> list[CandidateScores]:
        if not requests:
            return []
        if self._scoring_mode(requests[0]) == "top":
            return super().score(requests)
        return self._score_echo(requests)

    def _scoring_mode(self, first: ScoreRequest) -> str:
        if self.logprobs_mode == "top" or "template_from" not in self.spec.args:
            return "top"
        if self.echo_supported is None:
            probe = Job(f"checking echo on {first.task!r}", lambda: self._echo(first.prompt, ""))
            try:
                self.run([probe], lambda *_: None)
                self.echo_supported = True
            except RequestFailedError as error:
                if self.logprobs_mode == "echo" or error.failure.verdict.retry:
                    raise
                self.echo_supported = False
                log.warning(
                    "openai: the server returned no prompt log-probabilities (%s); scoring "
                    "with first-token top_logprobs, labelled approximate",
                    error,
                )
        return "echo" if self.echo_supported else "top"

    async def _echo(self, prompt: Prompt, continuation: str) -> Echo:
        """The echoed tokens of ``prompt + continuation``, without the one generated token.

        Servers must generate at least one token. Which entries of the returned token list are
        the prompt's is read from the text: the generated token is the list's last entry when
        its text is what the call appended to the prompt. A token with no text (a special token
        such as llama.cpp's ``<|im_start|>``) is counted in ``usage`` but may be left out of the
        list (llama-cpp-python does), so such a call cannot be aligned and is asked again with
        another seed, up to ``ECHO_ATTEMPTS`` times.
        """
        sent = self.rendered(prompt) + continuation
        for attempt in range(ECHO_ATTEMPTS):
            body = self._common(1, attempt, 1)
            completion = await self.client.completions.create(
                prompt=sent, echo=True, logprobs=1, temperature=1.0, **body
            )
            echo = echo_from_completion(completion, sent)
            if echo is not None:
                return echo
            log.debug("openai: echo of %r not aligned (attempt %d)", sent[-40:], attempt + 1)
        raise EchoUnsupportedError(
            f"openai: {ECHO_ATTEMPTS} echo calls in a row generated a token with no text, so the "
            "prompt's own log-probabilities could not be told apart from it (use logprobs=top)"
        )

    def _score_echo(self, requests: Sequence[ScoreRequest]) -> list[CandidateScores]:
        assert self.text is not None
        end = self.text.end_of_answer()
        echoes: dict[tuple[int, int], Echo] = {}
        jobs: list[Job[Echo]] = []
        for r, request in enumerate(requests):
            after = end if request.until is None else request.until
            texts = ["", *(c + after for c in request.candidates)]
            for c, text in enumerate(texts):
                label = f"scoring {request.task!r} candidate {c - 1}" if c else "prompt"
                jobs.append(_EchoJob(label, self._echo_caller(request.prompt, text), r, c))

        def done(job: Job[Echo], echo: Echo) -> None:
            assert isinstance(job, _EchoJob)
            echoes[job.request, job.candidate] = echo

        self.run(jobs, done)
        return [
            assemble_echo(echoes[r, 0], [echoes[r, c + 1] for c in range(len(request.candidates))])
            for r, request in enumerate(requests)
        ]

    def _echo_caller(self, prompt: Prompt, text: str) -> Any:
        return lambda: self._echo(prompt, text)

    async def score_call(self, request: ScoreRequest) -> CandidateScores:
        """Approximate scoring from the first answer token's top_logprobs."""
        body = self._common(1, None, 1)
        if self.api == "chat":
            response = await self.client.chat.completions.create(
                messages=self.messages(request.prompt),
                logprobs=True,
                top_logprobs=self.top_k,
                temperature=1.0,
                **body,
            )
            content = response.choices[0].logprobs.content if response.choices[0].logprobs else None
            if not content:
                raise ValueError("openai: the server returned no logprobs for logprobs=true")
            entries = [(t.token, t.logprob) for t in content[0].top_logprobs]
        else:
            completion = await self.client.completions.create(
                prompt=self.rendered(request.prompt),
                logprobs=self.top_k,
                temperature=1.0,
                **body,
            )
            logprobs = completion.choices[0].logprobs
            tops = getattr(logprobs, "top_logprobs", None)
            if not tops or not tops[0]:
                raise ValueError("openai: the server returned no top_logprobs")
            entries = list(tops[0].items())
        return approximate_scores(request.candidates, entries, self.top_k)


@dataclass
class _EchoJob(Job[Echo]):
    request: int = 0
    candidate: int = 0


# -- model args ---------------------------------------------------------------------------


def _optional_str(args: dict[str, Any], name: str) -> str | None:
    value = args.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise ValueError(f"model arg {name}={value!r}: expected text")
    return value


def _choice(args: dict[str, Any], name: str, allowed: tuple[str, ...]) -> str:
    value = args.get(name, allowed[0])
    if value not in allowed:
        raise ValueError(f"model arg {name}={value!r}: expected one of {', '.join(allowed)}")
    return str(value)


def _flag(args: dict[str, Any], name: str, default: bool) -> bool:
    value = args.get(name, default)
    if not isinstance(value, bool):
        raise ValueError(f"model arg {name}={value!r}: expected true or false")
    return value


def _n_arg(value: Any) -> int:
    if value == "auto":
        return DEFAULT_MAX_N
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"model arg n={value!r}: expected auto or a positive whole number")
    return value


def _model_text(args: dict[str, Any]) -> ModelText | None:
    use_template = _flag(args, "chat_template", True)
    source = _optional_str(args, "template_from")
    if source is None:
        return None if use_template else ModelText(None)
    return load_model_text(source, chat_template=use_template)
