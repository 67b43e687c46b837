"""The interface every overworld model offers: a causal language model over token ids.

``forward(ids)`` scores a whole window (training, evaluation); ``new_cache`` + ``step`` decode
incrementally (generation). The attention models keep at most ``sequence_length - 1`` past positions
in their cache and slide that window as generation runs past ``sequence_length``: every query sees
itself and at most ``sequence_length - 1`` keys before it, in ``forward`` as in ``step``, so a step's
logits equal the ``forward`` logits of the same position computed over the window that ends there.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn

from overworld.config import ModelConfig

__all__ = ["AttentionCache", "LanguageModel", "window_mask"]


@dataclass
class AttentionCache:
    """Past keys and values of every layer, each ``(B, H, S, D)`` with ``S <= sequence_length - 1``.

    ``position`` counts every token fed so far (the absolute position of the next one), which
    rotary embeddings need; relative attention and ALiBi only use distances.
    """

    keys: list[Tensor | None] = field(default_factory=list)
    values: list[Tensor | None] = field(default_factory=list)
    position: int = 0

    @property
    def length(self) -> int:
        """How many past positions are held (the same for every layer)."""
        first = self.keys[0] if self.keys else None
        return 0 if first is None else int(first.shape[-2])


def window_mask(
    num_queries: int, num_keys: int, window: int, device: torch.device | str | None = None
) -> Tensor:
    """Boolean ``(Tq, Tk)`` mask, True where query ``i`` may attend to key ``j``.

    The queries are the last ``num_queries`` of the ``num_keys`` positions. Query ``i`` (absolute
    position ``p = num_keys - num_queries + i``) sees keys ``j`` with ``p - window < j <= p``: causal,
    and never further back than ``window - 1`` positions.
    """
    offset = num_keys - num_queries
    q_pos = torch.arange(offset, num_keys, device=device)[:, None]  # (Tq, 1)
    k_pos = torch.arange(num_keys, device=device)[None, :]  # (1, Tk)
    distance = q_pos - k_pos  # (Tq, Tk)
    return (distance >= 0) & (distance < window)


class LanguageModel(nn.Module, abc.ABC):
    """A causal language model: ``forward(ids (B, T)) -> logits (B, T, V)`` plus cached ``step``."""

    config: ModelConfig

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config

    @abc.abstractmethod
    def forward(self, ids: Tensor) -> Tensor:
        """Logits ``(B, T, V)`` for token ids ``(B, T)``; position ``t`` sees only ids ``<= t``."""

    @abc.abstractmethod
    def new_cache(self, batch_size: int, device: torch.device | str | None = None) -> Any:
        """An empty decoding state for ``batch_size`` sequences."""

    @abc.abstractmethod
    def step(self, ids: Tensor, cache: Any) -> Tensor:
        """Logits ``(B, T_new, V)`` of new ids ``(B, T_new)`` given the past in ``cache``.

        Appends the new positions to ``cache`` (in place) and trims it to the window.
        """

    def num_parameters(self, *, trainable_only: bool = False) -> int:
        """How many distinct parameters the model has (tied weights counted once)."""
        seen: set[int] = set()
        total = 0
        for parameter in self.parameters():
            if trainable_only and not parameter.requires_grad:
                continue
            if id(parameter) in seen:
                continue
            seen.add(id(parameter))
            total += parameter.numel()
        return total
