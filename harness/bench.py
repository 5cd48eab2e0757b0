"""``randbench bench``: throughput of each mode beside a naive baseline in the same process.

The baselines are what peer harnesses do: one request per sample (the prompt
re-encoded every time, lm-eval's ``repeats``) and one scoring request per
candidate. Both go through the same backend, so the ratio isolates the sharing.
"""

from __future__ import annotations

import resource
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TypeVar

import numpy as np

from randbench.harness.backends.base import Backend, Capability
from randbench.harness.backends.llamacpp import LlamaCppBackend
from randbench.harness.early_stop import first_look
from randbench.harness.methods.base import task_prompt
from randbench.harness.methods.logprob import Logprob
from randbench.harness.requests import GenerateRequest, Message, Prompt
from randbench.harness.runs import RunConfig, sampling_params
from randbench.harness.seeds import sample_seed
from randbench.tasks import Task

T = TypeVar("T")


@dataclass(frozen=True)
class Measurement:
    name: str
    units: float
    seconds: float
    baseline_seconds: float | None = None
    unit: str = "samples"
    tokens: int | None = None

    @property
    def rate(self) -> float:
        return self.units / self.seconds if self.seconds > 0 else float("inf")

    @property
    def speedup(self) -> float | None:
        if self.baseline_seconds is None or self.seconds <= 0:
            return None
        return self.baseline_seconds / self.seconds


def timed(work: Callable[[], T]) -> tuple[T, float]:
    start = time.perf_counter()
    result = work()
    return result, time.perf_counter() - start


def sampling_request(task: Task, n: int, config: RunConfig) -> GenerateRequest:
    seeds = tuple(sample_seed(config.seed, task.hash, "bench", i) for i in range(n))
    return GenerateRequest(task.name, task_prompt(task), sampling_params(task, config), seeds)


def bench_sampling(
    backend: Backend, task: Task, n: int, naive_n: int, config: RunConfig
) -> Measurement:
    """n samples in one shared-prompt request vs ``naive_n`` one-sample requests (scaled to n)."""
    shared = sampling_request(task, n, config)
    replies, seconds = timed(lambda: backend.generate([shared]))
    naive = [replace(shared, seeds=(s,)) for s in shared.seeds[:naive_n]]
    _, naive_seconds = timed(lambda: [backend.generate([r]) for r in naive])
    tokens = sum(c.tokens or 0 for c in replies[0]) or None
    return Measurement(
        f"sampling ({task.name}, n={n})", n, seconds, naive_seconds * n / naive_n, tokens=tokens
    )


def bench_plain_llama(
    backend: Backend, task: Task, naive_n: int, config: RunConfig, shared: Measurement
) -> Measurement | None:
    """``shared`` (the backend's n samples of ``task`` in one request) vs ``naive_n`` calls of
    llama-cpp-python's own ``Llama.create_completion`` on the same weights, prompt tokens and
    sampling settings (scaled to n): what the backend's own decoding buys over the library
    it drives. None for other backends."""
    if not isinstance(backend, LlamaCppBackend):
        return None
    params = sampling_params(task, config)
    seeds = [sample_seed(config.seed, task.hash, "bench-plain", i) for i in range(naive_n + 1)]
    request = GenerateRequest(task.name, task_prompt(task), params, tuple(seeds))
    llama = backend.plain_llama()
    backend.plain_completion(llama, request, seeds[0])  # untimed: evaluates the prompt
    _, plain_seconds = timed(
        lambda: [backend.plain_completion(llama, request, s) for s in seeds[1:]]
    )
    return Measurement(
        f"sampling vs Llama.create_completion ({task.name}, n={shared.units:.0f})",
        shared.units, shared.seconds, plain_seconds * shared.units / naive_n, tokens=shared.tokens,
    )  # fmt: skip


