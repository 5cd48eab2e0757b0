"""Sampling in the llama.cpp backend: the next-token draw, samples that share a prefix
(branches), and continuous batching of the samples of many requests over one KV cache.

Sampling is done here, in numpy, from the full distribution: temperature, then top-p, then
one draw from a generator seeded with the sample's own seed (no hidden top-k / min-p
truncation, which llama.cpp's default sampler chain has).

Samples that have written the same tokens so far are one branch: one sequence, one decode
and one next-token distribution serve them all, and each draws its next token with its own
generator (a model that answers "4" forty times in fifty decodes the "4" once).

The samples of consecutive requests run side by side: the next request's prompt is
evaluated into sequence 0 once every sample of the one before is in flight, and its samples
take the places of those that finish, so decode calls stay full from one request to the
next (one request at a time, a call of 50 samples thins to a few as they end).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from randbench.harness.backends.base import CompletionSink
from randbench.harness.backends.llama_context import DecodeContext, Entry
from randbench.harness.requests import Completion, GenerateRequest

NUCLEUS_HEAD = 256
"""Top-p sorts only the 256 most probable tokens when they hold the nucleus."""
DRAW_BLOCK = 256
"""Tokens per block of the cumulative mass a draw searches (see :class:`NextToken`)."""


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
class _Job:
    """One request being sampled: its prompt's length, its samples' generators and what they
    have written, and the samples not yet in flight."""

    index: int
    request: GenerateRequest
    n_prompt: int
    budget: int
    logits: np.ndarray
    """The prompt's last logits: every sample's first token is drawn from them."""
    waiting: list[int]
    """Samples not yet in flight, the next one last."""
    rngs: list[np.random.Generator] = field(default_factory=list)


@dataclass
class _Branch:
    """Samples of one request that have written the same tokens so far. One sequence of the
    KV cache holds the prompt and these tokens, and one row of logits serves them all: a
    sample costs a decode only where it first differs from every other sample in flight."""

    job: _Job
    tokens: list[int]
    samples: list[int]
    sequence: int
    logits: np.ndarray


class Engine(Protocol):
    """What the sampler needs of the backend."""

    parallel: int
    share_branches: bool
    reuse_prefix: bool

    def is_end(self, token: int) -> bool: ...

    def text(self, tokens: list[int]) -> str: ...

    def decode(self, context: DecodeContext, entries: Sequence[Entry]) -> np.ndarray: ...

    def prefill(
        self, context: DecodeContext, tokens: list[int], reuse: bool, alone: bool
    ) -> np.ndarray: ...


class Sampler:
    """The samples of ``jobs`` (request index, request, prompt tokens), in request order,
    handed to ``sink`` as each finishes."""

    def __init__(
        self,
        engine: Engine,
        context: DecodeContext,
        jobs: Sequence[tuple[int, GenerateRequest, list[int]]],
        sink: CompletionSink,
    ) -> None:
        self.engine = engine
        self.context = context
        self.queue = list(jobs)[::-1]
        self.sink = sink
        self.newest: _Job | None = None
        """The request whose prompt is in sequence 0."""
        self.branches: list[_Branch] = []

    @property
    def running(self) -> int:
        return sum(len(branch.samples) for branch in self.branches)

    def run(self) -> None:
        while self.queue or self.branches or (self.newest is not None and self.newest.waiting):
            self._admit()
            grown = [(branch, self._grow(branch)) for branch in self.branches]
            self.branches = place(self.context, grown)
            if self.branches:
                entries = [
                    (b.tokens[-1], b.job.n_prompt + len(b.tokens) - 1, b.sequence, True)
                    for b in self.branches
                ]
                rows = self.engine.decode(self.context, entries)
                for branch, row in zip(self.branches, rows, strict=True):
                    branch.logits = row

    # -- admission -----------------------------------------------------------------

    def _admit(self) -> None:
        """Put waiting samples in flight where there is room: the newest request's, else the
        next request's, whose prompt then takes sequence 0. Its forks from sequence 0 are made
        in this step, so a request starts only in a step that put no older sample in flight."""
        newest = self.newest
        if newest is None or not newest.waiting:
            if not self.queue or not self._room_for_prompt():
                return
            newest = self._start(*self.queue.pop())
            if newest is None:
                return
        take = min(len(newest.waiting), self._room(newest))
        if take:
            samples = [newest.waiting.pop() for _ in range(take)]
            self.branches.append(_Branch(newest, [], samples, 0, newest.logits))

    def _width(self) -> int:
        return max(1, min(self.engine.parallel, self.context.sequences - 1))

    def _room(self, job: _Job) -> int:
        """Samples of ``job`` that may go in flight now. In the shared cache every sample may
        hold ``budget`` cells beside the prompt."""
        room = self._width() - self.running
        if not self.context.streams:  # the newest request's samples only (_room_for_prompt)
            used = job.n_prompt + sum(len(b.samples) * b.job.budget for b in self.branches)
            room = min(room, (self.context.cells - used) // max(job.budget, 1))
        return max(0, room)

    def _room_for_prompt(self) -> bool:
        """Streams take the next request's prompt whenever a sample's place is free. The
        shared cache takes it only once the samples before have all ended: there every
        token attends over every cell in use, and the in-context tasks' prompts of several
        hundred tokens each, side by side, made their short answers 40% slower."""
        if self.context.streams:
            return self.running < self._width()
        return not self.branches

    def _start(self, index: int, request: GenerateRequest, tokens: list[int]) -> _Job | None:
        if request.n == 0:
            return None
        alone = not self.branches
        logits = self.engine.prefill(self.context, tokens, self.engine.reuse_prefix, alone)
        budget = max(0, min(request.params.max_tokens, self.context.cells - len(tokens)))
        job = _Job(
            index, request, len(tokens), budget, logits, list(range(request.n))[::-1],
            [np.random.default_rng(seed) for seed in request.seeds],
        )  # fmt: skip
        self.newest = job
        return job

    # -- one step ------------------------------------------------------------------

    def _grow(self, branch: _Branch) -> list[_Branch]:
        """Every sample of ``branch`` draws its next token; a sample that wrote the end of turn
        or reached its budget is done. The rest, by token: the branches to decode next,
        without a sequence yet."""
        job, params = branch.job, branch.job.request.params
        if len(branch.tokens) >= job.budget:
            for sample in branch.samples:
                self._finish(job, sample, branch.tokens)
            return []
        distribution = NextToken(branch.logits, params.temperature, params.top_p)
        by_token: dict[int, list[int]] = {}
        alone: list[tuple[int, list[int]]] = []
        for sample in branch.samples:
            token = distribution.draw(job.rngs[sample])
            if self.engine.is_end(token):
                self._finish(job, sample, branch.tokens)
            elif len(branch.tokens) + 1 >= job.budget:
                self._finish(job, sample, [*branch.tokens, token])
            elif self.engine.share_branches:
                by_token.setdefault(token, []).append(sample)
            else:
                alone.append((token, [sample]))
        return [
            _Branch(job, [*branch.tokens, t], s, -1, branch.logits)
            for t, s in [*by_token.items(), *alone]
        ]

    def _finish(self, job: _Job, sample: int, tokens: list[int]) -> None:
        self.sink(job.index, sample, Completion(self.engine.text(tokens), len(tokens)))


def place(context: DecodeContext, grown: list[tuple[_Branch, list[_Branch]]]) -> list[_Branch]:
    """Sequences for the branches that go on, and the cells of those that ended freed. The k
    branches get sequences 1..k, returned in that order (a stream cache decodes a batch in
    one piece only when its sequences are consecutive and in order: 32 sequences given in
    reverse took 767 ms a call against 105 ms in order):
    a branch's first child keeps its parent's sequence, renumbered if it lies beyond k, and
    every other child gets a copy of its parent's."""
    children: list[tuple[_Branch, _Branch]] = []
    for parent, kids in grown:
        if parent.sequence and not kids:
            context.drop(parent.sequence)
        for k, child in enumerate(kids):
            child.sequence = parent.sequence if k == 0 else 0
            children.append((child, parent))
    count = len(children)
    kept = {child.sequence for child, _ in children if 0 < child.sequence <= count}
    holes = [s for s in range(count, 0, -1) if s not in kept]
    renumbered: dict[int, int] = {}
    for child, _ in children:
        if child.sequence > count:
            hole = holes.pop()
            context.move(child.sequence, hole)
            renumbered[child.sequence] = hole
            child.sequence = hole
    for child, parent in children:
        if child.sequence == 0:
            child.sequence = holes.pop()
            context.fork(child.sequence, renumbered.get(parent.sequence, parent.sequence))
    return sorted((child for child, _ in children), key=lambda branch: branch.sequence)
