"""What fine-tuning and the probes accept as a base model: the embedded models by name (in
transformers form) or an hf: model, never a GGUF or API backend."""

from __future__ import annotations

import pytest

from randbench.finetune.train import BaseModelError, base_spec
from randbench.harness.hf_convert import EMBEDDED, cache_dir
from randbench.harness.models import gemma3_gguf, smollm2_gguf


@pytest.mark.parametrize("name", ["smollm2", "gemma3"])
def test_an_embedded_model_by_name_is_its_transformers_form(name: str) -> None:
    spec = base_spec(name)
    assert (spec.backend, spec.name) == ("hf", name)
    assert base_spec(f"hf:{name}") == spec


def test_each_embedded_model_converts_from_its_own_gguf_into_its_own_folder() -> None:
    assert EMBEDDED["smollm2"][0] is smollm2_gguf and EMBEDDED["gemma3"][0] is gemma3_gguf
    folders = {cache_dir() / "models" / folder for _, folder in EMBEDDED.values()}
    assert len(folders) == len(EMBEDDED)


@pytest.mark.parametrize("base", ["gemma3:x", "openai:gpt-4o", "llamacpp:model.gguf"])
def test_a_model_that_cannot_be_trained_is_refused_with_the_choices(base: str) -> None:
    with pytest.raises(BaseModelError, match="--base smollm2, --base gemma3 or --base hf:PATH"):
        base_spec(base)
