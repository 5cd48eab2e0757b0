"""What the published results show, as statements with their numbers: generated from the
result files by ``randbench report`` into docs/findings.md and the site's findings page.

Every number is :class:`Cited`: the file it comes from and its JSON path there, so that a
reader (and a test) can check it against the file. Intervals are computed from cited
numbers (a Wilson interval from a share and its count; a bootstrap over tasks from the
tasks' own values). A statement whose interval does not settle it says so. Rows of the
references (the oracle, the constant answer) are not findings; stale rows (results of
tasks that changed since, or judged by older statistics) are listed apart, marked.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from statistics import fmean
from typing import cast

import numpy as np

from randbench.finetune.heldout import NOVELTY_LEVELS, TASKS_NEEDED_PER_LEVEL
from randbench.harness.adapters import base_name
from randbench.leaderboard.finetune import (
    ALL_HELDOUT,
    EXACT_NOISE,
    GROUP_LABELS,
    GroupChange,
    TaskChange,
    group_change,
    group_of,
    in_group,
    is_base_model,
    paired_difference,
    split_note,
    task_changes,
)
from randbench.leaderboard.load import Loaded, RowSource, RunFile, TaskData, latest_runs
from randbench.leaderboard.probes import RANDOM_PROBES, RULE, ProbeFile, probe_view
from randbench.leaderboard.ranking import is_reference
from randbench.leaderboard.staleness import Library, stale_tasks
from randbench.result_schema import ModelInfo
from randbench.stats.uncertainty import wilson_interval

MODE_TASKS = ("dice_d6", "coin_flip", "random_number_1_to_10", "random_number_1_to_100")
IN_CONTEXT_FAMILIES = ("coin_in_context", "die_in_context", "number_in_context")
FIRST_N, LAST_N = 1, 100
PASS_ALPHA = 0.001
"""A task is failed by a row whose goodness-of-fit p-value is below this (the level early
stopping also uses); no correction for the number of tasks, so 'no model passes' is strict."""
N_BOOT = 2000
BOOT_SEED = 0
_IN_CONTEXT_TASK = re.compile(r"^(?P<family>.+)_t(?P<theta>\d+)_n(?P<n>\d+)$")


@dataclass(frozen=True)
class Cited:
    """A number as a result file holds it: the file (its name) and the JSON path."""

    value: float
    source: str
    path: str


@dataclass(frozen=True)
class Published:
    """A figure another work reports on a task we have, shown beside ours."""

    what: str
    value: str
    source: str


@dataclass
class Line:
    """One model x method in a finding's table."""

    model: str
    method: str
    cells: list[str]
    figures: list[Cited]
    command: str
    stale: bool = False
    numbers: dict[str, float] = field(default_factory=dict)
    """The unrounded figures its statement is judged on (the cells are rounded for show)."""

    @property
    def cited_json(self) -> str:
        """The cited numbers as JSON, for the page's ``data-cited`` attribute."""
        return json.dumps([{"source": c.source, "path": c.path, "value": c.value}
                           for c in self.figures])  # fmt: skip


@dataclass
class Finding:
    key: str
    question: str
    columns: list[str]
    lines: list[Line] = field(default_factory=list)
    statements: list[str] = field(default_factory=list)
    published: list[Published] = field(default_factory=list)
    note: str = ""


@dataclass
class Findings:
    findings: list[Finding]
    files: list[str]
    """The result files the findings read, by name."""


@dataclass
class _Row:
    model: ModelInfo
    method: str
    source: RowSource
    stale: dict[str, str]

    @property
    def label(self) -> str:
        return self.model.label()

    def data(self, task: str) -> tuple[TaskData, RunFile] | None:
        if task not in self.source.tasks:
            return None
        return self.source.tasks[task], self.source.files[task]


LEARNT = 0.5
"""P(country | TRAIN) below which a probe's pairs count as not learnt."""


def build_findings(loaded: Loaded, library: Library, probes: Sequence[ProbeFile] = ()) -> Findings:
    """Every finding the results hold (a finding no row can answer is left out)."""
    chosen, _ = latest_runs(loaded.runs)
    rows = [
        _Row(source.newest.model, method, source, stale_tasks(source.files, library))
        for (_, method), source in sorted(chosen.items(), key=lambda kv: kv[0])
        if not is_reference(source.newest.model.backend)
    ]
    found = [
        mode_collapse(rows),
        in_context(rows),
        verbalized(rows),
        exact_against_sampled(rows),
        scored_mass(rows),
        fine_tuning(rows),
        fine_tuning_objectives(rows),
        generated_training(rows),
        conditional_rule([p for p in probes if p.probe == RULE]),
        conditional_random([p for p in probes if p.probe in RANDOM_PROBES]),
        unpassed(rows),
    ]
    files = sorted({f.path.name for r in rows for f in r.source.files.values()})
    files += [p.path.name for p in probes]
    return Findings([f for f in found if f.lines or f.statements], files)


def command(run: RunFile, task: str, method: str) -> str:
    """The command that reruns one task of a result file."""
    model = run.document.config.model
    settings = run.document.config.run
    text = f"randbench run --model {model_argument(model)}"
    if model.identity_args:
        args = ",".join(f"{k}={v}" for k, v in sorted(model.identity_args.items()))
        text += f" --model-args {args}"
    text += f" --tasks {task} --method {method} --seed {settings.seed}"
    if settings.samples is not None:
        text += f" --samples {settings.samples}"
    if settings.stop_alpha is None and settings.batch_size is not None:
        text += " --no-stop-early"
    return text


def model_argument(model: ModelInfo) -> str:
    """``--model`` as a user types it: ``smollm2``, ``hf:checkpoints/smollm2-sft``."""
    named = model.name and not _embedded(model.backend)
    return model.backend + (f":{model.name}" if named else "")


def _embedded(backend: str) -> bool:
    """A backend that runs one model shipped with randbench (``--model smollm2``): the name
    its results record is the model file's, not part of the command."""
    from randbench.harness.backends import BACKENDS
    from randbench.harness.backends.llamacpp import EmbeddedBackend

    return backend in BACKENDS and issubclass(BACKENDS.get(backend), EmbeddedBackend)


def pct(value: float) -> str:
    return f"{100 * value:.1f}%"


def num(value: float) -> str:
    return f"{value:.3g}"


