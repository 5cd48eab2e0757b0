"""A stand-in for vLLM's offline API, for tests only: no GPU or vLLM runs on randbench's test
machines. It implements the documented surface that randbench's ``vllm`` backend uses —
``LLM(model, **engine_args)`` (unknown engine arguments raise ``TypeError`` as vLLM's
``EngineArgs`` does), ``LLM.get_tokenizer()``, ``LLM.generate(prompts, sampling_params)``
with text or ``{"prompt_token_ids": [...]}`` prompts and one or a list of
``SamplingParams(n, temperature, top_p, max_tokens, seed, prompt_logprobs, ...)``, returning
``RequestOutput(prompt_token_ids, prompt_logprobs, outputs=[CompletionOutput(index, text,
token_ids, ...)])`` with ``Logprob(logprob, rank, decoded_token)`` entries — computed by a real
model (transformers, float32, CPU). It records what it was asked, for the tests to check.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ENGINE_ARGS = frozenset(
    {
        "tokenizer", "tensor_parallel_size", "pipeline_parallel_size", "data_parallel_size",
        "dtype", "seed", "gpu_memory_utilization", "max_model_len", "enable_prefix_caching",
        "quantization", "trust_remote_code", "enforce_eager", "max_num_seqs", "swap_space",
    }
)  # fmt: skip
INSTANCES: list[LLM] = []


@dataclass
class SamplingParams:
    n: int = 1
    temperature: float = 1.0
    top_p: float = 1.0
    max_tokens: int | None = 16
    seed: int | None = None
    prompt_logprobs: int | None = None
    logprobs: int | None = None
    stop: list[str] | None = None


@dataclass
class Logprob:
    logprob: float
    rank: int | None = None
    decoded_token: str | None = None


@dataclass
class CompletionOutput:
    index: int
    text: str
    token_ids: list[int]
    cumulative_logprob: float | None = None
    logprobs: Any = None
    finish_reason: str | None = None


@dataclass
class RequestOutput:
    request_id: str
    prompt: str | None
    prompt_token_ids: list[int]
    prompt_logprobs: list[dict[int, Logprob] | None] | None
    outputs: list[CompletionOutput]
    finished: bool = True


@dataclass
class Call:
    prompts: int
    params: list[SamplingParams]
    prefills: int = 0


@dataclass
class LLM:
    model: str
    engine_args: dict[str, Any] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)

    def __init__(self, model: str, **engine_args: Any) -> None:
        unknown = sorted(set(engine_args) - ENGINE_ARGS)
        if unknown:
            raise TypeError(
                f"EngineArgs.__init__() got an unexpected keyword argument {unknown[0]!r}"
            )
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.torch = torch
        self.model = model
        self.engine_args = dict(engine_args)
        self.calls = []
        self._tokenizer = AutoTokenizer.from_pretrained(model, local_files_only=True)
        self._model = AutoModelForCausalLM.from_pretrained(
            model, dtype=torch.float32, local_files_only=True
        ).eval()
        INSTANCES.append(self)

    def get_tokenizer(self) -> Any:
        return self._tokenizer

    def generate(
        self, prompts: Any, sampling_params: Any = None, use_tqdm: bool = True
    ) -> list[RequestOutput]:
        if isinstance(prompts, str | dict):
            prompts = [prompts]
        params = sampling_params if sampling_params is not None else SamplingParams()
        if not isinstance(params, list):
            params = [params] * len(prompts)
        call = Call(len(prompts), list(params))
        self.calls.append(call)
        outputs = []
        with self.torch.inference_mode():
            for i, (prompt, p) in enumerate(zip(prompts, params, strict=True)):
                ids = self._ids(prompt)
                call.prefills += 1
                outputs.append(
                    RequestOutput(
                        str(i), prompt if isinstance(prompt, str) else None, ids,
                        self._prompt_logprobs(ids) if p.prompt_logprobs is not None else None,
                        self._sample(ids, p),
                    )
                )  # fmt: skip
        return outputs

    def _ids(self, prompt: Any) -> list[int]:
        if isinstance(prompt, dict):
            return [int(t) for t in prompt["prompt_token_ids"]]
        return [int(t) for t in self._tokenizer(prompt)["input_ids"]]

    def _prompt_logprobs(self, ids: list[int]) -> list[dict[int, Logprob] | None]:
        torch = self.torch
        logits = self._model(input_ids=torch.tensor([ids])).logits[0].double()
        logprobs = torch.log_softmax(logits, dim=-1)
        entries: list[dict[int, Logprob] | None] = [None]
        for j in range(1, len(ids)):
            row = logprobs[j - 1]
            rank = int((row > row[ids[j]]).sum()) + 1
            entries.append({ids[j]: Logprob(float(row[ids[j]]), rank)})
        return entries

    def _sample(self, ids: list[int], p: SamplingParams) -> list[CompletionOutput]:
        """n samples from one prefill (``num_return_sequences``), seeded by the request."""
        torch = self.torch
        if p.seed is not None:
            torch.manual_seed(p.seed)
        greedy = p.temperature <= 0
        out = self._model.generate(
            input_ids=torch.tensor([ids]), attention_mask=torch.ones(1, len(ids), dtype=torch.long),
            do_sample=not greedy, temperature=None if greedy else p.temperature,
            top_p=None if greedy else p.top_p, top_k=None, max_new_tokens=p.max_tokens or 16,
            num_return_sequences=p.n, pad_token_id=self._tokenizer.eos_token_id,
        )  # fmt: skip
        results = []
        eos = self._model.generation_config.eos_token_id
        stops = {eos} if isinstance(eos, int) else set(eos or [])
        for index, row in enumerate(out[:, len(ids) :].tolist()):
            tokens = []
            for token in row:
                if token in stops or token == self._tokenizer.eos_token_id:
                    break
                tokens.append(int(token))
            text = self._tokenizer.decode(tokens, skip_special_tokens=True)
            results.append(CompletionOutput(index, text, tokens, finish_reason="stop"))
        return results
