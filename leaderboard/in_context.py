"""The in-context page's facts, per model: how the distance to theta and to the posterior
predictive falls with the evidence length N, how closely the model follows a stated bias,
and the mark rate it writes in the Poisson tasks against lambda. Nothing here knows HTML.

The TVD-versus-N curves and the stated-bias compliance come from the summaries the harness
writes into each result file (``in_context``, randbench.in_context); the Poisson rates are
read from the samples.
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import fmean

from randbench.leaderboard.board import Board, Row
from randbench.leaderboard.load import TaskData, outcome_value
from randbench.result_schema import FamilySummary
from randbench.targets.poisson_insertions import PoissonInsertions


@dataclass(frozen=True)
class Family:
    """One task file's in-context summary under one method."""

    name: str
    method: str
    summary: FamilySummary

    @property
    def curves(self) -> list[str]:
        """The distributions the TVDs are measured to, target first (as written by the run)."""
        names = sorted({k for r in self.summary.by_n for k in r.tvds} - {"target"})
        return ["target", *names]

    @property
    def stated_bias(self) -> bool:
        """A compliance curve: a family of several theta at N = 0 only (a stated bias)."""
        return [r.n for r in self.summary.by_n] == [0] and len(self.summary.by_theta) > 1

    @property
    def evidence_curve(self) -> bool:
        """A TVD-versus-N curve: a family with at least two evidence lengths."""
        return len(self.summary.by_n) > 1

    def p_first(self, theta_pct: int) -> float | None:
        """The model's mean P(first outcome) at a stated theta (None where no task answered)."""
        found = [t.p_first for t in self.summary.by_theta if t.theta_pct == theta_pct]
        return found[0] if found else None


@dataclass(frozen=True)
class PoissonPoint:
    """One Poisson-mark task: the share of gaps the model marked against lambda."""

    task: str
    form: str
    rate: float
    target: float
    """1 - e^(-lambda): the probability of a mark per gap, at most one mark per gap."""
    model: float | None
    """Mean marks per gap over the valid answers (None without any)."""
    answers: int


@dataclass(frozen=True)
class ModelView:
    """Everything the in-context page shows for one model (its rows, one per method)."""

    label: str
    slug: str
    families: list[Family]
    poisson: dict[str, list[PoissonPoint]]
    """Method -> points, by form then lambda."""

    @property
    def curve_families(self) -> list[Family]:
        return [f for f in self.families if f.evidence_curve]

    @property
    def compliance_families(self) -> list[Family]:
        return [f for f in self.families if f.stated_bias]

    @property
    def stated_thetas(self) -> list[int]:
        return sorted({t.theta_pct for f in self.compliance_families for t in f.summary.by_theta})


def model_views(board: Board) -> list[ModelView]:
    """One view per model with in-context results, in the leaderboard's order."""
    views = []
    for model_slug, rows in board.models().items():
        ordered = sorted(rows, key=lambda r: r.method)
        families = [Family(name, r.method, s) for r in ordered for name, s in r.in_context.items()]
        families.sort(key=lambda f: (f.name, f.method))
        poisson = {r.method: points for r in ordered if (points := poisson_points(r))}
        if families or poisson:
            views.append(ModelView(rows[0].label, model_slug, families, poisson))
    return views


def poisson_points(row: Row) -> list[PoissonPoint]:
    points = [
        _poisson_point(name, data, data.target)
        for name, data in row.data.items()
        if isinstance(data.target, PoissonInsertions)
    ]
    return sorted(points, key=lambda p: (p.form, p.rate, p.task))


def _poisson_point(name: str, data: TaskData, target: PoissonInsertions) -> PoissonPoint:
    shares = [c / (target.words - 1) for c in _valid_counts(data)]
    return PoissonPoint(
        task=name,
        form="in-context example" if "n" in data.entry.task.params else "explicit lambda",
        rate=target.rate,
        target=target.gap_probability,
        model=fmean(shares) if shares else None,
        answers=len(shares),
    )


def _valid_counts(data: TaskData) -> list[int]:
    values = [
        outcome_value(o.value) for s in data.samples for o in s.outcomes if o.invalid_reason is None
    ]
    return [v for v in values if isinstance(v, int)]
