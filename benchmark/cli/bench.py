"""``randbench bench``: how fast each mode runs, beside a naive baseline, on this machine."""

from __future__ import annotations

import platform
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from randbench.cli.options import NoChatTemplate, model_spec
from randbench.harness.backends import load_backend
from randbench.harness.bench import Measurement, bench_concurrency, peak_memory_mib, run_bench
from randbench.harness.runs import RunConfig
from randbench.loader import load_tasks
from randbench.selection import select_tasks

console = Console(highlight=False)


def bench_command(
    model: Annotated[str, typer.Option(help="The model, as for `randbench run`.")],
    model_args: Annotated[str, typer.Option(help="Backend options: k=v,k2=v2.")] = "",
    no_chat_template: NoChatTemplate = False,
    samples: Annotated[
        int, typer.Option(min=1, help="Samples in the shared-prompt request.")
    ] = 200,
    naive_samples: Annotated[
        int, typer.Option(min=1, help="One-per-request baseline samples.")
    ] = 20,
    sampling_task: Annotated[str, typer.Option(help="Task to sample.")] = "dice_d6",
    scoring_task: Annotated[
        str, typer.Option(help="Task to score (100 candidates).")
    ] = "random_number_1_to_100",
    max_tokens: Annotated[int, typer.Option(min=1)] = 16,
    concurrency: Annotated[
        int | None,
        typer.Option(min=2, help="API backends: requests/s at concurrency 1 and at this."),
    ] = None,
    requests: Annotated[int, typer.Option(min=1, help="Requests timed at each concurrency.")] = 32,
    context_tokens: Annotated[
        int,
        typer.Option(
            min=0,
            help="hf backend with lm-eval installed: also sample a prompt of about this many "
            "tokens beside lm-eval's `repeats` path (0: skip).",
        ),
    ] = 500,
) -> None:
    """Throughput of sampling and exact scoring against naive loops, and the time of --tasks all."""
    tasks = load_tasks()
    (to_sample,) = select_tasks(tasks, [sampling_task])
    (to_score,) = select_tasks(tasks, [scoring_task])
    backend = load_backend(model_spec(model, model_args, no_chat_template))
    config = RunConfig(max_tokens=max_tokens)
    if concurrency is not None:
        print_concurrency(
            model, *bench_concurrency(backend, to_sample, requests, concurrency, config)
        )
        return
    measured, estimate = run_bench(
        backend, tasks, to_sample, to_score, n=samples, naive_n=min(naive_samples, samples),
        config=config, context_tokens=context_tokens,
    )  # fmt: skip
    label = f"{model} ({model_args})" if model_args else model
    table = Table(title=f"randbench bench: {label} on {platform.machine()}", title_justify="left")
    for column in ("mode", "rate", "tokens/s", "naive rate", "speed-up"):
        table.add_column(column)
    for m in measured:
        naive_rate = m.units / m.baseline_seconds if m.baseline_seconds else None
        table.add_row(
            m.name,
            f"{m.rate:.3g} {m.unit}/s",
            f"{m.tokens / m.seconds:.3g}" if m.tokens else "",
            f"{naive_rate:.3g} {m.unit}/s" if naive_rate else "",
            f"{m.speedup:.1f}x" if m.speedup else "",
        )
    console.print(table)
    console.print(f"peak memory: {peak_memory_mib():.0f} MiB")
    console.print(
        f"estimated time of --tasks all: {estimate.stopped / 60:.1f} min if every task stops "
        f"early at its first look, {estimate.full / 60:.1f} min with every sample; "
        f"--method logprob adds {estimate.exact / 60:.1f} min"
    )


def print_concurrency(model: str, sequential: Measurement, parallel: Measurement) -> None:
    """Requests/s at concurrency 1 and N, and their ratio (the server's parallel slots bound it)."""
    table = Table(title=f"randbench bench: {model}, concurrent requests", title_justify="left")
    for column in ("mode", "requests", "seconds", "rate"):
        table.add_column(column)
    for m in (sequential, parallel):
        table.add_row(m.name, f"{m.units:.0f}", f"{m.seconds:.2f}", f"{m.rate:.3g} requests/s")
    console.print(table)
    console.print(f"speed-up: {parallel.speedup or 0:.2f}x over one request at a time")
