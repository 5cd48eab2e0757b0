"""``llamacpp``: a local GGUF model through llama-cpp-python.

``--model llamacpp:PATH.gguf --model-args n_ctx=2048,n_threads=4,n_batch=512,chat_template=true``

Prompt sharing (DESIGN.md): each request's prompt is rendered, tokenized and
evaluated once, into sequence 0 of the KV cache. Every sample (or scored candidate)
runs in a sequence of its own that shares the prompt's cache cells
(``llama_memory_seq_cp``, no copy), so only the sample's own tokens are evaluated;
the prompt's last logits are kept, so every sample's first token is drawn without
touching the model. ``parallel=K`` decodes K samples (default 32) or scored candidates
(default 1) per call; ``parallel=1`` keeps every result independent of what else is in
the batch, at about half the sampling speed on 2 CPU cores.

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
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from randbench.harness.backends.base import Backend, Capability, ModelSpec, register_backend
from randbench.harness.backends.chat import end_of_turn_text, render_prompt
from randbench.harness.models import file_sha256
from randbench.harness.requests import (
    CandidateScores,
    Completion,
    GenerateRequest,
    Prompt,
    ScoreRequest,
)

INSTALL = "pip install 'randbench[llamacpp]'"
MODEL_ARGS: dict[str, str] = {
    "n_ctx": "context length in tokens (default 2048)",
    "n_threads": "CPU threads (default: all cores)",
    "n_batch": "tokens per decode call (default 512)",
    "chat_template": "apply the GGUF's chat template (default true; false: raw text, base models)",
    "parallel": "samples (default 32) and scored candidates (default 1) decoded side by "
    "side; 1 makes every result bit-for-bit independent of the batch (a resumed run then "
    "redraws exactly what an uninterrupted one would have), more is faster, but batched "
    "arithmetic moves logits slightly with the batch's composition",
}

MAX_PARALLEL = 256
DEFAULT_SAMPLING_PARALLEL = 32
"""Samples decoded side by side unless ``parallel`` says otherwise: on 2 CPU cores SmolLM2
samples 2.1x faster than one at a time (245 vs 113 tokens/s; 20x when the cores are shared,
where llama.cpp's threads wait on each other); beyond ~16 it gains nothing there. Scoring
keeps one candidate at a time by default: its log-probabilities are then exact to the bit."""
NUCLEUS_HEAD = 256
"""Top-p sorts only the 256 most probable tokens when they hold the nucleus."""

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


def sample_token(
    logits: np.ndarray, rng: np.random.Generator, temperature: float, top_p: float
) -> int:
    """One token from softmax(logits / temperature), restricted to the top-p nucleus
    (the smallest set of most probable tokens whose mass reaches top_p). Temperature 0: argmax."""
    if temperature <= 0:
        return int(np.argmax(logits))
    z = logits.astype(np.float64) / temperature
    p = np.exp(z - z.max())
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
    cdf = np.cumsum(p)
    index = int(np.searchsorted(cdf, rng.random() * cdf[-1], side="right"))
    return min(index, len(p) - 1)


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
        self.n_ctx = _int_arg(args, "n_ctx", 2048)
        self.n_threads = _int_arg(args, "n_threads", os.cpu_count() or 1)
        self.n_batch = _int_arg(args, "n_batch", 512)
        given = "parallel" in args
        self.parallel = min(_int_arg(args, "parallel", DEFAULT_SAMPLING_PARALLEL), MAX_PARALLEL)
        self.score_parallel = self.parallel if given else 1
        use_template = args.get("chat_template", True)
        if not isinstance(use_template, bool):
            raise ValueError(f"model arg chat_template={use_template!r}: expected true or false")
        self.path = self.model_path()
        try:
            import llama_cpp
        except ImportError as error:
            raise ImportError(f"backend 'llamacpp' needs llama-cpp-python: {INSTALL}") from error
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
                    f"{self.path.name} has no chat template in its metadata; "
                    "for a base model pass --model-args chat_template=false"
                )
        self.end_of_turn = self._end_of_turn_token()
        self._open_context()
        self.tokens_evaluated = 0
        """Tokens run through the model so far (prompts + samples + candidates)."""
        self.prompt_evaluations = 0

    # -- setup ---------------------------------------------------------------------

    def model_path(self) -> Path:
        if not self.spec.name:
            raise ValueError("backend 'llamacpp' needs a GGUF file: --model llamacpp:PATH.gguf")
        path = Path(self.spec.name).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"backend 'llamacpp': no GGUF file at {path}")
        return path

    def model_name(self) -> str:
        return self.path.name

    def identity(self) -> dict[str, Any]:
        identity = super().identity()
        identity.update(name=self.model_name(), sha256=cached_sha256(self.path))
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
            raise ValueError(f"{self.path.name} has neither an end-of-turn nor an EOS token")
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

    def _fork(self, sequence: int, n_prompt: int) -> None:
        """Empty ``sequence`` and let it share the prompt's cache entries."""
        lib = self._llama_cpp
        lib.llama_memory_seq_rm(self._memory, sequence, -1, -1)
        lib.llama_memory_seq_cp(self._memory, 0, sequence, 0, n_prompt)

    def _prefill(self, prompt: Prompt) -> tuple[int, np.ndarray]:
        """Evaluate the prompt once, into sequence 0; its last logits."""
        tokens = self.prompt_tokens(prompt)
        self._llama_cpp.llama_memory_clear(self._memory, True)
        last = len(tokens) - 1
        logits = self._run([(t, i, 0, i == last) for i, t in enumerate(tokens)])[-1]
        self.prompt_evaluations += 1
        return len(tokens), logits

    def generate(self, requests: Sequence[GenerateRequest]) -> list[list[Completion]]:
        return [self._generate_one(request) for request in requests]

    def _generate_one(self, request: GenerateRequest) -> list[Completion]:
        params = request.params
        n_prompt, prompt_logits = self._prefill(request.prompt)
        budget = max(0, min(params.max_tokens, self.n_ctx - n_prompt))
        # Samples in flight at once: each may hold ``budget`` cache cells beside the prompt's.
        width = max(1, min(self.parallel, request.n, (self.n_ctx - n_prompt) // max(budget, 1)))
        tokens: list[list[int]] = [[] for _ in request.seeds]
        rngs = [np.random.default_rng(seed) for seed in request.seeds]
        pending = list(range(request.n))[::-1]
        active: dict[int, int] = {}  # sequence -> sample
        logits: dict[int, np.ndarray] = {}  # sample -> its next-token logits
        while pending or active:
            for sequence in range(1, width + 1):
                if sequence not in active and pending:
                    sample = pending.pop()
                    self._fork(sequence, n_prompt)
                    active[sequence] = sample
                    logits[sample] = prompt_logits
            entries = []
            for sequence, sample in list(active.items()):
                new = tokens[sample]
                token = (
                    sample_token(logits.pop(sample), rngs[sample], params.temperature, params.top_p)
                    if len(new) < budget
                    else -1
                )
                if token < 0 or self.is_end(token):
                    del active[sequence]
                    continue
                new.append(token)
                if len(new) >= budget:
                    del active[sequence]
                    continue
                entries.append((token, n_prompt + len(new) - 1, sequence, True))
            if entries:
                rows = self._run(entries)
                for row, (_, _, sequence, _) in zip(rows, entries, strict=True):
                    logits[active[sequence]] = row
        return [
            Completion(self.llama.detokenize(new).decode("utf-8", errors="replace"), len(new))
            for new in tokens
        ]

    def score(self, requests: Sequence[ScoreRequest]) -> list[CandidateScores]:
        return [self._score_one(request) for request in requests]

    def _score_one(self, request: ScoreRequest) -> CandidateScores:
        n_prompt, prompt_logits = self._prefill(request.prompt)
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
