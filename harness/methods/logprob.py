from __future__ import annotations

import numpy as np

from randbench.harness.methods.base import ScoringMethod, register_method, task_prompt
from randbench.harness.requests import CandidateScores, ScoreRequest
from randbench.metrics import TaskMetrics, evaluate_exact
from randbench.tasks import Task


@register_method("logprob")
class Logprob(ScoringMethod):
    """The model's exact distribution over the task's support, read from its probabilities.

    Every candidate is the parser's canonical answer text for one outcome, written as
    the task's ``scored_answer`` says (e.g. inside the braces its prompt asks for), and
    scored as a complete answer (the backend adds the end of turn or the task's
    delimiter), so P("1") excludes "10".
    """

    def not_applicable(self, task: Task) -> str | None:
        if task.target.support() is None:
            return "skipped: support too large to enumerate"
        if not task.parser.scorable:
            return "skipped: the parser measures the answer; there is no answer text to score"
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
