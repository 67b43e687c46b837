"""Pure logit filters: each takes logits ``(B, V)`` and one setting and returns new logits.

Tokens a filter removes get ``-inf``; a filter never removes every token of a row (the best stays).
``FILTERS`` maps the :class:`~overworld.config.SampleConfig` field name to its filter, and
:func:`apply_filters` runs them in the order temperature, top-k, top-p.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from overworld.config import SampleConfig

__all__ = ["FILTERS", "apply_filters", "temperature", "top_k", "top_p"]

# B batch, V vocabulary


def temperature(logits: Tensor, value: float) -> Tensor:
    """Divide logits by ``value``; ``value <= 0`` is greedy (only the best token of each row stays)."""
    if value <= 0:
        best = logits.argmax(dim=-1, keepdim=True)  # (B, 1)
        out = torch.full_like(logits, float("-inf"))
        return out.scatter(-1, best, logits.gather(-1, best))
    if value == 1.0:
        return logits
    return logits / value


def top_k(logits: Tensor, value: int) -> Tensor:
    """Keep exactly the ``value`` highest logits of each row; ``value <= 0`` (or >= V) keeps all."""
    k = int(value)
    if k <= 0 or k >= logits.shape[-1]:
        return logits
    kept, index = torch.topk(logits, k, dim=-1)  # (B, k)
    out = torch.full_like(logits, float("-inf"))
    return out.scatter(-1, index, kept)


def top_p(logits: Tensor, value: float) -> Tensor:
    """Nucleus: keep the smallest set of most likely tokens whose probability sums to at least ``value``.

    ``value >= 1`` keeps all; the most likely token is always kept.
    """
    if value >= 1.0:
        return logits
    ordered, index = torch.sort(logits, dim=-1, descending=True)  # (B, V)
    probs = torch.softmax(ordered, dim=-1)  # (B, V)
    before = torch.cumsum(probs, dim=-1) - probs  # mass of the better tokens, (B, V)
    drop_sorted = before >= value
    drop_sorted[..., 0] = False
    drop = torch.zeros_like(drop_sorted).scatter(-1, index, drop_sorted)  # back to vocabulary order
    return logits.masked_fill(drop, float("-inf"))


FILTERS: dict[str, Callable[[Tensor, float], Tensor]] = {
    "temperature": temperature,
    "top_k": top_k,
    "top_p": top_p,
}


def apply_filters(logits: Tensor, config: SampleConfig) -> Tensor:
    """Run every filter of ``FILTERS`` with its setting from ``config``, in registry order."""
    for name, fn in FILTERS.items():
        logits = fn(logits, getattr(config, name))
    return logits
