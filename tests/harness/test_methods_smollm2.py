"""Every elicitation method on the real embedded SmolLM2 model, at tiny sizes: its output
(often not in the asked format) is read without error, counted honestly as invalid where
unreadable, and a conversation's later calls are exactly the conversation so far."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("llama_cpp")

from randbench.harness.backends import ModelSpec, load_backend
from randbench.harness.backends.llamacpp import LlamaCppBackend
from randbench.harness.cache import ResponseCache
from randbench.harness.methods import METHODS, SamplingMethod
from randbench.harness.models import ModelNotFoundError, smollm2_gguf
from randbench.harness.requests import GenerateRequest
from randbench.harness.results import write_results
from randbench.harness.runner import Runner
from randbench.harness.runs import RunConfig, sampling_params
from randbench.harness.seeds import sample_seed
from randbench.loader import load_tasks
from randbench.selection import select_tasks

try:
    smollm2_gguf()
except ModelNotFoundError as missing:
    pytest.skip(str(missing), allow_module_level=True)

SAMPLES = {
    "sequence": 10,
    "multi_turn": 5,
    "vs_standard": 5,
    "vs_cot": 5,
    "vs_multi": 10,
    "ssot": 3,
    "seeded": 5,
}
"""Answers per method: two calls of five, one conversation of five turns, ..."""


@pytest.fixture(scope="module")
def model() -> LlamaCppBackend:
    backend = load_backend(ModelSpec("smollm2", args={"n_threads": 1, "parallel": 1}))
    assert isinstance(backend, LlamaCppBackend)
    return backend


FAST = ("sequence", "vs_standard")
"""The methods the fast tier runs on the real model; the rest are marked slow."""


@pytest.mark.parametrize(
    "name",
    [pytest.param(n, marks=[] if n in FAST else [pytest.mark.slow]) for n in sorted(SAMPLES)],
)
def test_method_on_real_smollm2_output(name: str, model: LlamaCppBackend, tmp_path: Path) -> None:
    (task,) = select_tasks(load_tasks(), ["dice_d6"])
    method = METHODS.get(name)()
    assert isinstance(method, SamplingMethod)
    config = RunConfig(samples=SAMPLES[name], max_tokens=40, n_sim=200)
    cache = ResponseCache(tmp_path / "c.sqlite")
    (run,) = Runner(model, cache, config).run([task], [method])
    assert run.metrics is not None
    assert run.metrics.n == SAMPLES[name], "every asked answer is counted, valid or not"
    invalid = run.metrics.n - run.metrics.n_valid
    assert sum(run.metrics.invalid_reasons.values()) == invalid
    for sample in run.samples:
        assert sample.reading is not None
        assert sample.reading == method.read(task, sample.index, sample.replies)
    result, _ = write_results(tmp_path, model.identity(), [name], config, [run])
    entry = json.loads(result.read_text())["results"]["dice_d6"][name]
    assert entry["n"] == SAMPLES[name] and 0.0 <= entry["validity"] <= 1.0
    if method.answers(task) > 1:  # marked as several per call even when none was readable
        assert entry["dependence"]["answers_per_call"] == method.answers(task)
        usable = sum(sum(o.valid for o in s.outcomes) >= 2 for s in run.samples)
        assert entry["dependence"]["calls"] == usable
    else:
        assert entry["dependence"] is None
    print(f"\n{name}: validity {entry['validity']:.0%}, invalid {entry['invalid_reasons']}")

    # a later call of a unit was exactly the conversation so far, under the unit's own seed
    params = sampling_params(task, config)
    for sample in run.samples:
        for call in range(1, len(sample.replies)):
            prompt = method.next_prompt(task, sample.index, sample.replies[:call])
            assert prompt is not None
            seed = sample_seed(config.seed, task.hash, name, sample.index, call)
            request = GenerateRequest(task.name, prompt, params, (seed,))
            (again,) = model.generate([request])
            assert again[0].text == sample.replies[call], (name, sample.index, call)
