"""Learning-rate schedule: linear warm-up, then cosine decay to ``min_learning_rate_ratio``."""

from __future__ import annotations

import math

from overworld.config import TrainConfig

__all__ = ["lr_factor"]


def lr_factor(step: int, config: TrainConfig) -> float:
    """The multiplier of ``config.learning_rate`` at optimizer step ``step`` (0-based)."""
    if config.warmup_steps and step < config.warmup_steps:
        return (step + 1) / config.warmup_steps
    span = max(1, config.steps - config.warmup_steps)
    progress = min(1.0, (step - config.warmup_steps) / span)
    floor = config.min_learning_rate_ratio
    return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress))
