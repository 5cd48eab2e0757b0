"""``llamacpp``: a local GGUF model through llama-cpp-python.

``--model llamacpp:PATH.gguf --model-args n_ctx=4096,n_threads=4,n_batch=512,chat_template=true``

Prompt sharing (DESIGN.md): each request's prompt is rendered, tokenized and
evaluated once, into sequence 0 of the KV cache. Every sample (or scored candidate)
runs in a sequence of its own that shares the prompt's cache cells
(``llama_memory_seq_cp``, no copy), so only the sample's own tokens are evaluated;
the prompt's last logits are kept, so every sample's first token is drawn without
touching the model. ``parallel=K`` decodes K samples (default 64) or scored candidates
(default 1) per call; ``parallel=1`` keeps every result independent of what else is in
the batch, at about half the sampling speed on 2 CPU cores.

Two more kinds of sharing, both exact. Samples that have written the same tokens so far
are one branch: one sequence, one decode and one next-token distribution serve them all,
and each draws its next token with its own generator (a model that answers "4" forty
times in fifty decodes the "4" once). With ``parallel`` > 1, a prompt that opens like the
previous request's keeps those cache cells and evaluates only the rest (the in-context
tasks of a family share their opening).

Sampling is done here, in numpy, from the full distribution: temperature, then
top-p, then one draw from a generator seeded with the sample's own seed — no
hidden top-k / min-p truncation (llama.cpp's default sampler chain has both), and
the same seed and prompt always give the same completion (with ``parallel=1``).

Scoring: log P(candidate, end of turn | prompt), or log P(candidate + delimiter | prompt)
when the task declares one (``ScoreRequest.until``). The candidate is tokenized on its
own and appended to the prompt's tokens: the prompt ends with the assistant turn's
opening (or the prefix), so these are the tokens the model emits when it writes
the candidate — tokenizing prompt and candidate jointly would let a merge across
the boundary (e.g. a prefix ending in a space) produce tokens the model never
samples at that point. The end of turn is the token the chat template writes
after an answer (``<|im_end|>`` for ChatML); without a chat template, EOS.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from randbench.harness.backends.base import Backend, Capability, ModelSpec, register_backend
from randbench.harness.backends.chat import end_of_turn_text, render_prompt
from randbench.harness.dequantize import dequantized_gguf
from randbench.harness.models import file_sha256
from randbench.harness.requests import (
    CandidateScores,
    Completion,
    GenerateRequest,
    Prompt,
    SamplingParams,
    ScoreRequest,
)

INSTALL = "pip install 'randbench[llamacpp]'"
MODEL_ARGS: dict[str, str] = {
    "n_ctx": "KV cache cells: the prompt plus the samples in flight (default 4096)",
    "n_threads": "CPU threads (default: all cores)",
    "n_batch": "tokens per decode call (default 512)",
    "chat_template": "apply the GGUF's chat template (default true; false: raw text, base models)",
    "dequantize": "run a float32 copy of the GGUF's weights, made once in the model cache: the "
    "same values, faster on CPU for small models (default: true for smollm2, else false)",
    "parallel": "samples (default 64) and scored candidates (default 1) decoded side by "
    "side; 1 makes every result bit-for-bit independent of the batch (a resumed run then "
    "redraws exactly what an uninterrupted one would have), more is faster, but batched "
    "arithmetic moves logits slightly with the batch's composition",
}

MAX_PARALLEL = 256
DEFAULT_N_CTX = 4096
DEFAULT_SAMPLING_PARALLEL = 64
"""Samples in flight unless ``parallel`` says otherwise. On 2 CPU cores SmolLM2's float32
copy samples the library's single-answer tasks (50 samples, up to 64 tokens each) at 364
tokens/s with 64 in flight against 317 with 32: a decode call costs about 15 ms for reading
the weights before the first token, so the fuller the call the better. Scoring keeps one
candidate at a time by default: its log-probabilities are then exact to the bit."""
NUCLEUS_HEAD = 256
"""Top-p sorts only the 256 most probable tokens when they hold the nucleus."""
DRAW_BLOCK = 256
"""Tokens per block of the cumulative mass a draw searches (see :class:`NextToken`)."""

_SHA256: dict[tuple[str, int, int], str] = {}


def cached_sha256(path: Path) -> str:
    """sha256 of a model file, computed once per (path, size, mtime) in this process."""
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if key not in _SHA256:
        _SHA256[key] = file_sha256(path)
    return _SHA256[key]


def log_softmax(logits: np.ndarray) -> np.ndarray:
    z = logits.astype(np.float64)
    z -= z.max(axis=-1, keepdims=True)
    return np.asarray(z - np.log(np.exp(z).sum(axis=-1, keepdims=True)), dtype=np.float64)


class NextToken:
    """The next-token distribution at one prefix: softmax(logits / temperature), restricted
    to the top-p nucleus (the smallest set of most probable tokens whose mass reaches top_p);
    temperature 0 is argmax. Computed once per prefix and drawn from by every sample that
    has written that prefix, each with its own generator."""

    def __init__(self, logits: np.ndarray, temperature: float, top_p: float) -> None:
        self.argmax: int | None = None
        self.weights = self.block_cdf = np.empty(0)
        if temperature <= 0:
            self.argmax = int(np.argmax(logits))
            return
        # exp in float32 is 14x faster than in float64 here; sums are taken in float64.
        z = np.asarray(logits, dtype=np.float32) / np.float32(temperature)
        p = np.exp(z - z.max()).astype(np.float64)
        if top_p < 1.0:
            total = p.sum()
            # Sort only the head of the distribution when it already holds the nucleus.
            head = min(NUCLEUS_HEAD, len(p))
            order = np.argpartition(-p, head - 1)[:head] if head < len(p) else np.arange(len(p))
            if p[order].sum() < top_p * total:
                order = np.arange(len(p))
            order = order[np.lexsort((order, -p[order]))]
            cumulative = np.cumsum(p[order])
            keep = order[: int(np.searchsorted(cumulative, top_p * total)) + 1]
            nucleus = np.zeros_like(p)
            nucleus[keep] = p[keep]
            p = nucleus
        self.weights = p
        # Cumulative mass by blocks; a draw sums within its one block (a full cumulative sum
        # of the vocabulary per prefix was a tenth of the sampling time).
        self.block_cdf = np.cumsum(np.add.reduceat(p, np.arange(0, len(p), DRAW_BLOCK)))

    def draw(self, rng: np.random.Generator) -> int:
        """Inverse-CDF draw: the first token whose cumulative mass exceeds u * total."""
        if self.argmax is not None:
            return self.argmax
        target = rng.random() * self.block_cdf[-1]
        block = min(
            int(np.searchsorted(self.block_cdf, target, side="right")), len(self.block_cdf) - 1
        )
        start = block * DRAW_BLOCK
        within = np.cumsum(self.weights[start : start + DRAW_BLOCK])
        below = self.block_cdf[block - 1] if block else 0.0
        index = start + min(
            int(np.searchsorted(within, target - below, side="right")), len(within) - 1
        )
        while self.weights[index] == 0 and index > 0:  # rounding at a block's edge
            index -= 1
        return index


@dataclass
class _Branch:
    """Samples of one request that have written the same tokens so far. One sequence of the
    KV cache holds the prompt and these tokens, and one row of logits serves them all: a
    sample costs a decode only where it first differs from every other sample in flight."""

    tokens: list[int]
    samples: list[int]
    sequence: int
    logits: np.ndarray


def _int_arg(args: dict[str, Any], name: str, default: int) -> int:
    value = args.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"model arg {name}={value!r}: expected a positive integer")
    return value


@register_backend("llamacpp")
class LlamaCppBackend(Backend):
    """A GGUF model run in-process by llama-cpp-python (CPU, or GPU if the wheel has it)."""

    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {Capability.GENERATE, Capability.SCORE}
    )
    dequantize_by_default: ClassVar[bool] = False

    def __init__(self, spec: ModelSpec) -> None:
        super().__init__(spec)
        args = dict(spec.args)
        unknown = sorted(set(args) - set(MODEL_ARGS))
        if unknown:
            known = "; ".join(f"{k}: {v}" for k, v in MODEL_ARGS.items())
            raise ValueError(
                f"backend {spec.backend!r}: unknown model arg(s) {', '.join(unknown)}; "
                f"known: {known}"
            )
        self.n_ctx = _int_arg(args, "n_ctx", DEFAULT_N_CTX)
        self.n_threads = _int_arg(args, "n_threads", os.cpu_count() or 1)
        self.n_batch = _int_arg(args, "n_batch", 512)
        given = "parallel" in args
        self.parallel = min(_int_arg(args, "parallel", DEFAULT_SAMPLING_PARALLEL), MAX_PARALLEL)
        self.score_parallel = self.parallel if given else 1
        use_template = args.get("chat_template", True)
        if not isinstance(use_template, bool):
            raise ValueError(f"model arg chat_template={use_template!r}: expected true or false")
        dequantize = args.get("dequantize", self.dequantize_by_default)
        if not isinstance(dequantize, bool):
            raise ValueError(f"model arg dequantize={dequantize!r}: expected true or false")
        self.source = self.model_path()
        """The GGUF named on the command line: the model's identity."""
        try:
            import llama_cpp
        except ImportError as error:
            raise ImportError(f"backend 'llamacpp' needs llama-cpp-python: {INSTALL}") from error
        self.dequantized = dequantize
        self.path = (
            dequantized_gguf(self.source, cached_sha256(self.source)) if dequantize else self.source
        )
        """The GGUF llama.cpp runs: the source, or its float32 copy."""
        self._llama_cpp = llama_cpp
        # The Llama object gives the weights, vocabulary and metadata; decoding runs in a
        # multi-sequence context of our own (_open_context), so its own context stays tiny.
        self.llama = llama_cpp.Llama(
            str(self.path), n_ctx=32, n_batch=32, n_threads=self.n_threads, verbose=False
        )
        self.n_vocab = self.llama.n_vocab()
        self._vocab = llama_cpp.llama_model_get_vocab(self.llama.model)
        self.bos = self.llama.token_bos()
        self.eos = self.llama.token_eos()
        self.bos_text = self._piece(self.bos)
        self.eos_text = self._piece(self.eos)
        self.template: str | None = None
        if use_template:
            self.template = self.llama.metadata.get("tokenizer.chat_template")
            if not self.template:
                raise ValueError(
                    f"{self.source.name} has no chat template in its metadata; "
                    "for a base model pass --model-args chat_template=false"
                )
        self.end_of_turn = self._end_of_turn_token()
        self._open_context()
        self.tokens_evaluated = 0
        """Tokens run through the model so far (prompts + samples + candidates)."""
        self.prompt_evaluations = 0
        self._prompt: list[int] = []
        """The tokens in sequence 0."""

    # -- setup ---------------------------------------------------------------------

    def model_path(self) -> Path:
        if not self.spec.name:
            raise ValueError("backend 'llamacpp' needs a GGUF file: --model llamacpp:PATH.gguf")
        path = Path(self.spec.name).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"backend 'llamacpp': no GGUF file at {path}")
        return path

    def model_name(self) -> str:
        return self.source.name

    def identity(self) -> dict[str, Any]:
        identity = super().identity()
        identity.update(name=self.model_name(), sha256=cached_sha256(self.source))
        if self.dequantized:  # the same weights, other arithmetic: other cache entries
            identity["weights"] = "float32"
        return identity

    def _piece(self, token: int) -> str:
        if token < 0:
            return ""
        return self.llama.detokenize([token], special=True).decode("utf-8", errors="replace")

    def is_end(self, token: int) -> bool:
        return bool(self._llama_cpp.llama_vocab_is_eog(self._vocab, token))

    def _end_of_turn_token(self) -> int:
        """The token that ends an answer: the first token of the text the chat template writes
        after an assistant message, when it is an end-of-generation token; else EOS."""
        if self.template is not None:
            text = end_of_turn_text(self.template, bos_token=self.bos_text, eos_token=self.eos_text)
            tokens = self.llama.tokenize(text.encode(), add_bos=False, special=True)
            if tokens and self.is_end(tokens[0]):
                return tokens[0]
        if self.eos < 0:
            raise ValueError(f"{self.source.name} has neither an end-of-turn nor an EOS token")
        return self.eos

    # -- text <-> tokens -----------------------------------------------------------

    def render(self, prompt: Prompt) -> str:
        return render_prompt(
            prompt, self.template, bos_token=self.bos_text, eos_token=self.eos_text
        )

    def prompt_tokens(self, prompt: Prompt) -> list[int]:
        text = self.render(prompt)
        # add_bos=True lets the vocabulary decide (llama.cpp adds BOS only where the model
        # wants one); a template that writes BOS itself must not get a second one.
        templated = self.template is not None and not prompt.plain
        tokens = self.llama.tokenize(text.encode(), add_bos=True, special=templated)
        if len(tokens) >= 2 and tokens[0] == tokens[1] == self.bos:
            tokens = tokens[1:]
        if not tokens:
            tokens = [self.bos if self.bos >= 0 else self.eos]
        if len(tokens) >= self.n_ctx:
            raise ValueError(
                f"prompt of {len(tokens)} tokens does not fit n_ctx={self.n_ctx}; "
                "raise it with --model-args n_ctx=..."
            )
        return tokens

    def candidate_tokens(self, candidate: str, until: str | None = None) -> list[int]:
        """The candidate's tokens then the end of turn; with a delimiter, the tokens of
        candidate + delimiter as the model would write them."""
        if until is not None:
            return self.llama.tokenize((candidate + until).encode(), add_bos=False, special=False)
        tokens = self.llama.tokenize(candidate.encode(), add_bos=False, special=False)
        return [*tokens, self.end_of_turn]

    # -- the model -----------------------------------------------------------------

    def _open_context(self) -> None:
        """A context of its own with ``parallel`` sequences over one unified KV cache: the
        prompt lives in sequence 0 and is shared (not copied) by sequences 1..parallel, each
        of which decodes one sample or candidate; one decode call advances all of them."""
        internals = self._llama_cpp._internals
        # Llama's own settings (no flash attention, rope/yarn from the model), resized.
        template = self.llama.context_params
        params = type(template).from_buffer_copy(template)
        params.n_ctx = self.n_ctx
        params.n_batch = params.n_ubatch = self.n_batch
        params.n_seq_max = self.parallel + 1
        params.kv_unified = True
        params.n_threads = params.n_threads_batch = self.n_threads
        self._ctx = internals.LlamaContext(model=self.llama._model, params=params, verbose=False)
        self._memory = self._ctx.memory
        self._batch = internals.LlamaBatch(
            n_tokens=self.n_batch, embd=0, n_seq_max=1, verbose=False
        )

    def _run(self, entries: Sequence[tuple[int, int, int, bool]]) -> np.ndarray:
        """Decode ``(token, position, sequence, wants_logits)`` entries, ``n_batch`` at a time;
        the logits of the entries that want them, in order, as rows."""
        lib, batch = self._llama_cpp, self._batch.batch
        rows = []
        for start in range(0, len(entries), self.n_batch):
            chunk = entries[start : start + self.n_batch]
            batch.n_tokens = len(chunk)
            for i, (token, position, sequence, wants) in enumerate(chunk):
                batch.token[i] = token
                batch.pos[i] = position
                batch.seq_id[i][0] = sequence
                batch.n_seq_id[i] = 1
                batch.logits[i] = wants
            code = lib.llama_decode(self._ctx.ctx, batch)
            if code != 0:
                raise RuntimeError(
                    f"llama_decode returned {code} (KV cache full? raise n_ctx={self.n_ctx})"
                )
            n_out = sum(1 for entry in chunk if entry[3])
            if n_out:
                logits = np.ctypeslib.as_array(
                    lib.llama_get_logits(self._ctx.ctx), shape=(n_out * self.n_vocab,)
                )
                rows.append(logits.reshape(n_out, self.n_vocab).copy())
        self.tokens_evaluated += len(entries)
        return np.concatenate(rows) if rows else np.empty((0, self.n_vocab), np.float32)

    def _fork(self, sequence: int, cells: int, source: int = 0) -> None:
        """Empty ``sequence`` and let it share the first ``cells`` cache entries of ``source``
        (the prompt's sequence unless told)."""
        lib = self._llama_cpp
        lib.llama_memory_seq_rm(self._memory, sequence, -1, -1)
        lib.llama_memory_seq_cp(self._memory, source, sequence, 0, cells)

    def _prefill(self, prompt: Prompt, reuse: bool) -> tuple[int, np.ndarray]:
        """Evaluate the prompt into sequence 0; its last logits. With ``reuse``, the cells of
        the previous prompt are kept as far as the two agree (the in-context tasks of one
        family open alike), and only the rest is evaluated. The logits then match a whole
        evaluation up to rounding (up to 3e-3 nats on SmolLM2, where the float16 cache cells
        amplify it), so a run's draws depend on the order of its requests; ``parallel=1``
        does not reuse."""
        tokens = self.prompt_tokens(prompt)
        keep = 0
        if reuse:
            while keep < min(len(tokens), len(self._prompt)) and tokens[keep] == self._prompt[keep]:
                keep += 1
            keep = min(keep, len(tokens) - 1)  # the last token is evaluated for its logits
        if keep:
            self._llama_cpp.llama_memory_seq_rm(self._memory, -1, keep, -1)
        else:
            self._llama_cpp.llama_memory_clear(self._memory, True)
        self._prompt = []
        last = len(tokens) - 1
        logits = self._run([(tokens[i], i, 0, i == last) for i in range(keep, len(tokens))])[-1]
        self._prompt = tokens
        self.prompt_evaluations += 1
        return len(tokens), logits

    def generate(self, requests: Sequence[GenerateRequest]) -> list[list[Completion]]:
        return [self._generate_one(request) for request in requests]

    def _generate_one(self, request: GenerateRequest) -> list[Completion]:
        params = request.params
        n_prompt, prompt_logits = self._prefill(request.prompt, reuse=self.parallel > 1)
        budget = max(0, min(params.max_tokens, self.n_ctx - n_prompt))
        # Samples in flight at once: each may hold ``budget`` cache cells beside the prompt's.
        width = max(1, min(self.parallel, request.n, (self.n_ctx - n_prompt) // max(budget, 1)))
        rngs = [np.random.default_rng(seed) for seed in request.seeds]
        written: list[list[int]] = [[] for _ in request.seeds]
        pending = list(range(request.n))[::-1]
        free = list(range(width, 0, -1))  # sequences 1..width; the prompt is sequence 0
        branches: list[_Branch] = []
        while pending or branches:
            admitted: list[int] = []
            in_flight = sum(len(branch.samples) for branch in branches)
            while pending and in_flight + len(admitted) < width:
                admitted.append(pending.pop())
            if admitted:
                branches.append(_Branch([], admitted, 0, prompt_logits))
            grown = [
                (branch, self._grow(branch, rngs, written, params, budget)) for branch in branches
            ]
            for branch, children in grown:
                if branch.sequence and not children:
                    free.append(branch.sequence)
            branches = []
            for branch, children in grown:
                for k, child in enumerate(children):
                    if k == 0 and branch.sequence:
                        child.sequence = branch.sequence  # the branch's cells, extended
                    else:
                        child.sequence = free.pop()
                        self._fork(child.sequence, n_prompt + len(branch.tokens), branch.sequence)
                branches += children
            if branches:
                entries = [
                    (b.tokens[-1], n_prompt + len(b.tokens) - 1, b.sequence, True) for b in branches
                ]
                for branch, row in zip(branches, self._run(entries), strict=True):
                    branch.logits = row
        return [
            Completion(self.llama.detokenize(new).decode("utf-8", errors="replace"), len(new))
            for new in written
        ]

    def _grow(
        self,
        branch: _Branch,
        rngs: list[np.random.Generator],
        written: list[list[int]],
        params: SamplingParams,
        budget: int,
    ) -> list[_Branch]:
        """Every sample of ``branch`` draws its next token; a sample that wrote the end of turn
        or reached ``budget`` is done (into ``written``). The rest, by token: the branches to
        decode next, without a sequence yet."""
        if len(branch.tokens) >= budget:
            for sample in branch.samples:
                written[sample] = branch.tokens
            return []
        distribution = NextToken(branch.logits, params.temperature, params.top_p)
        by_token: dict[int, list[int]] = {}
        for sample in branch.samples:
            token = distribution.draw(rngs[sample])
            if self.is_end(token):
                written[sample] = branch.tokens
            elif len(branch.tokens) + 1 >= budget:
                written[sample] = [*branch.tokens, token]
            else:
                by_token.setdefault(token, []).append(sample)
        return [_Branch([*branch.tokens, t], s, -1, branch.logits) for t, s in by_token.items()]

    def score(self, requests: Sequence[ScoreRequest]) -> list[CandidateScores]:
        return [self._score_one(request) for request in requests]

    def _score_one(self, request: ScoreRequest) -> CandidateScores:
        n_prompt, prompt_logits = self._prefill(request.prompt, reuse=self.score_parallel > 1)
        first = log_softmax(prompt_logits)
        sequences = [self.candidate_tokens(c, request.until) for c in request.candidates]
        logprobs = [float(first[s[0]]) for s in sequences]
        # Candidates side by side, each in its own sequence over the shared prompt.
        todo = [i for i, s in enumerate(sequences) if len(s) > 1 and math.isfinite(logprobs[i])]
        while todo:
            group: list[int] = []
            cells = n_prompt
            while todo and len(group) < self.score_parallel:
                length = len(sequences[todo[0]]) - 1
                if group and cells + length > self.n_ctx:
                    break
                group.append(todo.pop(0))
                cells += length
            entries = []
            for sequence, index in enumerate(group, start=1):
                self._fork(sequence, n_prompt)
                body = sequences[index][:-1]
                entries += [(t, n_prompt + k, sequence, True) for k, t in enumerate(body)]
            rows = log_softmax(self._run(entries))
            offset = 0
            for index in group:
                following = sequences[index][1:]
                span = rows[offset : offset + len(following)]
                logprobs[index] += float(span[np.arange(len(following)), following].sum())
                offset += len(following)
        return CandidateScores(tuple(logprobs), exact=True)