def bench_branches(
    backend: Backend, task: Task, config: RunConfig, shared: Measurement
) -> Measurement | None:
    """``shared`` vs the same samples, seeds and settings with branch sharing off (every
    sample decodes its own tokens, even where others wrote the same): what sharing buys
    alone. None for other backends."""
    if not isinstance(backend, LlamaCppBackend):
        return None
    request = sampling_request(task, int(shared.units), config)
    backend.share_branches = False
    try:
        _, apart = timed(lambda: backend.generate([request]))
    finally:
        backend.share_branches = True
    return Measurement(
        f"branch sharing ({task.name}, n={request.n}), against every sample decoded alone",
        shared.units, shared.seconds, apart, tokens=shared.tokens,
    )  # fmt: skip


def growing_history_prompts(task: Task, tokens: int, count: int, seed: int = 0) -> list[Prompt]:
    """``count`` prompts of the in-context shape whose histories of earlier rolls grow one
    roll at a time, the longest about ``tokens`` long: how an in-context family's prompts
    follow each other, each opening like the one before."""
    rng = np.random.default_rng(seed)
    rolls = [str(int(v)) for v in rng.integers(1, 7, size=max(count, tokens // 3))]
    base = task_prompt(task)
    (*earlier, last) = base.messages
    return [
        Prompt(
            (*earlier, Message(last.role, f"Earlier rolls: {', '.join(rolls[:length])}.\n\n"
                                           f"{last.content}")),
            base.assistant_prefix,
        )
        for length in range(len(rolls) - count + 1, len(rolls) + 1)
    ]  # fmt: skip


def bench_prefix_reuse(
    backend: Backend, task: Task, config: RunConfig, tokens: int = 400, count: int = 8
) -> Measurement | None:
    """``count`` requests of 4 samples whose prompts each open like the one before, with the
    previous prompt's cache cells kept, vs every prompt evaluated whole. None for other
    backends, or where ``parallel=1`` turns reuse off."""
    if not isinstance(backend, LlamaCppBackend) or not backend.reuse_prefix:
        return None
    params = sampling_params(task, config)

    def batch(label: str) -> list[GenerateRequest]:
        return [
            GenerateRequest(
                task.name, prompt, params,
                tuple(sample_seed(config.seed, task.hash, label, 4 * p + i) for i in range(4)),
            )
            for p, prompt in enumerate(growing_history_prompts(task, tokens, count))
        ]  # fmt: skip

    replies, kept = timed(lambda: [backend.generate([r]) for r in batch("bench-reuse")])
    backend.reuse_prefix = False
    try:
        _, whole = timed(lambda: [backend.generate([r]) for r in batch("bench-whole")])
    finally:
        backend.reuse_prefix = True
    return Measurement(
        f"prompt prefix reuse ({count} prompts of about {tokens} tokens growing by one roll), "
        "against each evaluated whole",
        count * 4, kept, whole, tokens=sum(c.tokens or 0 for r in replies for c in r[0]) or None,
    )  # fmt: skip


def warm_up(backend: Backend, task: Task, config: RunConfig) -> None:
    """One sample, untimed: a backend's first call may load what it needs (the llama.cpp
    backend opens its cache streams, an API server warms its prompt cache), which is no
    part of its sampling rate."""
    seed = sample_seed(config.seed, task.hash, "bench-warm-up", 0)
    backend.generate(
        [GenerateRequest(task.name, task_prompt(task), sampling_params(task, config), (seed,))]
    )


def bench_side_by_side(backend: Backend, tasks: Sequence[Task], config: RunConfig) -> Measurement:
    """The first batch of ``tasks_in_flight`` tasks in one call, as ``randbench run`` asks
    them, vs one call per task (each with its own seeds, so no answer is reused)."""
    chosen = [t for t in tasks if task_prompt(t).messages][: config.tasks_in_flight]

    def batch(label: str) -> list[GenerateRequest]:
        return [
            GenerateRequest(
                t.name, task_prompt(t), sampling_params(t, config),
                tuple(sample_seed(config.seed, t.hash, label, i) for i in range(config.batch_size)),
            )
            for t in chosen
        ]  # fmt: skip

    replies, seconds = timed(lambda: backend.generate(batch("bench-together")))
    _, apart = timed(lambda: [backend.generate([r]) for r in batch("bench-apart")])
    tokens = sum(c.tokens or 0 for completions in replies for c in completions) or None
    return Measurement(
        f"{len(chosen)} tasks side by side ({config.batch_size} samples each)",
        len(chosen) * config.batch_size, seconds, apart, tokens=tokens,
    )  # fmt: skip


def bench_scoring(backend: Backend, task: Task) -> Measurement:
    """All candidates in one request vs one request per candidate."""
    request = Logprob().request(task)
    candidates = request.candidates
    _, seconds = timed(lambda: backend.score([request]))
    one_each = [replace(request, candidates=(c,)) for c in candidates]
    _, naive_seconds = timed(lambda: [backend.score([r]) for r in one_each])
    return Measurement(
        f"exact distribution ({task.name}, {len(candidates)} candidates)",
        1,
        seconds,
        naive_seconds,
        unit="distributions",
    )


@dataclass(frozen=True)
class Estimate:
    """Seconds for ``--tasks all`` at measured rates."""

    full: float
    """Direct sampling, every task at its full sample count (``--no-stop-early``, or a
    perfect sampler)."""
    stopped: float
    """Direct sampling, every task that can stop early stopping at its first look (a model
    that is clearly no sampler of any target: the least a run can cost)."""
    exact: float
    """``--method logprob``: the exact distribution of every finite-support task."""


def estimate_all(
    tasks: Sequence[Task],
    sampling: Measurement | None,
    scoring: Measurement | None,
    config: RunConfig,
) -> Estimate:
    """Sampling time from the measured tokens/s when the backend counts tokens (``sampling``:
    the tasks side by side, as ``randbench run`` asks them): each sample
    writes as large a share of its task's token limit as the measured samples did of
    theirs (a model that rambles to the limit rambles everywhere; one-token answers stay
    short). Without token counts, the measured samples/s for every task."""
    full = stopped = exact = 0.0
    if sampling is not None:
        per_sample = _seconds_per_sample(sampling, config)
        full = sum(t.samples * per_sample(t) for t in tasks)
        stopped = sum(first_look(t, config) * per_sample(t) for t in tasks)
    if scoring is not None:
        exact = sum(t.target.support() is not None for t in tasks) / scoring.rate
    return Estimate(full, stopped, exact)


def _seconds_per_sample(sampling: Measurement, config: RunConfig) -> Callable[[Task], float]:
    if not sampling.tokens or config.max_tokens is None:
        return lambda task: 1 / sampling.rate
    share = min(1.0, sampling.tokens / (sampling.units * config.max_tokens))
    tokens_per_second = sampling.tokens / sampling.seconds
    run_defaults = replace(config, max_tokens=None)
    return lambda task: (
        max(1.0, share * sampling_params(task, run_defaults).max_tokens) / tokens_per_second
    )


def peak_memory_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_bench(
    backend: Backend,
    tasks: Sequence[Task],
    sampling_task: Task,
    scoring_task: Task,
    *,
    n: int,
    naive_n: int,
    config: RunConfig,
    context_tokens: int = 0,
) -> tuple[list[Measurement], Estimate]:
    backend.bind(tasks)
    measured: list[Measurement] = []
    sampling = scoring = None
    if Capability.GENERATE in backend.capabilities:
        warm_up(backend, sampling_task, config)
        alone = bench_sampling(backend, sampling_task, n, naive_n, config)
        side_by_side = bench_side_by_side(backend, tasks, config)
        plain = bench_plain_llama(backend, sampling_task, naive_n, config, alone)
        branches = bench_branches(backend, sampling_task, config, alone)
        reuse = bench_prefix_reuse(backend, sampling_task, config)
        measured += [alone, side_by_side]
        measured += [m for m in (plain, branches, reuse) if m is not None]
        sampling = side_by_side if side_by_side.units else alone
        if context_tokens:
            peer = bench_lmeval_repeats(backend, sampling_task, n, naive_n, context_tokens, config)
            measured += [peer] if peer is not None else []
    if Capability.SCORE in backend.capabilities:
        scoring = bench_scoring(backend, scoring_task)
        measured.append(scoring)
    return measured, estimate_all(tasks, sampling, scoring, config)


def bench_concurrency(
    backend: Backend, task: Task, requests: int, concurrency: int, config: RunConfig
) -> tuple[Measurement, Measurement]:
    """Requests per second with one request in flight, then ``concurrency``: ``requests``
    one-sample requests each (distinct seeds), after one warm-up request."""
    params = sampling_params(task, config)
    prompt = task_prompt(task)

    def batch(offset: int) -> list[GenerateRequest]:
        return [
            GenerateRequest(
                task.name, prompt, params, (sample_seed(config.seed, task.hash, "bench", i),)
            )
            for i in range(offset, offset + requests)
        ]

    backend.concurrency = 1
    backend.generate(batch(-1)[:1])  # warm-up: the server has the prompt in its cache
    _, sequential = timed(lambda: backend.generate(batch(0)))
    backend.concurrency = concurrency
    _, parallel = timed(lambda: backend.generate(batch(requests)))
    return (
        Measurement(f"concurrency 1 ({task.name})", requests, sequential, unit="requests"),
        Measurement(
            f"concurrency {concurrency} ({task.name})", requests, parallel, sequential,
            unit="requests",
        ),
    )  # fmt: skip


def in_context_prompt(task: Task, tokens: int, seed: int = 0) -> Prompt:
    """The task's prompt after a history of earlier answers, about ``tokens`` long: the
    shape of an in-context task, where sharing the prompt matters most."""
    return growing_history_prompts(task, tokens, 1, seed)[0]


def bench_lmeval_repeats(
    backend: Backend, task: Task, n: int, naive_n: int, context_tokens: int, config: RunConfig
) -> Measurement | None:
    """Our ``hf`` sampling vs lm-evaluation-harness's ``repeats`` path for the same model,
    prompt text and settings: its evaluator clones a request ``repeats`` times and hands
    the copies to ``HFLM.generate_until`` (batch size 1, its default), which runs the
    whole prompt again for every copy. None when lm-eval is not installed or the backend
    is not ``hf``."""
    path = getattr(backend, "path", None)
    text_of = getattr(backend, "prompt_text", None)
    if backend.spec.backend != "hf" or path is None or text_of is None:
        return None
    try:
        from lm_eval.api.instance import Instance
        from lm_eval.models.huggingface import HFLM
    except ImportError:
        return None
    prompt = in_context_prompt(task, context_tokens)
    params = sampling_params(task, config)
    seeds = tuple(sample_seed(config.seed, task.hash, "bench-icl", i) for i in range(n))
    shared = GenerateRequest(task.name, prompt, params, seeds)
    replies, seconds = timed(lambda: backend.generate([shared]))
    lm = HFLM(pretrained=str(path), batch_size=1, device=str(getattr(backend, "device", "cpu")))
    gen_kwargs = {
        "until": [],
        "do_sample": True,
        "temperature": params.temperature,
        "top_p": params.top_p,
        "max_gen_toks": params.max_tokens,
    }
    request = Instance(
        request_type="generate_until", doc={}, arguments=(str(text_of(prompt)), gen_kwargs),
        idx=0, repeats=n,
    )  # fmt: skip
    _, lmeval_seconds = timed(lambda: lm.generate_until([request] * naive_n, disable_tqdm=True))
    tokens = sum(c.tokens or 0 for c in replies[0]) or None
    prompt_tokens = len(backend.prompt_ids(prompt)) if hasattr(backend, "prompt_ids") else 0
    return Measurement(
        f"sampling vs lm-eval repeats ({task.name}, {prompt_tokens}-token prompt, n={n})",
        n, seconds, lmeval_seconds * n / naive_n, tokens=tokens,
    )  # fmt: skip
