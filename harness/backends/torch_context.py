"""A decode context in PyTorch for the llama.cpp backend's sampler (``engine=torch``).

It runs the GGUF's weights (de-quantised by transformers' GGUF reader) through a Llama
forward pass written here, because the sampler needs what no library's generate loop
offers: many sequences of different requests side by side, each forked from a prompt or
from another sequence, one token each per call. On a CPU with AMX, oneDNN multiplies
bfloat16 matrices several times faster than llama.cpp multiplies float32 ones (SmolLM2, 2
cores: 360-410 against 50-115 GFLOPS), so ``torch_dtype=bfloat16`` decodes 2-3x faster
than llama.cpp (255 sequences: 390-536 against 187-197 tokens/s) and evaluates prompts 3x
faster; float32 is transformers' arithmetic (within 4e-5 nats) but no faster end to end.

The cache is prefix-shared. A prompt is evaluated once into a *slot*; a sequence holds
only the tokens it wrote, and attends over its slot's cells and its own. A fork from the
prompt therefore copies nothing, and a fork from another sequence copies that sequence's
own few tokens. Sequence 0 is the current prompt, as in :class:`.llama_context.DecodeContext`,
whose interface this class keeps (``run``, ``fork``, ``move``, ``drop``, ``prefill``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from randbench.harness.backends.llama_context import Entry

DTYPES = ("bfloat16", "float32")


def load_torch_llama(gguf: Path, sha256: str, dtype: str, threads: int) -> TorchLlama:
    """The GGUF's weights (``sha256``: the file's hash) as a :class:`TorchLlama`, through the
    transformers directory it is converted to once (:mod:`randbench.harness.hf_convert`:
    de-quantised to float32)."""
    try:
        import torch
        from transformers import AutoModelForCausalLM
    except ImportError as error:
        raise ImportError(
            "engine=torch needs torch and transformers: pip install 'randbench[hf]'"
        ) from error
    from randbench.harness.hf_convert import cache_dir, ensure_converted, smollm2_dir
    from randbench.harness.models import smollm2_gguf

    if gguf.resolve() == smollm2_gguf().resolve():
        out_dir = smollm2_dir()
    else:
        out_dir = cache_dir() / "models" / f"{gguf.stem}.hf-{sha256[:16]}"
    directory = ensure_converted(gguf, out_dir, sha256=sha256)
    model = AutoModelForCausalLM.from_pretrained(directory, dtype=torch.float32)
    return TorchLlama(model, dtype, threads)


@dataclass
class _Layer:
    norm_in: Any
    q: Any
    k: Any
    v: Any
    o: Any
    norm_post: Any
    gate_up: Any
    down: Any


@dataclass
class _Slot:
    """A prompt's keys and values, ``[layers, kv_heads, cells, head_dim]`` each."""

    keys: Any
    values: Any
    length: int


