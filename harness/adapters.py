"""Fine-tuned checkpoints as the ``hf`` backend loads them: a LoRA adapter directory
with a randbench card naming its base model (written by ``randbench finetune``)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

CARD = "randbench-card.json"
ADAPTER_CONFIG = "adapter_config.json"
ADAPTER_WEIGHTS = ("adapter_model.safetensors", "adapter_model.bin")


def is_adapter_dir(path: Path) -> bool:
    return (Path(path) / ADAPTER_CONFIG).is_file()


def read_card(path: Path) -> dict[str, Any]:
    card_path = Path(path) / CARD
    try:
        card = json.loads(card_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ValueError(f"{card_path}: not a randbench checkpoint card ({error})") from None
    if not isinstance(card, dict) or not isinstance(card.get("base"), str):
        raise ValueError(f"{card_path}: field 'base': missing (the base model's spec)")
    return card


def base_name(card: dict[str, Any]) -> str:
    """The ``hf`` name of a card's base model (``smollm2`` or a path or hub id)."""
    base = str(card["base"])
    return base.split(":", 1)[1] if base.startswith("hf:") else base


def card_digest(path: Path) -> bytes:
    """What distinguishes one checkpoint from another of the same shape: its card and
    the full bytes of its adapter weights (sizes alone are equal across trainings);
    empty for a directory that is not a randbench checkpoint."""
    parts = [Path(path) / CARD] + [Path(path) / name for name in ADAPTER_WEIGHTS]
    found = [hashlib.sha256(p.read_bytes()).digest() for p in parts if p.is_file()]
    return hashlib.sha256(b"".join(found)).digest() if found else b""


def checkpoint_identity(card: dict[str, Any]) -> dict[str, Any]:
    """The part of a card that results record, so the leaderboard can set a checkpoint
    beside its base model."""
    data = card.get("data", {})
    return {
        "base": card["base"],
        "method": card.get("method"),
        "train_tasks": sorted(data.get("tasks", {})),
        "generated_tasks": sorted(n for n, s in data.get("splits", {}).items() if s == "generated"),
        "steps": card.get("steps"),
        "budget": card.get("budget"),
        "curriculum": card.get("curriculum"),
        "final_loss": card.get("final_loss"),
        "merged": bool(card.get("merged", False)),
        "split_hash": data.get("split_hash"),
    }


def apply_adapter(path: Path, base_model: Any) -> Any:
    """``base_model`` with the adapter at ``path`` applied and merged, so inference
    costs what the base model costs."""
    from peft import PeftModel

    return PeftModel.from_pretrained(base_model, str(path)).merge_and_unload()
