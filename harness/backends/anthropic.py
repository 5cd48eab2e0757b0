"""``anthropic``: Claude through the Messages API (the official ``anthropic`` SDK), sampling only.

``--model anthropic:MODEL`` with the key in ``$ANTHROPIC_API_KEY`` (or the variable named by
``api_key_env``); ``base_url`` points at another host speaking the same API.

Sampling settings are sent only where they differ from the API's defaults (temperature and
top_p 1.0), in the request body. The Messages API has neither ``n`` nor a seed, so every
sample is its own call (run ``--concurrency`` at a time by the shared request pool). A
task's pre-filled answer is sent as a final assistant message, which the API continues. It
returns no log-probabilities: the ``logprob`` method is refused before any call is made.
"""

from __future__ import annotations

from typing import Any, ClassVar

from randbench.harness.api.backend import ApiBackend, SampleJob
from randbench.harness.api.secrets import api_key
from randbench.harness.backends.base import (
    Capability,
    CapabilityError,
    ModelSpec,
    register_backend,
)
from randbench.harness.requests import Completion, GenerateRequest, Prompt, SamplingParams

INSTALL = "pip install 'randbench[anthropic]'"


@register_backend("anthropic")
class AnthropicBackend(ApiBackend):
    capabilities: ClassVar[frozenset[Capability]] = frozenset({Capability.GENERATE})
    default_key_env = "ANTHROPIC_API_KEY"
    model_args: ClassVar[dict[str, str]] = {
        "base_url": "another host speaking the Messages API (default: Anthropic's)",
    }

    def __init__(self, spec: ModelSpec) -> None:
        super().__init__(spec)
        base_url = spec.args.get("base_url")
        if base_url is not None and (not isinstance(base_url, str) or not base_url):
            raise ValueError(f"model arg base_url={base_url!r}: expected a URL")
        self.base_url = base_url
        self._key = api_key(self.key_env, "anthropic")
        try:
            import anthropic
        except ImportError as error:
            raise ImportError(f"backend 'anthropic' needs the anthropic SDK: {INSTALL}") from error
        self._anthropic = anthropic

    def open_client(self) -> Any:
        return self._anthropic.AsyncAnthropic(
            api_key=self._key, base_url=self.base_url, max_retries=0, timeout=self.policy.timeout
        )

    def require(self, capability: Capability, why: str) -> None:
        if capability is Capability.SCORE:
            raise CapabilityError(
                f"{why} needs log-probabilities, and Anthropic's Messages API returns none: "
                "backend 'anthropic' can only sample (use --method direct)"
            )
        super().require(capability, why)

    def sample_jobs(self, index: int, request: GenerateRequest) -> list[SampleJob]:
        return [
            self.sample_job(index, request, [i], self._caller(request)) for i in range(request.n)
        ]

    def _caller(self, request: GenerateRequest) -> Any:
        return lambda: self._sample(request)

    async def _sample(self, request: GenerateRequest) -> list[Completion]:
        params = request.params
        system, messages = messages_body(request.prompt)
        body: dict[str, Any] = {
            "model": self.spec.name,
            "max_tokens": params.max_tokens,
            "messages": messages,
        }
        if system:
            body["system"] = system
        sampling = sampling_body(params)
        if sampling:
            body["extra_body"] = sampling
        message = await self.client.messages.create(**body)
        text = "".join(
            block.text for block in message.content if getattr(block, "type", "") == "text"
        )
        usage = getattr(message, "usage", None)
        return [Completion(text, getattr(usage, "output_tokens", None))]


def sampling_body(params: SamplingParams) -> dict[str, float]:
    """Temperature and top_p, only where they differ from the API's defaults (1.0): SDK 1.0
    dropped them as keyword arguments (they travel in the body, as the SDK's migration guide
    says), and recent models refuse any other temperature than 1.0, so randbench's default
    sampling sends neither."""
    body: dict[str, float] = {}
    if params.temperature != 1.0:
        body["temperature"] = params.temperature
    if params.top_p < 1.0:
        body["top_p"] = params.top_p
    return body


def messages_body(prompt: Prompt) -> tuple[str, list[dict[str, str]]]:
    """(system text, messages): system messages go to the top-level ``system`` field, the
    pre-filled answer becomes a final assistant message."""
    if prompt.plain:
        raise ValueError(
            "anthropic: a completion-style prompt (plain text to continue, no conversation) "
            "needs a text-completion backend"
        )
    system = "\n\n".join(m.content for m in prompt.messages if m.role == "system")
    messages = [
        {"role": m.role, "content": m.content} for m in prompt.messages if m.role != "system"
    ]
    if prompt.assistant_prefix:
        # The API refuses a final assistant message that ends in whitespace.
        messages.append({"role": "assistant", "content": prompt.assistant_prefix.rstrip()})
    return system, messages
