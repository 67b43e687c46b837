"""The interface every overworld model offers: a causal language model over token ids.

``forward(ids)`` scores a whole window (training, evaluation); ``new_cache`` + ``step`` decode
incrementally (generation). The attention models keep at most ``sequence_length - 1`` past positions
in their cache and slide that window as generation runs past ``sequence_length``: every query sees
itself and at most ``sequence_length - 1`` keys before it, in ``forward`` as in ``step``, so a step's
logits equal the ``forward`` logits of the same position computed over the window that ends there.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn

from overworld.config import ModelConfig

__all__ = ["AttentionCache", "KeyValueBuffer", "LanguageModel", "window_mask"]


class KeyValueBuffer:
    """One layer's past keys and values in preallocated storage, written in place.

    ``append`` writes the new positions after the past and returns past + new as ``(B, H, S, D)`` views
    of the storage (valid until the next ``append``), then forgets all but the last ``keep`` positions.
    The storage holds ``2 * (keep + 1)`` positions (more if one ``append`` needs it): when the next
    positions would run past its end, the kept past moves to the front once, so each token costs O(1)
    copies on average instead of copying the whole past every step. For inference: the storage is
    overwritten in place, so gradients must not flow through it.
    """

    def __init__(self, keep: int) -> None:
        self.keep = keep  # the most past positions held between appends: sequence_length - 1
        self.keys: Tensor | None = None  # (B, H, capacity, D), allocated by the first append
        self.values: Tensor | None = None  # (B, H, capacity, D)
        self.start = 0  # where the held past begins in the storage
        self.length = 0  # how many past positions are held

    def append(self, k: Tensor, v: Tensor) -> tuple[Tensor, Tensor]:
        """New ``k, v (B, H, T, D)`` -> past + new ``(B, H, S, D)``, ``S = length + T``."""
        begin = self.reserve(k, v)
        end = begin + k.shape[2]
        self.keys[:, :, begin:end] = k  # (B, H, T, D)
        self.values[:, :, begin:end] = v  # (B, H, T, D)
        keys = self.keys[:, :, self.start : end]  # (B, H, S, D)
        values = self.values[:, :, self.start : end]  # (B, H, S, D)
        self.advance(end)
        return keys, values

    def reserve(self, k: Tensor, v: Tensor) -> int:
        """Room in the storage for ``k, v (B, H, T, D)`` (only their shapes count): where they go, after
        the held past, which starts at ``start``; write them there, then :meth:`advance`."""
        begin = self.start + self.length
        if self.keys is None or begin + k.shape[2] > self.keys.shape[2]:
            self._make_room(k, v)
            begin = self.length
        return begin

    def advance(self, end: int) -> None:
        """The positions up to ``end`` are written: hold the last ``keep`` of them."""
        self.start = max(self.start, end - self.keep)
        self.length = end - self.start

    def _make_room(self, k: Tensor, v: Tensor) -> None:
        """Move the held past to the front of the storage (a larger one if ``k`` would not fit)."""
        need = self.length + k.shape[2]
        past = slice(self.start, self.start + self.length)
        if self.keys is None or self.values is None or need > self.keys.shape[2]:
            batch, heads, _, dim = k.shape
            capacity = max(2 * (self.keep + 1), need)
            keys = k.new_empty(batch, heads, capacity, dim)  # (B, H, capacity, D)
            values = v.new_empty(batch, heads, capacity, v.shape[-1])  # (B, H, capacity, D)
            if self.keys is not None and self.values is not None:
                keys[:, :, : self.length] = self.keys[:, :, past]
                values[:, :, : self.length] = self.values[:, :, past]
            self.keys, self.values = keys, values
        elif self.length:
            overlap = self.start < self.length  # the source and the front overlap: copy through a clone
            held_keys, held_values = self.keys[:, :, past], self.values[:, :, past]  # (B, H, S, D)
            self.keys[:, :, : self.length] = held_keys.clone() if overlap else held_keys
            self.values[:, :, : self.length] = held_values.clone() if overlap else held_values
        self.start = 0


@dataclass
class AttentionCache:
    """Past keys and values of every layer, one :class:`KeyValueBuffer` each, holding at most
    ``sequence_length - 1`` positions.

    ``position`` counts every token fed so far (the absolute position of the next one), which
    rotary embeddings need; relative attention and ALiBi only use distances.
    """

    layers: list[KeyValueBuffer] = field(default_factory=list)
    position: int = 0
    # per layer, a function that decodes one new position in inference with the layer's weights bound,
    # ``(x (B, 1, C), layer's buffer, position) -> x (B, 1, C)`` (filled by the model's ``new_cache``)
    decoders: list[Callable[[Tensor, KeyValueBuffer, int], Tensor]] = field(default_factory=list)
    # the whole model's one-token step as one call, ``(ids (B, 1), this cache) -> logits (B, 1, V)``, where
    # the model has one (models/scripted.py); None: the model runs ``decoders`` one after the other
    step: Callable[[Tensor, AttentionCache], Tensor] | None = None

    @property
    def length(self) -> int:
        """How many past positions are held (the same for every layer)."""
        return self.layers[0].length if self.layers else 0


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