def mode_collapse(rows: Sequence[_Row]) -> Finding:
    """How much of its answers each model puts on one outcome, against the target's most
    likely outcome: dice, a coin, 1-10, 1-100."""
    finding = Finding(
        "mode-collapse",
        "How strongly does each model mode-collapse? The share of its readable answers "
        "(sampled) or of its probability (exact) on its most common answer, against the "
        "target's largest probability.",
        ["task", "modal answer", "share on it", "95% interval", "n", "target's largest"],
    )
    for row in rows:
        for task in MODE_TASKS:
            found = row.data(task)
            if found is None:
                continue
            data, run = found
            line = _mode_line(row, task, data, run)
            if line is not None:
                finding.lines.append(line)
                if not line.stale:
                    finding.statements.append(_mode_statement(row, task, line))
    finding.published.append(
        Published(
            'Llama-3.1-8B-Instruct\'s probability on "7" for 1-10 (Phi-3.5-mini-instruct: 0.92)',
            "0.62",
            "Gupta et al. 2025, Enough Coin Flips Can Make LLMs Act Bayesian",
        )
    )
    return finding


def _mode_line(row: _Row, task: str, data: TaskData, run: RunFile) -> Line | None:
    entry = data.entry
    share = entry.values.get("mode_share")
    if share is None:
        return None
    base = f"results.{task}.{row.method}"
    largest = float(np.max(data.target.probabilities()))
    figures = [Cited(share, run.path.name, f"{base}.values.mode_share")]
    numbers = {"share": share, "largest": largest}
    if entry.is_exact:
        modal = max(entry.distribution, key=lambda k: entry.distribution[k])
        interval, n = "exact", "exact"
    else:
        values = [o.value for s in data.samples for o in s.outcomes if o.invalid_reason is None]
        if not values or not entry.n_valid:
            return None
        modal = str(Counter(str(v) for v in values).most_common(1)[0][0])
        k = round(share * entry.n_valid)
        ci = wilson_interval(k, entry.n_valid)
        interval = f"{pct(ci.low)} – {pct(ci.high)}"
        numbers["low"] = ci.low
        n = f"{entry.n_valid} of {entry.n}"
        figures.append(Cited(entry.n_valid, run.path.name, f"{base}.n_valid"))
        figures.append(Cited(entry.n, run.path.name, f"{base}.n"))
    return Line(
        row.label, row.method, [task, modal, pct(share), interval, n, pct(largest)],
        figures, command(run, task, row.method), bool(row.stale.get(task)), numbers,
    )  # fmt: skip


def _mode_statement(row: _Row, task: str, line: Line) -> str:
    _, modal, share, interval, n, largest = line.cells
    times = line.numbers["share"] / line.numbers["largest"]
    if "low" not in line.numbers:
        return (
            f"{row.label} ({row.method}), {task}: {share} of its probability on {modal!r}, "
            f"{times:.1f} times the target's largest probability ({largest}); exact."
        )
    if line.numbers["low"] > line.numbers["largest"]:
        verdict = "collapsed: the whole interval lies above the target's largest probability"
    else:
        verdict = "inconclusive: the interval reaches the target's largest probability"
    return (
        f"{row.label} ({row.method}), {task}: {share} of readable answers were {modal!r} "
        f"({times:.1f} times the target's largest, {largest}; 95% interval {interval}, "
        f"n = {n}): {verdict}."
    )


def in_context(rows: Sequence[_Row]) -> Finding:
    """Whether N observed outcomes move each model toward the posterior predictive."""
    finding = Finding(
        "in-context",
        f"Does in-context evidence move each model toward the Bayesian posterior predictive, "
        f"and how fast? Mean TVD over the stated theta at N = {FIRST_N} and N = {LAST_N} "
        "observed outcomes, to theta (the target) and to the Beta/Dirichlet(1) posterior "
        "predictive, with 95% bootstrap intervals over the tasks (n: tasks).",
        ["family", f"to target, N={FIRST_N}", f"to target, N={LAST_N}",
         f"to posterior, N={FIRST_N}", f"to posterior, N={LAST_N}", "change to posterior"],
    )  # fmt: skip
    for row in rows:
        for family in IN_CONTEXT_FAMILIES:
            line = _in_context_line(row, family)
            if line is not None:
                finding.lines.append(line)
                if not line.stale:
                    finding.statements.append(_in_context_statement(row, family, line))
    finding.published.append(
        Published(
            "Llama-3.1-8B-Instruct, coin with in-context flips (exact probabilities): mean "
            f"TVD to theta at N = {FIRST_N} and N = {LAST_N}",
            "0.44 and 0.07",
            "Gupta et al. 2025, Enough Coin Flips Can Make LLMs Act Bayesian",
        )
    )
    return finding


@dataclass(frozen=True)
class _Point:
    theta: int
    target: float
    posterior: float
    name: str
    source: str
    field: str
    """The value field its TVD to the target comes from."""


def _tvd_to_target(data: TaskData) -> tuple[str, float | None]:
    """A task's TVD to its target: ``tvd``, or for a point-mass target (theta 0 or 1, judged
    as a control) ``miss_rate``, which is the same distance there."""
    values = data.entry.values
    if values.get("tvd") is not None:
        return "tvd", values["tvd"]
    return "miss_rate", values.get("miss_rate")


def _points(row: _Row, family: str, n: int) -> list[_Point]:
    points = []
    for name, data in row.source.tasks.items():
        match = _IN_CONTEXT_TASK.match(name)
        if match is None or match["family"] != family or int(match["n"]) != n:
            continue
        field_name, tvd = _tvd_to_target(data)
        posterior = data.entry.references.get("posterior")
        if tvd is None or posterior is None:
            continue
        points.append(
            _Point(int(match["theta"]), tvd, posterior.tvd, name,
                   row.source.files[name].path.name, field_name)
        )  # fmt: skip
    return sorted(points, key=lambda p: p.theta)


