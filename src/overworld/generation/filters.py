"""The sampling filters at work: :func:`apply_filters` runs every filter of the registry
(:data:`overworld.config.filters.FILTERS`, where each filter and its settings are declared) with its
settings from a :class:`~overworld.config.SampleConfig`, in registry order.

A filter takes logits ``(B, V)`` and its settings; one that declares ``history`` also receives the tokens
generated so far, ``(B, t)`` long ids (-1 for finished rows and for tokens the grammar does not call
notes: :meth:`~overworld.tokenizers.grammar.Grammar.note_tokens`).
"""

from __future__ import annotations

import torch
from torch import Tensor

from overworld.config import SampleConfig
from overworld.config.filters import FILTERS, Filter, temperature, top_k, top_p

__all__ = ["FILTERS", "Filter", "apply_filters", "temperature", "top_k", "top_p"]

# B batch, V vocabulary, t tokens generated so far


def apply_filters(logits: Tensor, config: SampleConfig, history: Tensor | None = None) -> Tensor:
    """Run every filter of ``FILTERS`` with its settings from ``config``, in registry order; ``history``
    ``(B, t)``: the tokens generated so far (default: none)."""
    if history is None:
        history = torch.zeros(logits.shape[0], 0, dtype=torch.long, device=logits.device)
    for entry in FILTERS.values():
        settings = [getattr(config, name) for name in entry.fields]
        logits = entry.fn(logits, *settings, history) if entry.history else entry.fn(logits, *settings)
    return logits
