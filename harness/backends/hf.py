"""``hf``: a transformers causal LM, run in process, sharing the prompt across samples.

``--model hf:PATH`` loads a local model directory (``hf:ORG/NAME`` only from the local
Hugging Face cache: no downloads unless ``allow_download=true``); ``--model hf:smollm2``
and ``hf:gemma3`` convert the embedded GGUF (SmolLM2-135M-Instruct, Gemma 3 270M) once
into the randbench cache (:mod:`randbench.harness.hf_convert`) and reuse it.

Both capabilities encode and run the prompt ONCE per request and reuse its KV cache:

- ``generate``: the prompt's cache is repeated over a batch of samples, which are drawn
  token by token here (temperature, top-p, greedy at temperature 0). Each sample has
  its own ``torch.Generator`` seeded with its seed and consumes one uniform per token,
  so a seed gives the same completion whatever the batching.
- ``score``: log P(candidate, end of turn or the task's delimiter | prompt) for every
  candidate, in one forward per chunk of ``batch_size`` right-padded candidates over the
  repeated prompt cache.

Model args: ``dtype`` (float32 | float64 | bfloat16 | float16; default float32), ``chat_template``
(default: true when the tokenizer has one; false concatenates the messages' text, for
base models), ``device`` (cpu | cuda | auto; default cpu), ``batch_size`` (rows per
forward, default 64), ``allow_download`` (default false).

torch and transformers are imported inside the backend, never at module import.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

from randbench.harness.adapters import (
    CARD,
    apply_adapter,
    base_name,
    card_digest,
    checkpoint_identity,
    is_adapter_dir,
    read_card,
)
from randbench.harness.backends.base import Backend, Capability, ModelSpec, register_backend
from randbench.harness.requests import (
    CandidateScores,
    Completion,
    GenerateRequest,
    Prompt,
    SamplingParams,
    ScoreRequest,
)

DTYPES = ("float32", "float64", "bfloat16", "float16")
DEFAULT_BATCH = 64
PROBE = "\x00randbench-probe\x00"
"""A reply text used to find what the chat template writes after an assistant turn."""


class HubDownloadError(FileNotFoundError):
    """A model name that is neither a local directory nor in the local Hugging Face cache."""


@register_backend("hf")
class HFBackend(Backend):
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {Capability.GENERATE, Capability.SCORE}
    )

    def __init__(self, spec: ModelSpec) -> None:
        super().__init__(spec)
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.torch = torch
        args = dict(spec.args)
        unknown = set(args) - {"dtype", "chat_template", "device", "batch_size", "allow_download"}
        if unknown:
            raise ValueError(
                f"hf: unknown model args {sorted(unknown)}; known: dtype, chat_template, "
                "device, batch_size, allow_download"
            )
        dtype = str(args.get("dtype", "float32"))
        if dtype not in DTYPES:
            raise ValueError(f"hf: dtype must be one of {', '.join(DTYPES)}, got {dtype!r}")
        self.batch_size = int(args.get("batch_size", DEFAULT_BATCH))
        if self.batch_size < 1:
            raise ValueError("hf: batch_size must be at least 1")
        self.device = _device(torch, str(args.get("device", "cpu")))

        self.source, self.path, local_only = self._locate(spec.name, args)
        self.card = read_card(self.path) if self.path and (self.path / CARD).is_file() else None
        weights_source = self.source
        if self.path and is_adapter_dir(self.path):
            if self.card is None:
                raise ValueError(
                    f"hf: {self.path} is a LoRA adapter without a {CARD} naming its base model"
                )
            weights_source, _, local_only = self._locate(base_name(self.card), args)
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(self.source, local_files_only=local_only)
            self.model = AutoModelForCausalLM.from_pretrained(
                weights_source, dtype=getattr(torch, dtype), local_files_only=local_only
            )
        except OSError as error:
            if self.path is None:
                raise HubDownloadError(
                    f"hf: {spec.name!r} is not a local model directory and is not in the local "
                    "Hugging Face cache; downloads are off (offline). Pass a directory "
                    "(--model hf:PATH), download it first (hf download NAME), or add "
                    f"--model-args allow_download=true. ({error})"
                ) from None
            raise
        if self.path and is_adapter_dir(self.path):
            self.model = apply_adapter(self.path, self.model)
        self.model.to(self.device).eval()  # type: ignore[arg-type]

        has_template = bool(getattr(self.tokenizer, "chat_template", None))
        self.chat = bool(args.get("chat_template", has_template))
        if self.chat and not has_template:
            raise ValueError(f"hf: {spec.name!r} has no chat template; use chat_template=false")
        self.end_id = self._end_of_turn()
        self.stop_ids = self._stop_ids()
        self._fingerprint = self._hash_files()

    # ---------------------------------------------------------------- loading

    @staticmethod
    def _locate(name: str, args: dict[str, Any]) -> tuple[str, Path | None, bool]:
        """(what to pass to from_pretrained, local directory or None, local_files_only)."""
        if not name:
            raise ValueError("hf: name a model: --model hf:PATH or --model hf:smollm2")
        path = Path(name).expanduser()
        if path.is_dir():
            return str(path), path, True
        from randbench.harness.hf_convert import EMBEDDED, ensure_embedded

        if name in EMBEDDED:
            converted = ensure_embedded(name)
            return str(converted), converted, True
        if path.exists() or name.startswith((".", "/", "~")):
            raise FileNotFoundError(f"hf: {name!r} is not a model directory")
        return name, None, not bool(args.get("allow_download", False))

    def _end_of_turn(self) -> int:
        """The token that ends an answer: what the chat template writes right after an
        assistant reply (``<|im_end|>`` for SmolLM2), or EOS without a template."""
        tok = self.tokenizer
        if self.chat:
            messages = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": PROBE}]
            text = str(tok.apply_chat_template(messages, tokenize=False))
            after = text.split(PROBE, 1)[1] if PROBE in text else ""
            ids = tok(after, add_special_tokens=False)["input_ids"] if after.strip() else []
            if ids:
                return int(ids[0])
        if tok.eos_token_id is None:
            raise ValueError(f"hf: {self.spec.name!r} has no EOS token to end an answer with")
        return int(tok.eos_token_id)

    def _stop_ids(self) -> frozenset[int]:
        stops = {self.end_id}
        for eos in (self.tokenizer.eos_token_id, self.model.generation_config.eos_token_id):
            if isinstance(eos, int):
                stops.add(eos)
            elif eos is not None:
                stops.update(int(e) for e in eos)
        return frozenset(stops)

    def _hash_files(self) -> str:
        """A hash of the model's config and weight files (names and sizes), or of the
        conversion marker, so a different checkpoint is a different cache key."""
        digest = hashlib.sha256()
        if self.path is None:
            digest.update(self.source.encode())
            digest.update(str(getattr(self.model.config, "_commit_hash", "")).encode())
            return digest.hexdigest()[:16]
        from randbench.harness.hf_convert import MARKER

        marker = self.path / MARKER
        digest.update(card_digest(self.path))
        if marker.is_file():
            digest.update(marker.read_bytes())
        else:
            config = self.path / "config.json"
            if config.is_file():
                digest.update(config.read_bytes())
            for file in sorted(self.path.iterdir()):
                if file.suffix in (".safetensors", ".bin", ".pt", ".json", ".model"):
                    digest.update(f"{file.name}:{file.stat().st_size}".encode())
        return digest.hexdigest()[:16]

    def identity(self) -> dict[str, Any]:
        base = super().identity()
        base["model_hash"] = self._fingerprint
        base["chat_template"] = self.chat
        if self.card is not None:
            base["checkpoint"] = checkpoint_identity(self.card)
        if self.chat:
            template = str(self.tokenizer.chat_template)
            base["chat_template_sha"] = hashlib.sha256(template.encode()).hexdigest()[:16]
        return base

    # ---------------------------------------------------------------- prompts

    def prompt_text(self, prompt: Prompt) -> str:
        """The chat template (with the generation prompt) then the assistant prefix; without a
        template, the messages' text concatenated, then the prefix."""
        if not self.chat or prompt.plain:
            return "".join(m.content for m in prompt.messages) + prompt.assistant_prefix
        messages = [{"role": m.role, "content": m.content} for m in prompt.messages]
        text = self.tokenizer.apply_chat_template(
            messages, tokenize=False, add_generation_prompt=True
        )
        return str(text) + prompt.assistant_prefix

    def prompt_ids(self, prompt: Prompt) -> list[int]:
        text = self.prompt_text(prompt)
        # A chat template writes its own special tokens; a base model gets BOS if it uses one.
        plain = not self.chat or prompt.plain
        ids = self.tokenizer(text, add_special_tokens=plain)["input_ids"]
        if not ids:
            raise ValueError("hf: the prompt encodes to no tokens")
        return [int(i) for i in ids]

    def _prefill(self, ids: Sequence[int]) -> tuple[Any, Any]:
        """Run the prompt once: its KV cache and the logits of the token after it (1, V)."""
        torch = self.torch
        input_ids = torch.tensor([list(ids)], device=self.device)
        out = self.model(input_ids=input_ids, use_cache=True)
        return out.past_key_values, _widen(out.logits[:, -1, :])

    @staticmethod
    def _repeat(cache: Any, rows: int) -> Any:
        expanded = copy.deepcopy(cache)
        expanded.batch_repeat_interleave(rows)
        return expanded

    # ---------------------------------------------------------------- generate

    def generate(self, requests: Sequence[GenerateRequest]) -> list[list[Completion]]:
        with self.torch.inference_mode():
            return [self._generate_one(r) for r in requests]

    def _generate_one(self, request: GenerateRequest) -> list[Completion]:
        if request.n == 0:
            return []
        ids = self.prompt_ids(request.prompt)
        cache, logits = self._prefill(ids)
        out: list[Completion] = []
        for start in range(0, request.n, self.batch_size):
            seeds = request.seeds[start : start + self.batch_size]
            out.extend(self._sample_batch(cache, logits, len(ids), seeds, request.params))
        return out

    def _sample_batch(
        self, prompt_cache: Any, prompt_logits: Any, length: int, seeds: Sequence[int],
        params: SamplingParams,
    ) -> list[Completion]:  # fmt: skip
        torch = self.torch
        rows = len(seeds)
        cache = self._repeat(prompt_cache, rows)
        logits = prompt_logits.expand(rows, -1)
        generators = [torch.Generator().manual_seed(int(seed)) for seed in seeds]
        tokens: list[list[int]] = [[] for _ in range(rows)]
        active = list(range(rows))  # rows still generating; a finished row leaves the batch
        stop = torch.tensor(sorted(self.stop_ids), device=self.device)
        for step in range(params.max_tokens):
            chosen = self._choose(logits, [generators[row] for row in active], params)
            ended = torch.isin(chosen, stop).tolist()
            for row, token, ends in zip(active, chosen.tolist(), ended, strict=True):
                if not ends:
                    tokens[row].append(int(token))
            if all(ended) or step + 1 == params.max_tokens:
                break
            if any(ended):
                keep = [i for i, ends in enumerate(ended) if not ends]
                active = [active[i] for i in keep]
                cache.batch_select_indices(torch.tensor(keep, device=self.device))
                chosen = chosen[keep]
            mask = torch.ones(len(active), length + step + 1, dtype=torch.long, device=self.device)
            result = self.model(
                input_ids=chosen[:, None], past_key_values=cache, attention_mask=mask,
                use_cache=True,
            )  # fmt: skip
            cache = result.past_key_values
            logits = _widen(result.logits[:, -1, :])
        return [
            Completion(str(self.tokenizer.decode(t, skip_special_tokens=True)), tokens=len(t))
            for t in tokens
        ]

    def _choose(self, logits: Any, generators: Sequence[Any], params: SamplingParams) -> Any:
        """One token per row. Every row draws exactly one uniform from its own generator per
        step (greedy rows too), so a sample never depends on the other rows of its batch."""
        torch = self.torch
        uniforms = torch.stack(
            [torch.rand((), generator=g, dtype=torch.float64) for g in generators]
        ).to(self.device)
        if params.temperature <= 0:
            return logits.argmax(dim=-1)
        probs = torch.softmax(logits.double() / params.temperature, dim=-1)
        order = None
        if params.top_p < 1.0:  # the nucleus needs the tokens by probability; else any order
            probs, order = probs.sort(dim=-1, descending=True)
            keep = probs.cumsum(dim=-1) - probs < params.top_p
            keep[:, 0] = True
            probs = probs * keep
        cumulative = probs.cumsum(dim=-1)
        target = uniforms * cumulative[:, -1]
        index = torch.searchsorted(cumulative, target[:, None], right=True)
        index = index.clamp(max=cumulative.shape[-1] - 1)
        return (index if order is None else order.gather(-1, index)).squeeze(-1)

    # ---------------------------------------------------------------- score

    def score(self, requests: Sequence[ScoreRequest]) -> list[CandidateScores]:
        with self.torch.inference_mode():
            return [self._score_one(r) for r in requests]

    def candidate_ids(self, candidate: str, until: str | None = None) -> list[int]:
        """A candidate's tokens, then the end-of-turn token (so "1" excludes "10"); with a
        delimiter, the tokens of candidate + delimiter as the model would write them."""
        if until is not None:
            ids = self.tokenizer(candidate + until, add_special_tokens=False)["input_ids"]
            return [int(i) for i in ids]
        ids = self.tokenizer(candidate, add_special_tokens=False)["input_ids"]
        return [int(i) for i in ids] + [self.end_id]

    def _score_one(self, request: ScoreRequest) -> CandidateScores:
        torch = self.torch
        if not request.candidates:
            return CandidateScores(logprobs=(), exact=True)
        ids = self.prompt_ids(request.prompt)
        cache, first = self._prefill(ids)
        first_logprobs = torch.log_softmax(first, dim=-1)  # (1, V)
        sequences = [self.candidate_ids(c, request.until) for c in request.candidates]
        totals: list[float] = []
        for start in range(0, len(sequences), self.batch_size):
            chunk = sequences[start : start + self.batch_size]
            cache_rows = self._repeat(cache, len(chunk))
            picked = candidate_token_logprobs(
                self.model, cache_rows, first_logprobs, len(ids), chunk, self.end_id
            )
            totals.extend(float(x) for x in picked.double().sum(dim=1).tolist())
        return CandidateScores(logprobs=tuple(totals), exact=True)