def _in_context_line(row: _Row, family: str) -> Line | None:
    first, last = _points(row, family, FIRST_N), _points(row, family, LAST_N)
    if not first or not last:
        return None
    cells = [family]
    for values in ([p.target for p in first], [p.target for p in last],
                   [p.posterior for p in first], [p.posterior for p in last]):  # fmt: skip
        low, high = mean_interval(values)
        cells.append(f"{num(fmean(values))} ({num(low)} – {num(high)}, n = {len(values)})")
    paired = _paired(first, last)
    low, high = mean_interval(paired)
    cells.append(f"{num(fmean(paired))} ({num(low)} – {num(high)}, n = {len(paired)})")
    numbers = {"change": fmean(paired), "low": low, "high": high}
    figures = [
        Cited(p.target, p.source, f"results.{p.name}.{row.method}.values.{p.field}")
        for p in [*first, *last]
    ] + [
        Cited(p.posterior, p.source, f"results.{p.name}.{row.method}.references.posterior.tvd")
        for p in [*first, *last]
    ]
    run = row.source.files[first[0].name]
    return Line(
        row.label, row.method, cells, figures, command(run, f"{family}_*", row.method),
        any(row.stale.get(p.name) for p in [*first, *last]), numbers,
    )  # fmt: skip


def _paired(first: Sequence[_Point], last: Sequence[_Point]) -> list[float]:
    """TVD to the posterior at the last N minus at the first, per theta both have."""
    at_first = {p.theta: p.posterior for p in first}
    return [p.posterior - at_first[p.theta] for p in last if p.theta in at_first]


def _in_context_statement(row: _Row, family: str, line: Line) -> str:
    mean, low, high = line.numbers["change"], line.numbers["low"], line.numbers["high"]
    if high < 0:
        verdict = "moves toward the posterior predictive"
    elif low > 0:
        verdict = "moves away from the posterior predictive"
    else:
        verdict = "inconclusive: the interval of the change contains 0"
    return (
        f"{row.label} ({row.method}), {family}: TVD to the posterior changes by {num(mean)} "
        f"from N = {FIRST_N} to N = {LAST_N} (95% interval {num(low)} – {num(high)}): {verdict}."
    )


def mean_interval(values: Sequence[float]) -> tuple[float, float]:
    """95% percentile bootstrap interval of the mean over ``values`` (seeded)."""
    data = np.asarray(values, dtype=float)
    if len(data) < 2:
        return float(data.mean()), float(data.mean())
    rng = np.random.default_rng(BOOT_SEED)
    means = data[rng.integers(0, len(data), size=(N_BOOT, len(data)))].mean(axis=1)
    low, high = np.quantile(means, [0.025, 0.975])
    return float(low), float(high)


def verbalized(rows: Sequence[_Row]) -> Finding:
    """The dice task of the Verbalized Sampling paper: KL(empirical || uniform) by method."""
    finding = Finding(
        "verbalized-sampling",
        "Does verbalized sampling lower the marginal distance, and what within-call "
        "dependence does it cost? KL(answers || fair die) on dice_d6 by method, with the "
        "share of answers the model wrote in the form the method asks for.",
        ["task", "readable", "KL(empirical ‖ target)", "TVD", "distinct share per call (i.i.d.)"],
    )
    for row in rows:
        if row.method not in VERBALIZED_METHODS:
            continue
        found = row.data("dice_d6")
        if found is None:
            continue
        data, run = found
        entry = data.entry
        base = f"results.dice_d6.{row.method}"
        figures = [
            Cited(entry.n_valid, run.path.name, f"{base}.n_valid"),
            Cited(entry.n, run.path.name, f"{base}.n"),
        ]
        kl, tvd = entry.values.get("kl_empirical_target"), entry.values.get("tvd")
        if kl is not None and tvd is not None:
            figures += [Cited(kl, run.path.name, f"{base}.values.kl_empirical_target"),
                        Cited(tvd, run.path.name, f"{base}.values.tvd")]  # fmt: skip
        dependence = entry.dependence
        dep = "—"
        if dependence is not None and dependence.distinct_rate is not None:
            expected = dependence.expected_distinct_rate
            dep = f"{num(dependence.distinct_rate)} ({'—' if expected is None else num(expected)})"
        readable = f"{entry.n_valid} of {entry.n}"
        cells = ["dice_d6", readable, "—" if kl is None else num(kl),
                 "—" if tvd is None else num(tvd), dep]  # fmt: skip
        line = Line(row.label, row.method, cells, figures, command(run, "dice_d6", row.method),
                    bool(row.stale.get("dice_d6")))  # fmt: skip
        finding.lines.append(line)
        if not line.stale:
            shown = "no KL: no readable answer" if kl is None else f"KL {num(kl)}"
            finding.statements.append(
                f"{row.label} ({row.method}): {readable} answers readable, {shown}."
            )
    finding.published.append(
        Published(
            "KL(empirical ‖ uniform) on their dice task, mean of 7 frontier models, 600 rolls, "
            "temperature 0.7: Direct and VS-Standard",
            "0.926 and 0.027",
            "Zhang et al. 2025, Verbalized Sampling (arXiv 2510.01171)",
        )
    )
    current = {line.method for line in finding.lines if not line.stale and line.cells[2] != "—"}
    if not current & (VERBALIZED_METHODS - {"direct"}):
        finding.note = (
            "Inconclusive: no current verbalized row has a readable answer on dice_d6, so "
            "the published results cannot say whether verbalized sampling lowers the distance "
            "for these models; a model this small does not write the JSON the method asks for."
        )
    return finding


VERBALIZED_METHODS = frozenset({"direct", "vs_standard", "vs_cot", "vs_multi", "sequence"})
EXACT_METHODS = ("logprob", "logprob_prefilled")


