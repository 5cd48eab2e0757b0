"""Hyper-parameters of a fine-tuning run, recorded in the checkpoint's card."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class LoraSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    r: int = Field(default=16, gt=0)
    alpha: int = Field(default=32, gt=0)
    dropout: float = Field(default=0.0, ge=0.0, lt=1.0)
    target_modules: tuple[str, ...] = ("q_proj", "k_proj", "v_proj", "o_proj")


class TrainSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    epochs: float = Field(default=1.0, gt=0)
    max_steps: int = Field(default=-1, ge=-1)
    """Stop after this many optimiser steps (-1: run ``epochs``)."""
    batch_size: int = Field(default=16, gt=0)
    """Rows per step: SFT answers, or distmatch prompts (each with all its candidates)."""
    learning_rate: float = Field(default=2e-4, gt=0)
    warmup_steps: int = Field(default=0, ge=0)
    seed: int = 0
    logging_steps: int = Field(default=5, gt=0)
    device: str = "cpu"
    """``cpu``, ``cuda`` or ``auto``."""
    completion_only_loss: bool = True
    """SFT: the loss on the answer only (False: on the prompt and the answer)."""
    target_kl: float = Field(default=0.01, ge=0)
    """distmatch only: stop once the mean loss is within this many nats of H(p*)."""