class TorchLlama:
    """A Llama-architecture model's weights in ``dtype``, laid out for ``x @ W``."""

    def __init__(self, model: Any, dtype: str, threads: int) -> None:
        import torch

        config = model.config
        if config.model_type != "llama":
            raise ValueError(f"engine=torch runs Llama models; this one is {config.model_type!r}")
        rope = getattr(config, "rope_parameters", None) or {}
        rope_type = rope.get("rope_type", "default") if isinstance(rope, dict) else "default"
        if rope_type != "default":
            raise ValueError(f"engine=torch: rope type {rope_type!r} is not supported")
        if getattr(config, "attention_bias", False) or getattr(config, "mlp_bias", False):
            raise ValueError("engine=torch: models with bias terms are not supported")
        torch.set_num_threads(threads)
        self.torch = torch
        self.dtype = getattr(torch, dtype)
        self.heads = config.num_attention_heads
        self.kv_heads = config.num_key_value_heads
        self.head_dim = getattr(config, "head_dim", None) or config.hidden_size // self.heads
        self.eps = float(config.rms_norm_eps)
        theta: Any = rope.get("rope_theta") if isinstance(rope, dict) else None
        theta = float(theta or getattr(config, "rope_theta", 10000.0))
        half = torch.arange(0, self.head_dim, 2, dtype=torch.float64) / self.head_dim
        self.inverse_frequencies = (1.0 / theta**half).float()

        def t(weight: Any) -> Any:
            return weight.detach().T.contiguous().to(self.dtype)

        self.layers = [
            _Layer(
                layer.input_layernorm.weight.detach().to(self.dtype),
                t(layer.self_attn.q_proj.weight),
                t(layer.self_attn.k_proj.weight),
                t(layer.self_attn.v_proj.weight),
                t(layer.self_attn.o_proj.weight),
                layer.post_attention_layernorm.weight.detach().to(self.dtype),
                t(torch.cat([layer.mlp.gate_proj.weight, layer.mlp.up_proj.weight])),
                t(layer.mlp.down_proj.weight),
            )
            for layer in model.model.layers
        ]
        self.embedding = model.model.embed_tokens.weight.detach().to(self.dtype)
        self.head = t(model.lm_head.weight)
        self.norm = model.model.norm.weight.detach().to(self.dtype)
        self.intermediate = model.config.intermediate_size

    def rms(self, x: Any, weight: Any) -> Any:
        """HF's LlamaRMSNorm: the mean square in float32, the product in ``dtype``."""
        wide = x.float()
        scaled = wide * self.torch.rsqrt(wide.pow(2).mean(-1, keepdim=True) + self.eps)
        return weight * scaled.to(self.dtype)

    def rotation(self, positions: Any) -> tuple[Any, Any]:
        """The rotary embedding's (cos, sin) at ``positions``, once for every layer."""
        angles = positions[:, None].float() * self.inverse_frequencies[None, :]
        return angles.cos().to(self.dtype)[:, None, :], angles.sin().to(self.dtype)[:, None, :]

    def rotate(self, x: Any, rotation: tuple[Any, Any]) -> Any:
        """Rotary embedding of ``x`` (``[tokens, heads, head_dim]``) by ``rotation``."""
        cos, sin = rotation
        first, second = x[..., : self.head_dim // 2], x[..., self.head_dim // 2 :]
        return self.torch.cat([first * cos - second * sin, second * cos + first * sin], -1)

    def mlp(self, x: Any, layer: _Layer) -> Any:
        gate, up = (self.rms(x, layer.norm_post) @ layer.gate_up).split(self.intermediate, -1)
        return x + (self.torch.nn.functional.silu(gate) * up) @ layer.down

    def logits(self, x: Any) -> np.ndarray:
        return np.asarray((self.rms(x, self.norm) @ self.head).float().numpy())


class TorchDecodeContext:
    """``sequences`` sequences over ``model``; sequence 0 holds the current prompt. Every
    sequence attends over its own prompt's slot and its own tokens (``streams`` in the
    sampler's terms); ``cells`` bounds a prompt plus its answer."""

    streams = True

    def __init__(self, model: TorchLlama, *, sequences: int, cells: int) -> None:
        self.model = model
        self.sequences = sequences
        self.cells = cells
        self.prompt: list[int] = []
        self._slot: _Slot | None = None
        """The current prompt's slot (sequence 0)."""
        self._slots: list[_Slot | None] = [None] * sequences
        self._own = [0] * sequences
        """Tokens each sequence wrote beyond its prompt."""
        self._capacity = 0
        self._keys: Any = None
        self._values: Any = None

    def close(self) -> None:
        self._keys = self._values = self._slot = None
        self._slots = [None] * self.sequences

    # -- sequences -------------------------------------------------------------------

    def fork(self, sequence: int, source: int = 0) -> None:
        """Make ``sequence`` a copy of ``source``: the same prompt slot, and a copy of the
        few tokens ``source`` wrote itself."""
        if source == 0:
            self._slots[sequence], self._own[sequence] = self._slot, 0
            return
        self._slots[sequence], self._own[sequence] = self._slots[source], self._own[source]
        if self._own[source]:
            own = slice(0, self._own[source])
            self._keys[:, sequence, :, own] = self._keys[:, source, :, own]
            self._values[:, sequence, :, own] = self._values[:, source, :, own]

    def move(self, source: int, sequence: int) -> None:
        self.fork(sequence, source)
        self.drop(source)

    def drop(self, sequence: int) -> None:
        self._slots[sequence], self._own[sequence] = None, 0

    def _reserve(self, tokens: int) -> None:
        """Room for ``tokens`` own tokens in every sequence (grown by doubling)."""
        if tokens <= self._capacity:
            return
        capacity = max(64, 2 ** math.ceil(math.log2(tokens)))
        m, torch = self.model, self.model.torch
        shape = (len(m.layers), self.sequences, m.kv_heads, capacity, m.head_dim)
        keys, values = torch.zeros(shape, dtype=m.dtype), torch.zeros(shape, dtype=m.dtype)
        if self._capacity:
            keys[..., : self._capacity, :] = self._keys
            values[..., : self._capacity, :] = self._values
        self._keys, self._values, self._capacity = keys, values, capacity

    # -- the prompt ------------------------------------------------------------------

    def prefill(self, tokens: list[int], reuse: bool, alone: bool) -> tuple[np.ndarray, int]:
        """Evaluate ``tokens`` into a new slot for sequence 0; its last logits, and how many
        tokens were evaluated. ``reuse`` keeps the previous prompt's cells as far as the two
        agree; ``alone`` drops every other sequence."""
        if len(tokens) > self.cells:
            raise ValueError(f"prompt of {len(tokens)} tokens exceeds {self.cells} cells")
        keep = 0
        if reuse and self._slot is not None:
            while keep < min(len(tokens), len(self.prompt)) and tokens[keep] == self.prompt[keep]:
                keep += 1
            keep = min(keep, len(tokens) - 1)
        if alone:
            for sequence in range(1, self.sequences):
                self.drop(sequence)
        m, torch = self.model, self.model.torch
        shape = (len(m.layers), m.kv_heads, len(tokens), m.head_dim)
        slot = _Slot(torch.empty(shape, dtype=m.dtype), torch.empty(shape, dtype=m.dtype), 0)
        if keep and self._slot is not None:
            slot.keys[:, :, :keep] = self._slot.keys[:, :, :keep]
            slot.values[:, :, :keep] = self._slot.values[:, :, :keep]
        with torch.inference_mode():
            logits = self._prompt_pass(slot, tokens, keep)
        slot.length = len(tokens)
        self._slot, self.prompt = slot, list(tokens)
        return logits, len(tokens) - keep

    def _prompt_pass(self, slot: _Slot, tokens: list[int], start: int) -> np.ndarray:
        """Tokens ``start`` onwards through the model, causally, into ``slot``."""
        m, torch = self.model, self.model.torch
        n, end = len(tokens) - start, len(tokens)
        positions = torch.arange(start, end)
        x = m.embedding[torch.tensor(tokens[start:])]
        causal = torch.arange(end)[None, :] <= positions[:, None]
        rotation = m.rotation(positions)
        for index, layer in enumerate(m.layers):
            h = m.rms(x, layer.norm_in)
            q = m.rotate((h @ layer.q).view(n, m.heads, m.head_dim), rotation)
            k = m.rotate((h @ layer.k).view(n, m.kv_heads, m.head_dim), rotation)
            v = (h @ layer.v).view(n, m.kv_heads, m.head_dim)
            slot.keys[index, :, start:end] = k.transpose(0, 1)
            slot.values[index, :, start:end] = v.transpose(0, 1)
            attended = torch.nn.functional.scaled_dot_product_attention(
                q.transpose(0, 1)[None],
                slot.keys[index, None, :, :end],
                slot.values[index, None, :, :end],
                attn_mask=causal,
                enable_gqa=True,
            )
            x = x + attended[0].transpose(0, 1).reshape(n, -1) @ layer.o
            x = m.mlp(x, layer)
        last: np.ndarray = m.logits(x[-1:])[0]
        return last

    # -- decoding --------------------------------------------------------------------

    def run(self, entries: Sequence[Entry]) -> np.ndarray:
        """One token for each of several sequences (the sampler's decode call); the logits
        of every entry, in order, as rows."""
        if not entries:
            return np.empty((0, len(self.model.embedding)), np.float32)
        sequences = [entry[2] for entry in entries]
        if len(set(sequences)) != len(sequences) or 0 in sequences:
            raise ValueError("engine=torch decodes one token for each of distinct sequences >= 1")
        slots = [self._slots[s] for s in sequences]
        if any(slot is None for slot in slots):
            raise ValueError("engine=torch: decode of a sequence that holds no prompt")
        own = [entry[1] - slot.length for entry, slot in zip(entries, slots, strict=True)]  # type: ignore[union-attr]
        if any(o != self._own[s] for o, s in zip(own, sequences, strict=True)):
            raise ValueError("engine=torch: a sequence's tokens must be decoded in order")
        self._reserve(max(own) + 1)
        with self.model.torch.inference_mode():
            logits = self._decode_pass(entries, sequences, slots, own)  # type: ignore[arg-type]
        for s in sequences:
            self._own[s] += 1
        return logits

    def _decode_pass(
        self, entries: Sequence[Entry], sequences: list[int], slots: list[_Slot], own: list[int]
    ) -> np.ndarray:
        m, torch = self.model, self.model.torch
        b, group, d = len(entries), m.heads // m.kv_heads, m.head_dim
        rows = torch.tensor(sequences)
        contiguous = sequences == list(range(sequences[0], sequences[0] + b))
        written = torch.tensor(own)
        width = max(own) + 1
        own_mask = torch.arange(width)[None, :] <= written[:, None]  # [b, width]
        rotation = m.rotation(torch.tensor([entry[1] for entry in entries]))
        # Rows of one prompt slot attend over its cells together: one product per slot.
        by_slot: dict[int, tuple[_Slot, list[int]]] = {}
        for row, slot in enumerate(slots):
            by_slot.setdefault(id(slot), (slot, []))[1].append(row)
        groups = [(slot, torch.tensor(members)) for slot, members in by_slot.values()]
        longest = max(slot.length for slot, _ in groups)
        scale = 1.0 / math.sqrt(d)
        x = m.embedding[torch.tensor([entry[0] for entry in entries])]
        for index, layer in enumerate(m.layers):
            h = m.rms(x, layer.norm_in)
            q = m.rotate((h @ layer.q).view(b, m.heads, d), rotation).view(b, m.kv_heads, group, d)
            k = m.rotate((h @ layer.k).view(b, m.kv_heads, d), rotation)
            v = (h @ layer.v).view(b, m.kv_heads, d)
            self._keys[index, rows, :, written] = k
            self._values[index, rows, :, written] = v
            if contiguous:
                mine = slice(sequences[0], sequences[0] + b)
                own_keys = self._keys[index, mine, :, :width]
                own_values = self._values[index, mine, :, :width]
            else:
                own_keys = self._keys[index, rows, :, :width]
                own_values = self._values[index, rows, :, :width]
            # Scores over the prompt (padded to the longest slot) and over the own tokens,
            # one softmax across both.
            prompt_scores = torch.full((b, m.kv_heads, group, longest), -math.inf)
            for slot, members in groups:
                sub = q[members].permute(1, 0, 2, 3).reshape(m.kv_heads, -1, d)
                scores = (sub @ slot.keys[index].transpose(1, 2)).float()
                prompt_scores[members, :, :, : slot.length] = scores.view(
                    m.kv_heads, len(members), group, slot.length
                ).permute(1, 0, 2, 3)
            mine_scores = (q @ own_keys.transpose(2, 3)).float()
            mine_scores = mine_scores.masked_fill(~own_mask[:, None, None, :], -math.inf)
            weights = torch.softmax(torch.cat([prompt_scores, mine_scores], -1) * scale, -1)
            weights = weights.to(m.dtype)
            attended = weights[..., longest:] @ own_values
            for slot, members in groups:
                part = weights[members, :, :, : slot.length].permute(1, 0, 2, 3)
                part = part.reshape(m.kv_heads, -1, slot.length) @ slot.values[index]
                attended[members] += part.view(m.kv_heads, len(members), group, d).permute(
                    1, 0, 2, 3
                )
            x = x + attended.reshape(b, m.heads * d) @ layer.o
            x = m.mlp(x, layer)
        return m.logits(x)