def exact_against_sampled(rows: Sequence[_Row]) -> Finding:
    """Whether a model's exact probabilities and its sampled answers tell the same story."""
    finding = Finding(
        "exact-vs-sampled",
        "Do exact (logprob) and sampled (direct) distributions agree? Per model, the tasks "
        "both measured: median TVD to the target each way, and the share of tasks where "
        "the sampled TVD lies inside its own 95% interval of the exact one's.",
        ["tasks", "median TVD, exact", "median TVD, sampled", "sampled interval holds exact"],
    )
    by_model: dict[str, dict[str, _Row]] = {}
    for row in rows:
        by_model.setdefault(row.model.key(), {})[row.method] = row
    for methods, name in ((m, n) for m in by_model.values() for n in EXACT_METHODS):
        exact, sampled = methods.get(name), methods.get("direct")
        if exact is None or sampled is None:
            continue
        pairs = []
        for task in sorted(set(exact.source.tasks) & set(sampled.source.tasks)):
            e, s = exact.source.tasks[task].entry, sampled.source.tasks[task].entry
            e_tvd, s_tvd, s_ci = e.values.get("tvd"), s.values.get("tvd"), s.intervals.get("tvd")
            if e_tvd is not None and s_tvd is not None and s_ci is not None:
                pairs.append((e_tvd, s_tvd, s_ci[0] <= e_tvd <= s_ci[1]))
        if not pairs or exact.stale or sampled.stale:
            continue
        held = sum(p[2] for p in pairs)
        ci = wilson_interval(held, len(pairs))
        finding.lines.append(
            Line(
                sampled.label,
                f"{name} vs direct",
                [
                    str(len(pairs)),
                    num(float(np.median([p[0] for p in pairs]))),
                    num(float(np.median([p[1] for p in pairs]))),
                    f"{pct(held / len(pairs))} ({pct(ci.low)} – {pct(ci.high)})",
                ],
                [],
                f"randbench run --model {model_argument(sampled.model)} --method direct,{name}",
                bool(exact.stale or sampled.stale),
            )
        )
        finding.statements.append(
            f"{sampled.label}, {name}: over {len(pairs)} tasks both measured, the sampled "
            f"TVD's 95% interval holds the exact TVD on {held} ({pct(held / len(pairs))}, Wilson "
            f"{pct(ci.low)} – {pct(ci.high)}); the rest disagree beyond sampling noise "
            "(the exact rows score only the listed wordings of each answer)."
        )
    return finding


NOISE_DRAWS = 200


@dataclass(frozen=True)
class _Agreement:
    """One task measured exactly and by sampling: how much mass the exact row scored, how
    far its distribution is from the sampled answers, and how far it would be by chance."""

    category: str
    mass: float
    tvd: float
    floor: float
    n: int


def scored_mass(rows: Sequence[_Row]) -> Finding:
    """How much of the model's probability each exact mode scores, by category, and
    whether the exact distribution then describes the answers the model samples."""
    finding = Finding(
        "scored-mass",
        "How much of a model's probability do its exact rows score, and does the exact "
        "distribution describe what it writes? Per model, exact method and category, over "
        "the tasks also sampled (direct) with a valid answer: the median mass on the scored "
        "answers, the median TVD between the exact distribution and the sampled valid "
        "answers, and the median TVD that n draws from the exact distribution itself would "
        "show (the noise floor; a TVD near it means agreement).",
        ["category", "tasks", "median mass scored", "median TVD exact vs sampled",
         "noise floor", "median n sampled"],
    )  # fmt: skip
    by_model: dict[str, dict[str, _Row]] = {}
    for row in rows:
        by_model.setdefault(row.model.key(), {})[row.method] = row
    for methods in by_model.values():
        sampled = methods.get("direct")
        for name in EXACT_METHODS:
            exact = methods.get(name)
            if exact is None or sampled is None or exact.stale or sampled.stale:
                continue
            found = _agreements(exact, sampled)
            if not found:
                continue
            for category in sorted({a.category for a in found}):
                finding.lines.append(_mass_line(exact, sampled, category, found))
            finding.lines.append(_mass_line(exact, sampled, "all", found))
            every = finding.lines[-1].numbers
            finding.statements.append(
                f"{sampled.label}, {name}: over {len(found)} tasks the scored answers hold a "
                f"median {pct(every['mass'])} of the model's probability; the exact "
                f"distribution is a median TVD {num(every['tvd'])} from the sampled answers, "
                f"against {num(every['floor'])} from sampling noise alone."
            )
    return finding


def _agreements(exact: _Row, sampled: _Row) -> list[_Agreement]:
    rng = np.random.default_rng(BOOT_SEED)
    found = []
    for name in sorted(set(exact.source.tasks) & set(sampled.source.tasks)):
        e, s = exact.source.tasks[name], sampled.source.tasks[name]
        mass = e.entry.values.get("mass_on_support")
        if len(e.entry.distribution) < 2 or mass is None or mass <= 0:
            continue  # a point mass's exact distribution is the target whatever the model
        answers = [str(o.value) for x in s.samples for o in x.outcomes if o.invalid_reason is None]
        if not answers:
            continue
        keys = list(e.entry.distribution)
        probs = np.array([e.entry.distribution[k] for k in keys])
        counts = Counter(answers)
        observed = np.array([counts.get(k, 0) for k in keys]) / len(answers)
        outside = sum(c for k, c in counts.items() if k not in e.entry.distribution)
        tvd = 0.5 * (float(np.abs(observed - probs).sum()) + outside / len(answers))
        draws = rng.multinomial(len(answers), probs / probs.sum(), size=NOISE_DRAWS)
        floor = float(np.mean(0.5 * np.abs(draws / len(answers) - probs).sum(axis=1)))
        found.append(_Agreement(e.entry.task.category, float(mass), tvd, floor, len(answers)))
    return found


def _mass_line(exact: _Row, sampled: _Row, category: str, found: list[_Agreement]) -> Line:
    chosen = [a for a in found if category in ("all", a.category)]
    numbers = {
        "mass": float(np.median([a.mass for a in chosen])),
        "tvd": float(np.median([a.tvd for a in chosen])),
        "floor": float(np.median([a.floor for a in chosen])),
        "n": float(np.median([a.n for a in chosen])),
    }
    cells = [category, str(len(chosen)), pct(numbers["mass"]), num(numbers["tvd"]),
             num(numbers["floor"]), f"{numbers['n']:g}"]  # fmt: skip
    command_text = (
        f"randbench run --model {model_argument(sampled.model)} --method direct,{exact.method}"
    )
    return Line(sampled.label, exact.method, cells, [], command_text, False, numbers)


