"""Gupta et al.'s two prompt forms: the instruct request with the sentence pre-filled, and
the base-model sentence continued as plain text (``completion: true``); and the in-context
paraphrases with their exponentially discounted posterior."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest

from randbench.harness.backends.chat import render_prompt
from randbench.harness.methods import METHODS
from randbench.harness.methods.base import task_prompt
from randbench.loader import TaskFile, load_file, load_tasks
from randbench.tasks import Task

CHATML = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}"
    "<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
"""SmolLM2's chat format (ChatML), without its default system message."""

RESULTS = Path(__file__).resolve().parents[1] / "results"


@cache
def bayesian() -> dict[str, Task]:
    return {t.name: t for t in load_tasks()}


def library(prefix: str) -> list[Task]:
    return [t for name, t in bayesian().items() if name.startswith(prefix)]


def one(name: str) -> Task:
    return bayesian()[name]


def test_base_form_is_the_sentence_alone_with_or_without_a_chat_template() -> None:
    task = one("coin_in_context_base_t30_n3")
    observed = ", then ".join(task.params["sequence"])
    sentence = f"I tossed a coin and it landed on {observed}, then"
    assert task.completion and task.prompt == sentence
    prompt = task_prompt(task)
    assert prompt.plain
    assert render_prompt(prompt, CHATML) == sentence
    assert render_prompt(prompt, None) == sentence
    stated = one("coin_stated_bias_base_t70")
    assert render_prompt(task_prompt(stated), CHATML) == (
        "When I flip coins they land on heads 70% of the time. I tossed a coin and it landed on"
    )


def test_instruct_form_is_a_request_with_the_sentence_pre_filled() -> None:
    task = one("coin_in_context_paraphrased_t30_n3_w1")
    text = render_prompt(task_prompt(task), CHATML)
    observed = ", then ".join(task.params["sequence"])
    assert text == (
        "<|im_start|>user\nFlip a coin for me several times and say how each flip came out."
        f"<|im_end|>\n<|im_start|>assistant\nI flipped the coin and it came up {observed}, then"
    )
    assert not task.completion and not task_prompt(task).plain


def test_both_forms_score_the_answer_with_its_own_leading_space() -> None:
    """A prompt ending in a space would leave the answer a token no text has (SmolLM2 put
    almost no mass on the answers then): every coin form ends on a word."""
    forms = (
        "coin_in_context_base_t30_n3",
        "coin_in_context_paraphrased_t30_n3_w2",
        "coin_in_context_t30_n3",
        "coin_stated_bias_t40_w1",
        "coin_stated_bias_base_t40",
    )
    for name in forms:
        request = METHODS.get("logprob")().request(one(name))
        assert request.candidates == (" heads", " tails") and request.until == ","
        text = render_prompt(request.prompt, CHATML)
        assert text.endswith(("then", "on")), text[-30:]


def test_methods_that_rewrap_the_prompt_skip_the_base_form() -> None:
    task = one("coin_in_context_base_t0_n0")
    assert "completion-style" in (METHODS.get("sequence")().not_applicable(task) or "")
    assert METHODS.get("direct")().not_applicable(task) is None


def test_completion_refuses_a_system_message_or_prefix(tmp_path: Path) -> None:
    path = tmp_path / "bayesian" / "bad.yaml"
    path.parent.mkdir()
    path.write_text(
        "task: bad\nprompt: I tossed a coin and it landed on\ncompletion: true\n"
        "assistant_prefix: x\nanswer: choice\n"
        "target: {uniform_choice: {choices: [heads, tails]}}\n",
        encoding="utf-8",
    )
    tasks, problems = load_file(TaskFile(path, "bayesian"))
    assert tasks == []
    assert any("takes no system and no assistant_prefix" in p.message for p in problems), problems


def test_completion_enters_the_hash_only_when_true() -> None:
    """Tasks without the field keep the hashes that the results of 2026-11-23 recorded
    (results_smollm2_..._2026-11-23T15-12-45Z.json, in git history since its rerun)."""
    recorded = {
        "dice_d6": "c7ff0c73b4a4fc8e49cf15cd1e690c45f1e52ba43e1b357b4ed080d87a7b403e",
        "coin_flip": "998c3b38dad0d7dc578304133b0b4cd788f2a5215ebe8b860e4e1606e1153b3e",
        "weighted_colour": "3bf36d38f2e0c47396910dd9c1a96a9fb90486d6a2fa230a4af20ab4a6be9d1b",
    }
    everything = {t.name: t for t in load_tasks()}
    for name in ("dice_d6", "coin_flip", "weighted_colour"):
        assert everything[name].hash == recorded[name]
    base = one("coin_in_context_base_t30_n3")
    assert base.measurement()["completion"] is True
    assert "completion" not in one("coin_in_context_t30_n3").measurement()


def test_paraphrases_share_the_evidence_and_are_compared_with_a_discounted_posterior() -> None:
    """Discount 0.9: the i-th of n observations weighs 0.9^(n-1-i); by hand for one task."""
    w1 = one("die_in_context_paraphrased_t4_n10_w1")
    w2 = one("die_in_context_paraphrased_t4_n10_w2")
    assert w1.params["sequence"] == w2.params["sequence"] and w1.prompt != w2.prompt
    sequence = w1.params["sequence"]
    weight = dict.fromkeys(range(1, 7), 0.0)
    for i, face in enumerate(sequence):
        weight[face] += 0.9 ** (len(sequence) - 1 - i)
    expected = [(1 + weight[face]) / (6 + sum(weight.values())) for face in range(1, 7)]
    discounted = w1.references["discounted"].probabilities()
    assert list(discounted) == pytest.approx(expected)
    plain = w1.references["posterior"].probabilities()
    assert list(plain) == pytest.approx([(1 + sequence.count(f)) / 16 for f in range(1, 7)])
    assert list(discounted) != pytest.approx(list(plain))


@pytest.mark.parametrize("family", ["coin_in_context", "die_in_context", "number_in_context"])
def test_every_in_context_family_has_paraphrases_and_a_base_form(family: str) -> None:
    original = library(f"{family}_t")
    paraphrased = library(f"{family}_paraphrased_")
    base = library(f"{family}_base_")
    assert len(paraphrased) == 2 * len(original) and len(base) == len(original)
    assert {t.params["wording"] for t in paraphrased} == {1, 2}
    assert all(t.completion for t in base) and not any(t.completion for t in paraphrased)
