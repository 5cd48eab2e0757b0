"""Checkpoints: a LoRA adapter, an optional merged model, and a card.

Layout of a checkpoint directory (loadable as ``--model hf:DIR``)::

    DIR/adapter_config.json, adapter_model.safetensors   the LoRA adapter (peft)
    DIR/tokenizer*                                       the base model's tokenizer
    DIR/randbench-card.json                              what made it (CARD)
    DIR/README.md                                        the card for people
    DIR/merged/                                          optional: base + adapter merged

The ``hf`` backend loads an adapter directory by reading the card's base model (a model
spec such as ``hf:smollm2``, resolved on the machine that loads it), applying the adapter
and merging it for inference.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from randbench.harness.adapters import CARD
from randbench.harness.results import git_hash, package_versions

MERGED = "merged"


def card_fields(
    *, base: str, base_identity: dict[str, Any], method: str, data: dict[str, Any],
    hyperparameters: dict[str, Any], result: dict[str, Any],
) -> dict[str, Any]:  # fmt: skip
    return {
        "base": base,
        "base_identity": base_identity,
        "method": method,
        "data": data,
        "hyperparameters": hyperparameters,
        **result,
        "versions": package_versions(),
        "git_hash": git_hash(),
        "created": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def save_checkpoint(
    out: Path, peft_model: Any, tokenizer: Any, card: dict[str, Any], *, merge: bool
) -> Path:
    """Write the adapter, tokenizer and card (and the merged model when ``merge``)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    peft_model.save_pretrained(str(out))
    tokenizer.save_pretrained(str(out))
    if merge:
        merged = peft_model.merge_and_unload()
        merged.save_pretrained(str(out / MERGED))
        tokenizer.save_pretrained(str(out / MERGED))
        (out / MERGED / CARD).write_text(_dump({**card, "merged": True}), encoding="utf-8")
    (out / CARD).write_text(_dump(card), encoding="utf-8")
    (out / "README.md").write_text(card_markdown(card), encoding="utf-8")
    return out


def _dump(card: dict[str, Any]) -> str:
    return json.dumps(card, indent=2, sort_keys=True, default=str) + "\n"


def card_markdown(card: dict[str, Any]) -> str:
    hyper = card.get("hyperparameters", {})
    lines = [
        f"# randbench {card['method']} checkpoint of {card['base']}",
        "",
        f"- method: {card['method']}",
        f"- base model: {card['base']}",
        f"- training tasks: {', '.join(card.get('data', {}).get('tasks', {}))}",
        f"- steps: {card.get('steps')}, seed: {hyper.get('train', {}).get('seed')}",
        f"- final loss: {card.get('final_loss')}",
        f"- trained in {card.get('train_seconds')} s on {card.get('device')}",
        "",
        "Evaluate it with `randbench run --model hf:THIS_DIR --tasks ...`; the full card is "
        f"`{CARD}`.",
        "",
    ]
    return "\n".join(lines)