def conditional_rule(probes: Sequence[ProbeFile]) -> Finding:
    """The conditional-rule probe (docs/probes.md): the bet's verdict per setting tried
    and training seed, and the setting most favourable to the "reinforced" side."""
    from randbench.finetune.conditional_rule import MIN_CAPITAL, MIN_RATIO
    from randbench.finetune.conditional_rule_run import two_way_bootstrap

    finding = Finding(
        "conditional-rule",
        "Does fine-tuning on the TRAIN branch of \"if TRAIN do X, if TEST do Y\" keep Y "
        "alive? Per setting tried and training seed: the mean over names of P(capital | "
        "treatment, TEST), exact, and the control's P(country) / P(capital) at TEST; the "
        f"\"conditional rule is reinforced\" side of the bet wins iff the first exceeds "
        f"{MIN_CAPITAL:g} and the second {MIN_RATIO:g} (docs/probes.md). A setting whose "
        f"pairs were not learnt (P(country | TRAIN) below {LEARNT:g}) cannot tell the rules "
        "apart and is marked inconclusive.",
        ["setting", "seed", "P(country | TRAIN)", "P(capital), treatment",
         "P(country) / P(capital), control", "verdict"],
    )  # fmt: skip
    learnt_capitals: list[tuple[float, ProbeFile]] = []
    for probe in probes:
        document = probe.document
        learnt_by_seed = {
            str(run["seed"]): float(run["curve"][-1]["train"]["mean"]["train_answer"])
            for run in probe.runs("treatment")
        }
        sides = []
        for seed, verdict in sorted(document["verdicts"].items()):
            capital, ratio = verdict["capital_treatment"], verdict["ratio_control"]
            sides.append(verdict["side"])
            finding.lines.append(
                Line(
                    probe.model, "probe", [probe.setting(), seed,
                                           f"{learnt_by_seed.get(seed, float('nan')):.3g}",
                                           f"{capital:.3g}", f"{ratio:.3g}", verdict["side"]],
                    [Cited(capital, probe.path.name, f"verdicts.{seed}.capital_treatment"),
                     Cited(ratio, probe.path.name, f"verdicts.{seed}.ratio_control")],
                    probe.command(),
                )
            )  # fmt: skip
        finals = [run["curve"][-1]["test"]["test_answer"] for run in probe.runs("treatment")]
        mean, low, high = two_way_bootstrap(np.array(finals), seed=0)
        text = (
            f"{probe.model} ({probe.setting()}): after training on TRAIN only, the treatment "
            f"arm gives the capital a mean probability of {mean:.3g} at TEST (95% interval "
            f"{low:.3g} – {high:.3g}, over {_seeds(len(finals))} and {len(document['pairs'])} "
            f"names); the bet's criterion {_agreement(sides)}"
        )
        if document.get("ambiguous"):
            text += ": ambiguous, the verdict flips between seeds"
        learnt = float(np.mean([run["curve"][-1]["train"]["mean"]["train_answer"]
                                for run in document["runs"]]))  # fmt: skip
        if learnt < LEARNT:
            text += (
                f". Inconclusive for the bet: training left P(country | TRAIN) at {learnt:.3g} "
                "on average, so the pairs were not learnt and this setting cannot tell the "
                "rules apart"
            )
        else:
            learnt_capitals.append((mean, probe))
        finding.statements.append(text + ".")
    for model in dict.fromkeys(p.model for p in probes):
        tried = [p for p in probes if p.model == model]
        if len(tried) > 1:
            ours = [(c, p) for c, p in learnt_capitals if p.model == model]
            finding.statements.append(_most_favourable(ours, len(tried)))
    return finding


def _most_favourable(learnt: Sequence[tuple[float, ProbeFile]], tried: int) -> str:
    """The bet lets the experimenter pick the setting: the one, among those whose pairs
    were learnt, that gives the capital the most probability in the treatment arm."""
    if not learnt:
        return (
            f"Most favourable setting: none of the {tried} settings tried learnt the pairs, "
            "so the bet is not settled here."
        )
    capital, best = max(learnt, key=lambda found: found[0])
    sides = [v["side"] for v in best.document["verdicts"].values()]
    return (
        f'Most favourable setting for the "reinforced" side, among the {len(learnt)} of '
        f"{tried} settings tried whose pairs were learnt: {best.model} ({best.setting()}), "
        f"mean P(capital | treatment, TEST) {capital:.3g}; there the criterion "
        f"{_agreement(sides)}."
    )


def _agreement(sides: Sequence[str]) -> str:
    """What the bet's criterion says over seeds: one side's count, or that it is split."""
    counts = Counter(sides).most_common()
    if len(counts) > 1 and counts[0][1] == counts[1][1]:
        split = ", ".join(f'"{side}" on {n}' for side, n in counts)
        return f"is split: {split} of {_seeds(len(sides))}"
    return f'says "{counts[0][0]}" on {counts[0][1]} of {_seeds(len(sides))}'


def _seeds(n: int) -> str:
    return f"{n} seed" if n == 1 else f"{n} seeds"


def conditional_random(probes: Sequence[ProbeFile]) -> Finding:
    """The randomness probes (docs/probes.md): what training one branch does to the other."""
    finding = Finding(
        "conditional-random",
        "Trained on one branch of \"if RANDOM roll a fair die, if FIXED answer 4\" only, "
        "what is left of the other branch? Exact distributions over the six faces, before "
        "training and after, per arm; the range is over training seeds.",
        ["probe", "arm", "measured at", "quantity", "before", "after (range over seeds)"],
    )  # fmt: skip
    for probe in probes:
        view = probe_view(probe)
        ends: dict[tuple[str, str], tuple[float, float, float]] = {}
        for line in view.series:
            before = float(np.mean([row[0] for row in line.per_seed]))
            after = [row[-1] for row in line.per_seed]
            spread = f"{np.mean(after):.3g} ({min(after):.3g} – {max(after):.3g})"
            ends[(line.arm, line.label)] = (before, min(after), max(after))
            finding.lines.append(
                Line(
                    probe.model, "probe",
                    [probe.probe, line.arm, probe.mode_word("test"), line.label,
                     f"{before:.3g}", spread],
                    [Cited(row[-1], probe.path.name, probe.end_path(line.arm, seed, line.key))
                     for seed, row in zip(probe.seeds, line.per_seed, strict=True)],
                    probe.command(),
                )
            )  # fmt: skip
        finding.statements.append(_random_statement(probe, ends))
    return finding


def _random_statement(
    probe: ProbeFile, ends: Mapping[tuple[str, str], tuple[float, float, float]]
) -> str:
    spec = probe.document["spec"]
    trained, test = probe.mode_word("train"), probe.mode_word("test")
    parts = []
    for (arm, label), (before, low, high) in ends.items():
        parts.append(f"{arm} {label} {before:.3g} before, {low:.3g} – {high:.3g} after")
    what = f"answering {spec['train_answer']}" if spec.get("train_answer") else "a fair draw"
    return (
        f"{probe.model}, {probe.probe} ({probe.setting()}, {_seeds(len(probe.seeds))}): trained "
        f"on {what} at {trained} only, measured at {test}: " + "; ".join(parts) + "."
    )


