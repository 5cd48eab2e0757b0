from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from randbench.harness.methods.base import ScoringMethod, register_method, task_prompt
from randbench.harness.requests import CandidateScores, ScoreRequest
from randbench.metrics import TaskMetrics, evaluate_exact
from randbench.targets import Analysis
from randbench.tasks import Task

OPEN_ENDED = (
    "an open-ended task has no target distribution, so there is nothing to score; "
    "measure its diversity with a sampling method (direct, sequence, vs_standard, ...)"
)


@register_method("logprob")
class Logprob(ScoringMethod):
    """The model's exact distribution over the task's support, read from its probabilities.

    Every candidate is the parser's canonical answer text for one outcome, written as
    the task's ``scored_answer`` says (e.g. inside the braces its prompt asks for), and
    scored as a complete answer (the backend adds the end of turn or the task's
    delimiter), so P("1") excludes "10".
    """

    def not_applicable(self, task: Task) -> str | None:
        if task.target.analysis is Analysis.OPEN_ENDED:
            return "skipped: open-ended task (no target distribution to score)"
        if task.target.support() is None:
            return "skipped: support too large to enumerate"
        if not task.parser.scorable:
            return "skipped: the parser measures the answer; there is no answer text to score"
        return None

    def refusal(self, tasks: Sequence[Task]) -> str | None:
        if tasks and all(t.target.analysis is Analysis.OPEN_ENDED for t in tasks):
            names = ", ".join(t.name for t in tasks[:3]) + (", ..." if len(tasks) > 3 else "")
            return f"method 'logprob' cannot run the selected tasks ({names}): {OPEN_ENDED}"
        return None

    def request(self, task: Task) -> ScoreRequest:
        support = task.target.support() or []
        written = task.scored_answer
        candidates = tuple(written.write(task.parser.format(v, task.target)) for v in support)
        return ScoreRequest(task.name, task_prompt(task), candidates, until=written.until)

    def metrics(self, task: Task, scores: CandidateScores) -> TaskMetrics:
        return evaluate_exact(
            task.target, np.asarray(scores.logprobs, dtype=float), exact=scores.exact
        )
