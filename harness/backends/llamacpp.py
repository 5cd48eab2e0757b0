"""``llamacpp``: a local GGUF model through llama-cpp-python.

``--model llamacpp:PATH.gguf --model-args n_ctx=4096,n_threads=4,n_batch=512,chat_template=true``

Prompt sharing (DESIGN.md): each request's prompt is rendered, tokenized and
evaluated once, into sequence 0 of the KV cache. Every sample (or scored candidate)
runs in a sequence of its own that starts from the prompt's cells, so only the sample's
own tokens are evaluated; the prompt's last logits are kept, so every sample's first token
is drawn without touching the model. Short answers (under 16 tokens) and scoring use one
shared cache, where a sample shares the prompt's cells without copying them; long answers
use one small cache stream per sample, a copy of the prompt's, so that a token attends
over its own sample's cells only (:mod:`.llama_context` has the measurements).
``parallel=K`` decodes K samples (default 64) or scored candidates (default 1) per call;
``parallel=1`` keeps every result independent of what else is in the batch, at about half
the sampling speed on 2 CPU cores.

Three more kinds of sharing (:mod:`.llama_sampling`). Samples that have written the same
tokens so far are one branch, decoded once. The samples of consecutive requests are
decoded side by side (continuous batching), so decode calls stay full. And with
``parallel`` > 1, a prompt that opens like the previous request's keeps those cache cells
and evaluates only the rest (the in-context tasks of a family share their opening).

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
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from randbench.cpus import usable_cpus
from randbench.harness.backends.base import (
    Backend,
    Capability,
    CompletionSink,
    ModelSpec,
    register_backend,
)
from randbench.harness.backends.chat import RAW_SEPARATOR, end_of_turn_text, render_prompt
from randbench.harness.backends.llama_context import DecodeContext, Entry
from randbench.harness.backends.llama_sampling import Sampler
from randbench.harness.dequantize import dequantized_gguf
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
    "n_ctx": "cells of the shared KV cache (scoring, short answers): the prompt plus the samples "
    "in flight (default 4096)",
    "stream_cells": "cells of the per-sample KV streams for answers of 16 tokens or more, all "
    "streams together (default 16384); fewer streams, fewer samples in flight",
    "n_threads": "CPU threads (default: all cores)",
    "n_batch": "tokens per decode call (default 512)",
    "chat_template": "apply the GGUF's chat template (default true; false: raw text, base models)",
    "plain_format": "how a prompt is written without a chat template: blank_lines (the "
    "messages joined by blank lines; the default, but for gemma3) or qa ('Question: ...' "
    "then 'Answer:', the answer ending at its first line break; gemma3's default)",
    "dequantize": "run a float32 copy of the GGUF's weights, made once in the model cache: the "
    "same values, faster on CPU for small models (default: true for smollm2, else false)",
    "share_branches": "samples that wrote the same tokens so far share one decode (default "
    "true; false decodes every sample alone: the same draws, for measuring what it buys)",
    "reuse_prefix": "a prompt keeps the cache cells it shares with the previous prompt "
    "(default true when parallel > 1; false evaluates every prompt whole)",
    "parallel": "samples (default 64) and scored candidates (default 1) decoded side by "
    "side; 1 makes every result bit-for-bit independent of the batch (a resumed run then "
    "redraws exactly what an uninterrupted one would have), more is faster, but batched "
    "arithmetic moves logits slightly with the batch's composition",
}

REMOVED_ARGS: dict[str, str] = {
    "engine": "engine=torch (randbench's own PyTorch forward pass) was removed: in bfloat16 "
    "it moved next-token distributions by 2-5% TVD against llama.cpp, and a randomness "
    "benchmark must not change what it measures to go faster. Drop the arg; to run a model "
    "through PyTorch use --model hf:PATH (transformers)",
    "torch_dtype": "torch_dtype belonged to the removed engine=torch; drop it, or use "
    "--model hf:PATH (transformers) with its dtype arg",
}
"""Model args that once existed, with what to do instead."""
PLAIN_FORMATS = ("blank_lines", "qa")
MAX_PARALLEL = 255
"""llama.cpp holds at most 256 sequences, the prompt's among them."""
DEFAULT_N_CTX = 4096
DEFAULT_STREAM_CELLS = 16384
"""64 streams of 256 cells: SmolLM2's library prompts and answers fit one (the longest, the
in-context story tasks, take 512); 377 MB of float16 cells."""
STREAM_MIN_TOKENS = 16
"""Answers of this many tokens or more are sampled in streams; shorter ones in the shared
cache, where a sample's cells cost no copy and their attention is over few cells anyway."""
STREAM_QUANTUM = 256
DEFAULT_SAMPLING_PARALLEL = 64
"""Samples in flight unless ``parallel`` says otherwise. On 2 CPU cores SmolLM2's float32
copy samples the library's single-answer tasks (50 samples, up to 64 tokens each) at 364
tokens/s with 64 in flight against 317 with 32: a decode call costs about 15 ms for reading
the weights before the first token, so the fuller the call the better. Scoring keeps one
candidate at a time by default: its log-probabilities are then exact to the bit."""
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


