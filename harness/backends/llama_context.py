"""The KV cache under the llama.cpp backend: one llama.cpp context of many sequences, and
the few operations the backend needs of it (decode, fork, move, drop, prefill).

Two layouts, chosen per context:

- *Unified*: one pool of cells that every sequence shares; a sequence forked from the
  prompt shares the prompt's cells without copying them. But every token of a decode
  call attends over all the cells in use, its own sequence's and every other's, masked
  out: with 64 samples of 64 tokens in flight a decode call costs 116 ms at the first
  token and 429 ms at the 57th (SmolLM2, 2 CPU cores). Right for short answers and scoring.
- *Streams*: one stream of cells per sequence, so a token attends over its own sequence
  only (64 samples of 64 tokens: 180-190 ms a call throughout). A fork copies the whole
  stream (llama.cpp copies across streams only whole), so streams are kept small, sized to
  the longest prompt plus answer; and llama.cpp decodes a batch in one piece only when
  its sequences are consecutive (32 of 64 sequences, every other one, took 700 ms a call
  against 100 ms), which is why the backend keeps its live sequences at 1..k.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

Entry = tuple[int, int, int, bool]
"""``(token, position, sequence, wants_logits)``: one token of a decode call."""


@contextmanager
def quiet_llama_log() -> Iterator[None]:
    """Silence llama.cpp's log while a context is made: llama-cpp-python prints messages of
    level NONE whatever its verbosity (Gemma 3's sliding-window cache announces itself so
    on every context), which would run through the progress bar."""
    logger = logging.getLogger("llama-cpp-python")
    level = logger.level
    logger.setLevel(logging.CRITICAL + 1)
    try:
        yield
    finally:
        # NOTSET would let every debug line through; ERROR is what verbose=False sets.
        logger.setLevel(level if level != logging.NOTSET else logging.ERROR)


class DecodeContext:
    """A llama.cpp context of ``sequences`` sequences over the backend's model; sequence 0
    holds the current prompt."""

    def __init__(
        self,
        llama_cpp: Any,
        llama: Any,
        *,
        sequences: int,
        cells: int,
        streams: bool,
        n_batch: int,
        n_threads: int,
    ) -> None:
        """``cells``: the cells of the whole cache when unified, of each stream otherwise."""
        self._lib = llama_cpp
        internals = llama_cpp._internals
        # Llama's own settings (no flash attention, rope/yarn from the model), resized.
        template = llama.context_params
        params = type(template).from_buffer_copy(template)
        params.n_ctx = cells * sequences if streams else cells
        params.n_batch = params.n_ubatch = n_batch
        params.n_seq_max = sequences
        params.kv_unified = not streams
        params.n_threads = params.n_threads_batch = n_threads
        with quiet_llama_log():
            self._ctx = internals.LlamaContext(model=llama._model, params=params, verbose=False)
        self._memory = self._ctx.memory
        self._batch = internals.LlamaBatch(n_tokens=n_batch, embd=0, n_seq_max=1, verbose=False)
        self.n_batch = n_batch
        self.n_vocab = llama.n_vocab()
        self.sequences = sequences
        self.streams = streams
        self.cells = int(llama_cpp.llama_n_ctx_seq(self._ctx.ctx)) if streams else cells
        """Cells one sequence may fill: its stream's, or the whole unified cache's."""
        self.prompt: list[int] = []
        """The tokens in sequence 0."""

    def close(self) -> None:
        """Free the context's cells now: llama-cpp-python's model keeps a reference to every
        context it made, so dropping ours would free nothing until the model goes."""
        with quiet_llama_log():
            self._batch.close()
            self._ctx.close()

    def run(self, entries: Sequence[Entry]) -> np.ndarray:
        """Decode ``entries``, ``n_batch`` at a time; the logits of the entries that want
        them, in order, as rows."""
        lib, batch = self._lib, self._batch.batch
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
                    f"llama_decode returned {code} (KV cache full? {self.cells} cells a sequence)"
                )
            n_out = sum(1 for entry in chunk if entry[3])
            if n_out:
                logits = np.ctypeslib.as_array(
                    lib.llama_get_logits(self._ctx.ctx), shape=(n_out * self.n_vocab,)
                )
                rows.append(logits.reshape(n_out, self.n_vocab).copy())
        return np.concatenate(rows) if rows else np.empty((0, self.n_vocab), np.float32)

    def fork(self, sequence: int, source: int = 0) -> None:
        """Make ``sequence`` a copy of ``source`` (the prompt unless told): shared cells in a
        unified cache, a copied stream otherwise (done at the next decode, in order)."""
        self.drop(sequence)
        self._lib.llama_memory_seq_cp(self._memory, source, sequence, -1, -1)

    def move(self, source: int, sequence: int) -> None:
        """Renumber ``source`` as ``sequence``."""
        self.fork(sequence, source)
        self.drop(source)

    def drop(self, sequence: int) -> None:
        self._lib.llama_memory_seq_rm(self._memory, sequence, -1, -1)

    def prefill(self, tokens: list[int], reuse: bool, alone: bool) -> tuple[np.ndarray, int]:
        """Evaluate ``tokens`` into sequence 0; the last token's logits, and how many tokens
        were evaluated. ``alone``: no other sequence is in use, and any left are emptied
        (then a prompt evaluated from scratch lands in the same cells every time). With
        ``reuse``, the cells of the previous prompt are kept as far as the two agree (the
        in-context tasks of one family open alike), and only the rest is evaluated. The
        logits then match a whole evaluation up to rounding (up to 3e-3 nats on SmolLM2,
        where the float16 cache cells amplify it), so a run's draws depend on the order of
        its requests."""
        keep = 0
        if reuse:
            while keep < min(len(tokens), len(self.prompt)) and tokens[keep] == self.prompt[keep]:
                keep += 1
            keep = min(keep, len(tokens) - 1)  # the last token is evaluated for its logits
        if alone and not keep:
            self._lib.llama_memory_clear(self._memory, False)
        else:
            self._lib.llama_memory_seq_rm(self._memory, 0, keep, -1)
            if alone:
                for sequence in range(1, self.sequences):
                    self.drop(sequence)
        self.prompt = []
        last = len(tokens) - 1
        logits = self.run([(tokens[i], i, 0, i == last) for i in range(keep, len(tokens))])[-1]
        self.prompt = list(tokens)
        return logits, len(tokens) - keep