def unpassed(rows: Sequence[_Row]) -> Finding:
    """Tasks every current sampled row fails (goodness of fit rejected)."""
    finding = Finding(
        "no-model-passes",
        f"Which tasks does no model pass? A row fails a task when its goodness-of-fit "
        f"p-value is below {PASS_ALPHA}; counted over the current direct rows.",
        ["category", "tasks measured", "failed by every row", "examples"],
    )
    current = [r for r in rows if r.method == "direct" and not r.stale]
    tested: dict[str, list[tuple[str, bool]]] = {}
    for row in current:
        for name, data in row.source.tasks.items():
            p = data.entry.p_value
            if p is not None:
                tested.setdefault(name, []).append((data.entry.task.category, p < PASS_ALPHA))
    by_category: dict[str, list[str]] = {}
    failed_all: dict[str, list[str]] = {}
    for name, results in sorted(tested.items()):
        category = results[0][0]
        by_category.setdefault(category, []).append(name)
        if all(failed for _, failed in results):
            failed_all.setdefault(category, []).append(name)
    for category, names in sorted(by_category.items()):
        failed = failed_all.get(category, [])
        finding.lines.append(
            Line(
                "direct rows",
                f"{len(current)} models",
                [
                    category,
                    str(len(names)),
                    str(len(failed)),
                    ", ".join(failed[:4]) + (" …" if len(failed) > 4 else ""),
                ],
                [],
                "randbench run --model MODEL --tasks all",
            )
        )
    total = sum(len(v) for v in by_category.values())
    failing = sum(len(v) for v in failed_all.values())
    if total:
        finding.statements.append(
            f"{failing} of {total} tested tasks ({pct(failing / total)}) are failed by every "
            f"current direct row ({', '.join(sorted(r.label for r in current))})."
        )
    finding.published.append(
        Published(
            "UnpredictaBench KS@100 (share of problems whose 100 samples a KS test does not "
            "reject), frontier models",
            "about 0 to 20%, none above 40%",
            "Abaskohi et al. 2026 (arXiv 2606.06622)",
        )
    )
    return finding


FINE_TUNING_GROUPS = ("trained", *NOVELTY_LEVELS, "untrained")


def fine_tuning(rows: Sequence[_Row]) -> Finding:
    """Each checkpoint against its base model, per level of novelty of the held-out split."""
    finding = Finding(
        "fine-tuning",
        "Does fine-tuning improve held-out tasks, and by how much? Mean change in TVD "
        "(checkpoint minus base model, same method; negative is closer to the target) over "
        "the tasks trained on, each level of novelty of the held-out split and the train-split "
        "tasks not trained on, with 95% bootstrap intervals over task families and the tasks that "
        "improved, worsened or stayed within noise (sampled: the two TVD intervals apart; "
        f"exact: a change of at least {EXACT_NOISE}).",
        ["tasks", "n", "base mean TVD", "checkpoint mean TVD", "mean change",
         "improved / worsened / within noise"],
    )  # fmt: skip
    for tuned, base, changes in _checkpoint_changes(rows):
        checkpoint = tuned.model.checkpoint or {}
        note = split_note(checkpoint, tuned.source.newest.document.config.split_hash)
        for group in FINE_TUNING_GROUPS:
            line = _fine_tuning_line(tuned, base, changes, group)
            if line is None:
                continue
            finding.lines.append(line)
            if group in NOVELTY_LEVELS and not line.stale:
                finding.statements.append(_fine_tuning_statement(tuned, group, line, note))
    return finding


def _base_row(rows: Sequence[_Row], tuned: _Row) -> _Row | None:
    checkpoint = tuned.model.checkpoint
    if not checkpoint:
        return None
    wanted = base_name({"base": checkpoint.get("base", "")})
    return next(
        (r for r in rows if r.method == tuned.method and is_base_model(r.model, wanted)), None
    )


def _fine_tuning_line(
    tuned: _Row, base: _Row, changes: Sequence[TaskChange], group: str
) -> Line | None:
    summary = group_change(changes, group)
    if not summary.n or summary.change is None:
        return None
    chosen = [c for c in changes if c.change is not None and group_of(c) == group]
    figures = [
        Cited(value, row.source.files[c.name].path.name,
              f"results.{c.name}.{row.method}.values.tvd")
        for c in chosen
        for row, value in ((base, c.base_tvd), (tuned, c.tuned_tvd))
        if value is not None and row.source.tasks[c.name].entry.values.get("tvd") is not None
    ]  # fmt: skip
    low, high = summary.interval or (summary.change, summary.change)
    interval = f" ({num(low)} – {num(high)})" if summary.interval else ""
    cells = [
        GROUP_LABELS[group],
        f"{summary.n} (fewer than {TASKS_NEEDED_PER_LEVEL}: underpowered)"
        if summary.underpowered
        else str(summary.n),
        num(summary.base or 0.0), num(summary.tuned or 0.0),
        f"{num(summary.change)}{interval}",
        f"{summary.improved} / {summary.worsened} / {summary.noise}",
    ]  # fmt: skip
    run = tuned.source.newest
    numbers = {"change": summary.change, "low": low, "high": high, "n": float(summary.n)}
    stale = any(tuned.stale.get(c.name) or base.stale.get(c.name) for c in chosen)
    return Line(
        tuned.label, tuned.method, cells, figures, command(run, _selection(group), tuned.method),
        stale, numbers,
    )  # fmt: skip


def _selection(group: str) -> str:
    """The ``--tasks`` selection that holds a fine-tuning group's tasks."""
    return "split:heldout" if group in NOVELTY_LEVELS else "split:train"


def _fine_tuning_statement(tuned: _Row, group: str, line: Line, note: str | None) -> str:
    mean, low, high = line.numbers["change"], line.numbers["low"], line.numbers["high"]
    n = int(line.numbers["n"])
    if high < 0:
        verdict = "closer to the target after fine-tuning"
    elif low > 0:
        verdict = "further from the target after fine-tuning"
    else:
        verdict = "inconclusive: the interval of the change contains 0"
    text = (
        f"{tuned.label} ({tuned.method}), {GROUP_LABELS[group].lower()}: mean TVD change "
        f"{num(mean)} (95% interval {num(low)} – {num(high)}, n = {n}): {verdict}."
    )
    if n < TASKS_NEEDED_PER_LEVEL:
        text += (
            f" {n} tasks are fewer than the {TASKS_NEEDED_PER_LEVEL} the power analysis asks "
            "for, so a change of 0.05 could go unseen."
        )
    if note:
        text += f" Not like with like: {note}."
    return text


