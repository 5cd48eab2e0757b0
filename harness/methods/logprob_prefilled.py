"""Exact answer distributions of chat models, read after a pre-filled lead-in.

A chat model asked to "roll a die" rarely ends its turn right after a bare "4": SmolLM2
puts 0.4% of its mass on the six bare answers, so ``logprob`` measures a rare corner of
what it writes. This method opens the model's reply with a lead-in (``Answer:`` unless
the task says otherwise) and scores every outcome in the forms a model writes after one:
a space, the canonical text or its capitalised form, with or without a full stop, then
the end of the turn. An outcome's probability is the sum over its forms (they are
disjoint strings), so the figures are exact over that wider set of answers, and the mass
it holds is reported beside them (``values.mass_on_support``). docs/methods.md gives the
measured rise in mass and the agreement with sampled answers.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from scipy.special import logsumexp

from randbench.harness.methods.base import MethodOptions, register_method, task_prompt
from randbench.harness.methods.logprob import Logprob
from randbench.harness.requests import CandidateScores, ScoreRequest
from randbench.metrics import TaskMetrics, evaluate_exact
from randbench.tasks import Task

DEFAULT_LEAD = "Answer:"


class PrefilledOptions(MethodOptions):
    lead: str = DEFAULT_LEAD
    """The start of the reply, ending where the answer's leading space begins."""


def answer_forms(answer: str) -> tuple[str, ...]:
    """The disjoint texts an answer is scored as after the lead-in: `` 4``, `` 4.``, and
    for words their capitalised forms (`` Heads``, `` Heads.``)."""
    words = dict.fromkeys((answer, answer[:1].upper() + answer[1:]))
    return tuple(f" {word}{end}" for word in words for end in ("", "."))


@register_method("logprob_prefilled")
class LogprobPrefilled(Logprob):
    """The model's exact distribution over the task's support, given that its reply begins
    with the lead-in: each outcome scored in all its :func:`answer_forms`."""

    Options = PrefilledOptions

    def not_applicable(self, task: Task) -> str | None:
        if task.completion or task.assistant_prefix:
            return "skipped: the task pre-fills the start of the answer itself (use logprob)"
        if not task.scored_answer.is_default:
            return "skipped: the task states how its answer is written (use logprob)"
        return super().not_applicable(task)

    def scope(self, task: Task) -> str:
        return f"exact over the scored answers, after the reply's lead-in {self.lead(task)!r}"

    def lead(self, task: Task) -> str:
        return str(self.options(task).lead)

    def _forms(self, task: Task) -> list[tuple[str, ...]]:
        support = task.target.support() or []
        return [answer_forms(task.parser.format(v, task.target)) for v in support]

    def request(self, task: Task) -> ScoreRequest:
        prompt = replace(task_prompt(task), assistant_prefix=self.lead(task))
        candidates = tuple(form for forms in self._forms(task) for form in forms)
        return ScoreRequest(task.name, prompt, candidates)

    def fold(self, task: Task, scores: CandidateScores) -> CandidateScores:
        """One log-probability per outcome: the log of the sum over its forms."""
        folded, start = [], 0
        for forms in self._forms(task):
            folded.append(float(logsumexp(scores.logprobs[start : start + len(forms)])))
            start += len(forms)
        return replace(scores, logprobs=tuple(folded))

    def metrics(self, task: Task, scores: CandidateScores) -> TaskMetrics:
        return evaluate_exact(
            task.target,
            np.asarray(scores.logprobs, dtype=float),
            exact=scores.exact,
            scope=self.scope(task),
        )