def candidate_token_logprobs(
    model: Any, cache: Any, first_logprobs: Any, prompt_len: int,
    sequences: Sequence[Sequence[int]], pad_id: int,
) -> Any:  # fmt: skip
    """log P of each candidate token given the prompt and the tokens before it: a (rows,
    width) tensor, zero past each candidate's end. ``cache`` is the prompt's KV cache
    already repeated to one row per candidate, ``first_logprobs`` (1, V) the prompt's
    next-token log-probabilities. Differentiable: fine-tuning uses it with gradients."""
    import torch

    device = first_logprobs.device
    rows, width = len(sequences), max(len(s) for s in sequences)
    tokens = torch.full((rows, width), pad_id, dtype=torch.long)
    valid = torch.zeros((rows, width), dtype=torch.long)
    for row, seq in enumerate(sequences):
        tokens[row, : len(seq)] = torch.tensor(list(seq))
        valid[row, : len(seq)] = 1
    tokens, valid = tokens.to(device), valid.to(device)
    mask = torch.cat([torch.ones(rows, prompt_len, dtype=torch.long, device=device), valid], 1)
    logprobs = first_logprobs.expand(rows, -1)[:, None, :]
    if width > 1:
        out = model(
            input_ids=tokens[:, :-1], past_key_values=cache, attention_mask=mask[:, :-1],
            use_cache=True,
        )  # fmt: skip
        rest = torch.log_softmax(_widen(out.logits), dim=-1)
        logprobs = torch.cat([logprobs, rest], dim=1)
    picked = logprobs.gather(-1, tokens[:, :, None]).squeeze(-1)
    return torch.where(valid.bool(), picked, torch.zeros_like(picked))


def _widen(logits: Any) -> Any:
    """Logits in at least float32 (float64 stays float64)."""
    return logits if logits.dtype.itemsize >= 4 else logits.float()


def _device(torch: Any, wanted: str) -> str:
    if wanted == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if wanted.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError("hf: device=cuda but torch sees no CUDA device")
    return wanted