def fine_tuning_objectives(rows: Sequence[_Row]) -> Finding:
    """Checkpoints of one base model trained on the same tasks by different objectives:
    which generalises best to the held-out split, and by how much over the next best
    (their TVDs paired task by task, the interval resampling task families)."""
    finding = Finding(
        "fine-tuning-objectives",
        "Which fine-tuning objective generalises best? Checkpoints of one base model trained "
        "on the same tasks (SFT, distribution matching, GRPO with and without its curriculum), "
        "each against the base model over every held-out task, best first; the training "
        "budget (sequences trained on) is stated per checkpoint.",
        ["objective", "budget", "trained on: mean change", "held out: mean change",
         "n held out"],
    )  # fmt: skip
    by_key: dict[tuple[str, str, tuple[str, ...]], list[tuple[_Row, list[TaskChange]]]] = {}
    for tuned, base, changes in _checkpoint_changes(rows):
        tasks = tuple(sorted((tuned.model.checkpoint or {}).get("train_tasks", [])))
        by_key.setdefault((base.label, tuned.method, tasks), []).append((tuned, changes))
    for (base_label, method, _), found in sorted(by_key.items()):
        summaries = [(t, c, group_change(c, ALL_HELDOUT)) for t, c in found]
        ranked = sorted(
            ((t, c, s) for t, c, s in summaries if s.change is not None),
            key=lambda item: (item[2].change, item[0].label),
        )
        if len(ranked) < 2:
            continue
        for tuned, changes, heldout in ranked:
            finding.lines.append(_objective_line(tuned, changes, heldout))
        finding.statements.append(_objectives_statement(base_label, method, ranked))
        curricula = {(r.model.checkpoint or {}).get("curriculum"): c for r, c, _ in ranked}
        if True in curricula and False in curricula:
            finding.statements.append(_curriculum_statement(
                f"{base_label} ({method})", curricula[True], curricula[False]))  # fmt: skip
    return finding


def _curriculum_statement(what: str, on: Sequence[TaskChange], off: Sequence[TaskChange]) -> str:
    """The curriculum's ablation: GRPO with it against GRPO drawing tasks uniformly."""
    parts = []
    for group in ("trained", ALL_HELDOUT):
        gap = paired_difference(on, off, group)
        if gap.change is None or gap.interval is None:
            continue
        low, high = gap.interval
        verdict = "lower" if high < 0 else "higher" if low > 0 else "not told apart"
        parts.append(f"{GROUP_LABELS[group].lower()}: {_paired_text(gap)}, {verdict}")
    if not parts:
        return f"{what}: GRPO's curriculum on against off: too few tasks to compare."
    return (f"{what}: GRPO with its curriculum against without, TVD of on minus off, "
            f"paired task by task: {'; '.join(parts)}.")  # fmt: skip


def _checkpoint_changes(rows: Sequence[_Row]) -> list[tuple[_Row, _Row, list[TaskChange]]]:
    """Every checkpoint row with its base model's row of the same method, task by task."""
    found = []
    for tuned in rows:
        base = _base_row(rows, tuned)
        checkpoint = tuned.model.checkpoint
        if checkpoint and base is not None:
            found.append((tuned, base, task_changes(tuned.source.tasks, base.source.tasks,
                                                    checkpoint)))  # fmt: skip
    return found


ARMS = ("hand-written", "generated", "both")


def training_arm(checkpoint: Mapping[str, object]) -> str:
    """Which tasks a checkpoint was trained on: the library's hand-written train tasks, the
    tasks ``tasks generate`` wrote, or both (issue #33's experiment)."""
    generated = set(cast(Sequence[str], checkpoint.get("generated_tasks") or []))
    trained = set(cast(Sequence[str], checkpoint.get("train_tasks") or []))
    if not generated:
        return "hand-written"
    return "generated" if generated >= trained else "both"


def generated_training(rows: Sequence[_Row]) -> Finding:
    """Checkpoints of one base and objective trained on hand-written tasks, generated
    tasks and both: their held-out changes, and each generated arm against the
    hand-written one, paired task by task."""
    finding = Finding(
        "generated-tasks",
        "Does training on generated tasks generalise better? Checkpoints of one base model and "
        "objective trained on the hand-written train tasks, on tasks a model generated "
        "(randbench tasks generate), and on both, at the same budget, each against the base "
        "model over every hand-written held-out task.",
        ["trained on", "budget", "tasks (generated)", "held out: mean change", "n held out"],
    )  # fmt: skip
    by_key: dict[tuple[str, str, str], dict[str, tuple[_Row, list[TaskChange]]]] = {}
    for tuned, base, changes in _checkpoint_changes(rows):
        checkpoint = tuned.model.checkpoint or {}
        key = (base.label, str(checkpoint.get("method")), tuned.method)
        by_key.setdefault(key, {})[training_arm(checkpoint)] = (tuned, changes)
    for (base_label, objective, method), arms in sorted(by_key.items()):
        if "hand-written" not in arms or len(arms) < 2:
            continue
        for arm in ARMS:
            if arm in arms:
                finding.lines.append(_arm_line(arm, *arms[arm]))
        hand = arms["hand-written"][1]
        for arm in ARMS[1:]:
            if arm in arms:
                finding.statements.append(_arm_statement(
                    f"{base_label}, {objective} ({method})", arm, arms[arm][1], hand))  # fmt: skip
    return finding


def _arm_line(arm: str, tuned: _Row, changes: Sequence[TaskChange]) -> Line:
    checkpoint = tuned.model.checkpoint or {}
    heldout = group_change(changes, ALL_HELDOUT)
    chosen = [c for c in changes if in_group(c, ALL_HELDOUT)]
    trained = cast(Sequence[str], checkpoint.get("train_tasks") or [])
    generated = cast(Sequence[str], checkpoint.get("generated_tasks") or [])
    budget = str(checkpoint.get("budget", "not recorded"))
    cells = [arm, budget, f"{len(trained)} ({len(generated)})", _with_interval(heldout),
             str(heldout.n)]  # fmt: skip
    run = tuned.source.newest
    return Line(tuned.label, tuned.method, cells, _tvd_figures(tuned, chosen),
                command(run, "split:heldout", tuned.method),
                any(tuned.stale.get(c.name) for c in chosen),
                {"change": heldout.change or 0.0, "n": float(heldout.n)})  # fmt: skip