def _bool_arg(args: dict[str, Any], name: str, default: bool) -> bool:
    value = args.get(name, default)
    if not isinstance(value, bool):
        raise ValueError(f"model arg {name}={value!r}: expected true or false")
    return value


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
    chat_template_by_default: ClassVar[bool] = True
    plain_format_by_default: ClassVar[str] = "blank_lines"

    def __init__(self, spec: ModelSpec) -> None:
        super().__init__(spec)
        args = dict(spec.args)
        removed = sorted(set(args) & set(REMOVED_ARGS))
        if removed:
            name = removed[0]
            raise ValueError(f"model arg {name}={args[name]!r}: {REMOVED_ARGS[name]}")
        unknown = sorted(set(args) - set(MODEL_ARGS))
        if unknown:
            known = "; ".join(f"{k}: {v}" for k, v in MODEL_ARGS.items())
            raise ValueError(
                f"backend {spec.backend!r}: unknown model arg(s) {', '.join(unknown)}; "
                f"known: {known}"
            )
        self.n_ctx = _int_arg(args, "n_ctx", DEFAULT_N_CTX)
        self.n_threads = _int_arg(args, "n_threads", usable_cpus())
        self.n_batch = _int_arg(args, "n_batch", 512)
        self.stream_cells = _int_arg(args, "stream_cells", DEFAULT_STREAM_CELLS)
        given = "parallel" in args
        self.parallel = min(_int_arg(args, "parallel", DEFAULT_SAMPLING_PARALLEL), MAX_PARALLEL)
        self.score_parallel = self.parallel if given else 1
        self.share_branches = _bool_arg(args, "share_branches", True)
        self.reuse_prefix = _bool_arg(args, "reuse_prefix", True) and self.parallel > 1
        use_template = _bool_arg(args, "chat_template", self.chat_template_by_default)
        self.plain_format = str(args.get("plain_format", self.plain_format_by_default))
        if self.plain_format not in PLAIN_FORMATS:
            raise ValueError(
                f"model arg plain_format={self.plain_format!r}: expected one of "
                f"{', '.join(PLAIN_FORMATS)}"
            )
        dequantize = _bool_arg(args, "dequantize", self.dequantize_by_default)
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
        # multi-sequence context of our own (DecodeContext), so its own context stays tiny.
        from llama_cpp._utils import suppress_stdout_stderr

        # Llama() resets the log level itself: its NONE-level notes go to a muted stderr.
        with suppress_stdout_stderr(disable=False):
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
        self.qa = self.template is None and self.plain_format == "qa"
        """Question/answer framing: the answer is the line after "Answer:"."""
        self.line_ends = self._line_end_tokens() if self.qa else frozenset()
        self.end_of_turn = self._end_of_turn_token()
        self._shared = self._context(False, self.n_ctx)
        """The unified cache: scoring, short answers, and everything with ``parallel=1``."""
        self._streams: DecodeContext | None = None
        """One stream per sample, for long answers; opened at the first of them."""
        self.tokens_evaluated = 0
        """Tokens run through the model so far (prompts + samples + candidates)."""
        self.prompt_evaluations = 0
        self.sample_decodes = 0
        """Decode calls that advanced samples or candidates (prompts not counted)."""

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
        return token in self.line_ends or bool(
            self._llama_cpp.llama_vocab_is_eog(self._vocab, token)
        )

    def _line_end_tokens(self) -> frozenset[int]:
        """The single tokens that are line breaks: where a qa-format answer ends."""
        found = set()
        for text in ("\n", "\n\n", "\n\n\n", "\r\n"):
            tokens = self.llama.tokenize(text.encode(), add_bos=False, special=False)
            if len(tokens) == 1:
                found.add(tokens[0])
        if not found:
            raise ValueError(f"{self.source.name}: no single token for a line break")
        return frozenset(found)

    def _end_of_turn_token(self) -> int:
        """The token that ends an answer: the first token of the text the chat template writes
        after an assistant message, when it is an end-of-generation token; else EOS."""
        if self.template is not None:
            text = end_of_turn_text(self.template, bos_token=self.bos_text, eos_token=self.eos_text)
            tokens = self.llama.tokenize(text.encode(), add_bos=False, special=True)
            if tokens and self.is_end(tokens[0]):
                return tokens[0]
        if self.qa:
            return min(self.line_ends)
        if self.eos < 0:
            raise ValueError(f"{self.source.name} has neither an end-of-turn nor an EOS token")
        return self.eos

    # -- text <-> tokens -----------------------------------------------------------

    def render(self, prompt: Prompt) -> str:
        if self.qa and not prompt.plain:
            question = RAW_SEPARATOR.join(m.content for m in prompt.messages)
            prefix = f" {prompt.assistant_prefix}" if prompt.assistant_prefix else ""
            return f"Question: {question}\nAnswer:{prefix}"
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

    def _answer_lead(self, prompt: Prompt) -> str:
        """What a model writes before an answer: in the qa format, the space after
        "Answer:" (none when the prompt pre-fills the answer's start)."""
        return " " if self.qa and not prompt.plain and not prompt.assistant_prefix else ""

    def candidate_tokens(self, candidate: str, until: str | None = None) -> list[int]:
        """The candidate's tokens then the end of turn; with a delimiter, the tokens of
        candidate + delimiter as the model would write them."""
        if until is not None:
            return self.llama.tokenize((candidate + until).encode(), add_bos=False, special=False)
        tokens = self.llama.tokenize(candidate.encode(), add_bos=False, special=False)
        return [*tokens, self.end_of_turn]

    # -- the model -----------------------------------------------------------------

    def _context(self, streams: bool, cells: int) -> DecodeContext:
        return DecodeContext(
            self._llama_cpp, self.llama, sequences=self._sequences(streams, cells), cells=cells,
            streams=streams, n_batch=self.n_batch, n_threads=self.n_threads,
        )  # fmt: skip

    def _sequences(self, streams: bool, cells: int) -> int:
        """The prompt's sequence and ``parallel`` more, as many as the streams' cells allow."""
        if not streams:
            return self.parallel + 1
        return max(2, min(self.parallel + 1, self.stream_cells // cells))

    # The sampler's engine (:class:`.llama_sampling.Engine`).

    def decode(self, context: DecodeContext, entries: Sequence[Entry]) -> np.ndarray:
        self.tokens_evaluated += len(entries)
        self.sample_decodes += 1
        return context.run(entries)

    def prefill(
        self, context: DecodeContext, tokens: list[int], reuse: bool, alone: bool
    ) -> np.ndarray:
        logits, evaluated = context.prefill(tokens, reuse, alone)
        self.tokens_evaluated += evaluated
        self.prompt_evaluations += 1
        return logits

    def text(self, tokens: list[int]) -> str:
        return self.llama.detokenize(tokens).decode("utf-8", errors="replace")

    def _prefill(
        self, prompt: Prompt, reuse: bool, context: DecodeContext | None = None
    ) -> tuple[int, np.ndarray]:
        """Evaluate the prompt alone into sequence 0 of ``context`` (the shared cache unless
        told); its length and last logits. ``reuse``: see :meth:`DecodeContext.prefill`."""
        tokens = self.prompt_tokens(prompt)
        return len(tokens), self.prefill(context or self._shared, tokens, reuse, alone=True)

    def generate(self, requests: Sequence[GenerateRequest]) -> list[list[Completion]]:
        found: list[list[Completion | None]] = [[None] * r.n for r in requests]

        def keep(request: int, sample: int, completion: Completion) -> None:
            found[request][sample] = completion

        self.generate_each(requests, keep)
        return [[c for c in completions if c is not None] for completions in found]

    def generate_each(self, requests: Sequence[GenerateRequest], sink: CompletionSink) -> None:
        """Every request's samples, side by side with the samples of the requests around it
        (continuous batching): the next request's prompt is evaluated as soon as the samples
        of the one before are all in flight, and its samples take the places of finished
        ones, so decode calls stay full across requests. Short answers are sampled in the
        shared cache, long ones in the streams."""
        jobs = [(i, r, self.prompt_tokens(r.prompt)) for i, r in enumerate(requests)]
        streamed = [self._streamed(len(tokens), r.params.max_tokens) for _, r, tokens in jobs]
        short = [job for job, stream in zip(jobs, streamed, strict=True) if not stream]
        long = [job for job, stream in zip(jobs, streamed, strict=True) if stream]
        if short:
            Sampler(self, self._shared, short, sink).run()
        if long:
            need = max(len(tokens) + request.params.max_tokens for _, request, tokens in long)
            Sampler(self, self._stream_context(need), long, sink).run()

    def _streamed(self, n_prompt: int, max_tokens: int) -> bool:
        """Long answers go to the streams (see :mod:`.llama_context`); ``parallel=1`` keeps
        one sample at a time in the shared cache, bit for bit independent of the batch."""
        return (
            self.parallel > 1
            and max_tokens >= STREAM_MIN_TOKENS
            and n_prompt + max_tokens <= self.stream_cells // 2
        )

    def _stream_context(self, need: int) -> DecodeContext:
        """Streams that fit ``need`` cells (a prompt and its answer), reopened when the size
        they round to changes: streams too large would mean fewer samples in flight."""
        cells = STREAM_QUANTUM * math.ceil(need / STREAM_QUANTUM)
        if self._streams is None or self._streams.cells != cells:
            if self._streams is not None:
                self._streams.close()  # its memory is freed before the next is taken
            self._streams = self._context(True, cells)
        return self._streams

    def plain_llama(self) -> Any:
        """llama-cpp-python's own ``Llama`` over the same weights, with a context that holds
        a library prompt and its answer: the baseline that ``randbench bench`` and the tests
        set beside this backend."""
        return self._llama_cpp.Llama(
            str(self.path), n_ctx=self.n_ctx, n_batch=self.n_batch, n_threads=self.n_threads,
            verbose=False,
        )  # fmt: skip

    def plain_completion(self, llama: Any, request: GenerateRequest, seed: int) -> Completion:
        """One sample of ``request`` by ``llama.create_completion``, llama-cpp-python's own
        sampler chain set to what this backend draws from: temperature, then top-p, nothing
        else (no top-k, min-p or repetition penalty), seeded."""
        params = request.params
        reply = llama.create_completion(
            self.prompt_tokens(request.prompt), max_tokens=params.max_tokens,
            temperature=params.temperature, top_p=params.top_p, top_k=0, min_p=0.0,
            typical_p=1.0, repeat_penalty=1.0, seed=seed,
        )  # fmt: skip
        return Completion(reply["choices"][0]["text"], reply["usage"]["completion_tokens"])

    def score(self, requests: Sequence[ScoreRequest]) -> list[CandidateScores]:
        return [self._score_one(request) for request in requests]

    def _score_one(self, request: ScoreRequest) -> CandidateScores:
        context = self._shared
        n_prompt, prompt_logits = self._prefill(
            request.prompt, self.score_parallel > 1 and self.reuse_prefix, context
        )
        first = log_softmax(prompt_logits)
        lead = self._answer_lead(request.prompt)
        sequences = [
            self.candidate_tokens(c if c[:1].isspace() else lead + c, request.until)
            for c in request.candidates
        ]
        logprobs = [float(first[s[0]]) for s in sequences]
        # Candidates side by side, each in its own sequence over the shared prompt.
        todo = [i for i, s in enumerate(sequences) if len(s) > 1 and math.isfinite(logprobs[i])]
        while todo:
            group: list[int] = []
            cells = n_prompt
            while todo and len(group) < self.score_parallel:
                length = len(sequences[todo[0]]) - 1
                if group and cells + length > context.cells:
                    break
                group.append(todo.pop(0))
                cells += length
            entries = []
            for sequence, index in enumerate(group, start=1):
                context.fork(sequence)
                body = sequences[index][:-1]
                entries += [(t, n_prompt + k, sequence, True) for k, t in enumerate(body)]
            rows = log_softmax(self.decode(context, entries))
            offset = 0
            for index in group:
                following = sequences[index][1:]
                span = rows[offset : offset + len(following)]
                logprobs[index] += float(span[np.arange(len(following)), following].sum())
                offset += len(following)
        return CandidateScores(tuple(logprobs), exact=True)


class EmbeddedBackend(LlamaCppBackend):
    """A model that ships with randbench (``smollm2``, ``gemma3``): no path to give, and a
    fixed name in result files."""

    display_name: ClassVar[str]

    def gguf(self) -> Path:
        raise NotImplementedError

    def model_path(self) -> Path:
        if self.spec.name:
            raise ValueError(
                f"backend {self.spec.backend!r} is the embedded model and takes no name "
                f"(got {self.spec.name!r}); for another GGUF use --model llamacpp:PATH.gguf"
            )
        return self.gguf()

    def model_name(self) -> str:
        return self.display_name
