"""The float32 copy of the embedded SmolLM2 GGUF: the same weights, made once."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("llama_cpp")

from randbench.harness.backends import ModelSpec, load_backend
from randbench.harness.backends.llamacpp import LlamaCppBackend, log_softmax
from randbench.harness.dequantize import dequantized_gguf, dequantized_path
from randbench.harness.models import ModelNotFoundError, file_sha256, smollm2_gguf
from randbench.harness.requests import Message, Prompt

try:
    GGUF = smollm2_gguf()
except ModelNotFoundError as missing:
    pytest.skip(str(missing), allow_module_level=True)


@pytest.fixture(scope="module")
def copy() -> Path:
    """The session cache's copy: the one the smollm2 backend runs."""
    return dequantized_gguf(GGUF, file_sha256(GGUF))


@pytest.mark.slow
def test_every_tensor_equals_the_gguf_packages_dequantisation(copy: Path) -> None:
    gguf = pytest.importorskip("gguf")
    from gguf.quants import dequantize

    source, converted = gguf.GGUFReader(str(GGUF)), gguf.GGUFReader(str(copy))
    by_name = {t.name: t for t in converted.tensors}
    assert len(by_name) == len(source.tensors) == 272
    quantised = 0
    for tensor in source.tensors:
        twin = by_name[tensor.name]
        assert twin.tensor_type.name == "F32", tensor.name
        expected = dequantize(tensor.data, tensor.tensor_type).astype(np.float32)
        assert np.array_equal(np.asarray(twin.data).reshape(expected.shape), expected), tensor.name
        quantised += tensor.tensor_type.name != "F32"
    assert quantised == 211, "210 Q4_1 tensors and the Q8_0 embedding"


def test_the_copy_is_made_once_and_named_by_the_source_hash(
    copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RANDBENCH_CACHE_DIR", str(copy.parent.parent))
    sha = file_sha256(GGUF)
    assert dequantized_path(GGUF, sha) == copy and sha[:16] in copy.name
    stamp = copy.stat().st_mtime_ns
    assert dequantized_gguf(GGUF, sha) == copy and copy.stat().st_mtime_ns == stamp
    assert not list(copy.parent.glob(".*.part")), "no staging file left behind"


def test_smollm2_runs_the_copy_and_says_so_in_its_identity() -> None:
    fast = load_backend(ModelSpec("smollm2"))
    plain = load_backend(ModelSpec("smollm2", args={"dequantize": False}))
    assert isinstance(fast, LlamaCppBackend) and isinstance(plain, LlamaCppBackend)
    assert fast.path.name.endswith(".gguf") and ".f32-" in fast.path.name
    assert plain.path == GGUF == fast.source
    assert fast.identity()["weights"] == "float32" and "weights" not in plain.identity()
    assert fast.identity()["sha256"] == plain.identity()["sha256"] == file_sha256(GGUF)
    assert fast.model_name() == plain.model_name() == "SmolLM2-135M-Instruct-Q4_1"
    # Same weights; the quantised kernels round activations to 8 bits, the float32 ones do
    # not: the next-token distribution moves by a few percent of its mass (0.038 here).
    prompt = Prompt((Message("user", "Roll a fair 6-sided die. Reply with only the number."),))
    p = np.exp(log_softmax(fast._prefill(prompt, reuse=False)[1]))
    q = np.exp(log_softmax(plain._prefill(prompt, reuse=False)[1]))
    assert 0.005 < 0.5 * np.abs(p - q).sum() < 0.1
    with pytest.raises(ValueError, match="dequantize='yes'"):
        load_backend(ModelSpec("smollm2", args={"dequantize": "yes"}))
    general = load_backend(ModelSpec("llamacpp", str(GGUF)))
    assert isinstance(general, LlamaCppBackend) and general.path == GGUF, "off for other GGUFs"