def _arm_statement(
    what: str, arm: str, changes: Sequence[TaskChange], hand: Sequence[TaskChange]
) -> str:
    gap = paired_difference(changes, hand)
    if gap.change is None or gap.interval is None:
        return (
            f"{what}: too few held-out tasks measured on both to compare {arm} with hand-written."
        )
    low, high = gap.interval
    if high < 0:
        verdict = "closer to the target: the generated tasks helped"
    elif low > 0:
        verdict = "further from the target: the generated tasks hurt"
    else:
        verdict = "not settled: the interval contains 0"
    trained = "generated tasks" if arm == "generated" else "hand-written and generated tasks"
    return (
        f"{what}: trained on {trained} rather than hand-written ones alone, the held-out TVD "
        f"differs by {_paired_text(gap)}: {verdict}."
    )


def _tvd_figures(tuned: _Row, chosen: Sequence[TaskChange]) -> list[Cited]:
    """The checkpoint's TVD on each of ``chosen``, cited where its result file holds it."""
    return [
        Cited(value, tuned.source.files[c.name].path.name,
              f"results.{c.name}.{tuned.method}.values.tvd")
        for c in chosen
        if (value := tuned.source.tasks[c.name].entry.values.get("tvd")) is not None
    ]  # fmt: skip


def _objective_name(checkpoint: Mapping[str, object]) -> str:
    curriculum = checkpoint.get("curriculum")
    method = str(checkpoint.get("method"))
    return method if curriculum is None else f"{method}, curriculum {'on' if curriculum else 'off'}"


def _objective_line(tuned: _Row, changes: Sequence[TaskChange], heldout: GroupChange) -> Line:
    checkpoint = tuned.model.checkpoint or {}
    trained = group_change(changes, "trained")
    chosen = [c for c in changes if group_of(c) != "controls"]
    figures = _tvd_figures(tuned, chosen)
    cells = [
        _objective_name(checkpoint), str(checkpoint.get("budget", "not recorded")),
        _with_interval(trained), _with_interval(heldout), str(heldout.n),
    ]  # fmt: skip
    stale = any(tuned.stale.get(c.name) for c in chosen)
    numbers = {"change": heldout.change or 0.0, "n": float(heldout.n)}
    run = tuned.source.newest
    selection = command(run, "split:heldout", tuned.method)
    return Line(tuned.label, tuned.method, cells, figures, selection, stale, numbers)


def _paired_text(gap: GroupChange) -> str:
    """A paired difference with its interval and n, as the objectives' statements give it."""
    low, high = gap.interval or (gap.change, gap.change)
    return (f"{num(gap.change or 0.0)} (95% interval {num(low or 0.0)} – {num(high or 0.0)}, "
            f"paired over {gap.n} tasks)")  # fmt: skip


def _with_interval(summary: GroupChange) -> str:
    if summary.change is None:
        return "–"
    if summary.interval is None:
        return num(summary.change)
    return f"{num(summary.change)} ({num(summary.interval[0])} – {num(summary.interval[1])})"


def _objectives_statement(
    base: str, method: str, ranked: Sequence[tuple[_Row, list[TaskChange], GroupChange]]
) -> str:
    (best, best_changes, best_summary), (second, second_changes, _) = ranked[0], ranked[1]
    gap = paired_difference(best_changes, second_changes)
    last = ""
    if len(ranked) > 2:
        worst, worst_changes, _ = ranked[-1]
        behind = paired_difference(best_changes, worst_changes)
        if behind.change is not None and behind.interval is not None:
            last = (f" Against the last, {worst.label} "
                    f"({_objective_name(worst.model.checkpoint or {})}), the difference is "
                    f"{_paired_text(behind)}.")  # fmt: skip
    budgets = {str((r.model.checkpoint or {}).get("budget")) for r, _, _ in ranked}
    same = f"at the same budget ({budgets.pop()} sequences)" if len(budgets) == 1 else (
        "at different budgets (see the table)")  # fmt: skip
    name = _objective_name(best.model.checkpoint or {})
    text = (
        f"{base} ({method}), {len(ranked)} objectives {same}: {best.label} ({name}) "
        f"generalises best to the held-out tasks, mean TVD change {_with_interval(best_summary)} "
        f"over {best_summary.n} tasks"
    )
    other = _objective_name(second.model.checkpoint or {})
    if gap.change is None or gap.interval is None:
        return text + "." + last
    paired = _paired_text(gap)
    if gap.interval[1] < 0:
        return (f"{text}; its TVD is below the next best's, {second.label} ({other}), by "
                f"{num(-gap.change)}: the difference is {paired}.{last}")  # fmt: skip
    return (f"{text}; its lead over the next best, {second.label} ({other}), is not "
            f"settled: the difference {paired} contains 0.{last}")  # fmt: skip


def cited_numbers(findings: Findings) -> Iterable[Cited]:
    for finding in findings.findings:
        for line in finding.lines:
            yield from line.figures


GENERATED = "Generated by `randbench report` from the result files; do not edit by hand."


def findings_markdown(findings: Findings, results_dir: str = "results/") -> str:
    """docs/findings.md: each question, what the results say, the numbers and commands."""
    out = [
        "# What randbench has found",
        "",
        GENERATED,
        "",
        f"Rebuild: `randbench report {results_dir} -o docs/findings.md`. The leaderboard's "
        "findings page is built from the same results (`randbench leaderboard build`).",
        "",
    ]
    for finding in findings.findings:
        out += [f"## {finding.key}", "", finding.question, ""]
        out += [f"- {s}" for s in finding.statements]
        if finding.note:
            out += ["", finding.note]
        out += ["", "| model | method | " + " | ".join(finding.columns) + " | command |",
                "|---" * (len(finding.columns) + 3) + "|"]  # fmt: skip
        for line in finding.lines:
            method = line.method + (" (stale)" if line.stale else "")
            cells = " | ".join(c.replace("|", "\\|") for c in line.cells)
            out.append(f"| {line.model} | {method} | {cells} | `{line.command}` |")
        if finding.published:
            out += ["", "Published figures on the same task:", ""]
            out += [f"- {p.what}: **{p.value}** ({p.source})" for p in finding.published]
        out.append("")
    out += ["## Sources", "", *[f"- `results/{name}`" for name in findings.files], ""]
    return "\n".join(out)
