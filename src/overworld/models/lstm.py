"""The LSTM baseline (a plain LSTM language model, as Magenta's Performance/Polyphony RNN).

# B batch, T time, C embedding size, N hidden size, L layers, V vocabulary

Embedding -> dropout -> stacked LSTM (dropout between layers) -> dropout -> linear head. ``step``
carries the ``(h, c)`` state, so decoding is exact however long it runs (no window).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from overworld.config import ModelConfig
from overworld.models.base import LanguageModel

__all__ = ["LSTMModel", "LSTMState"]


@dataclass
class LSTMState:
    """The recurrent state: ``h`` and ``c`` are each ``(L, B, N)``; ``position`` counts tokens fed."""

    h: Tensor
    c: Tensor
    position: int = 0


class LSTMModel(LanguageModel):
    """Embedding, stacked LSTM and linear head; the head is tied to the embedding when sizes match."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__(config)
        self.embedding = nn.Embedding(config.vocab_size, config.embedding_size)
        self.dropout = nn.Dropout(config.dropout)
        self.lstm = nn.LSTM(
            input_size=config.embedding_size,
            hidden_size=config.lstm_hidden_size,
            num_layers=config.lstm_layers,
            dropout=config.dropout if config.lstm_layers > 1 else 0.0,
            batch_first=True,
        )
        self.head = nn.Linear(config.lstm_hidden_size, config.vocab_size, bias=False)
        nn.init.normal_(self.embedding.weight, std=0.02)
        nn.init.normal_(self.head.weight, std=0.02)
        if config.tie_embeddings and config.lstm_hidden_size == config.embedding_size:
            self.head.weight = self.embedding.weight

    def _run(self, ids: Tensor, state: tuple[Tensor, Tensor] | None) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        x = self.dropout(self.embedding(ids))  # (B, T, C)
        y, (h, c) = self.lstm(x, state)  # (B, T, N), (L, B, N) twice
        return self.head(self.dropout(y)), (h, c)  # (B, T, V)

    def forward(self, ids: Tensor) -> Tensor:
        """Logits ``(B, T, V)`` from a zero initial state."""
        logits, _ = self._run(ids, None)
        return logits

    def new_cache(self, batch_size: int, device: torch.device | str | None = None) -> LSTMState:
        """A zero state for ``batch_size`` sequences."""
        shape = (self.config.lstm_layers, batch_size, self.config.lstm_hidden_size)
        dtype = self.embedding.weight.dtype
        return LSTMState(
            h=torch.zeros(shape, device=device, dtype=dtype), c=torch.zeros(shape, device=device, dtype=dtype)
        )

    def step(self, ids: Tensor, cache: LSTMState) -> Tensor:
        """Logits ``(B, T_new, V)``; advances ``cache`` in place."""
        logits, (cache.h, cache.c) = self._run(ids, (cache.h, cache.c))
        cache.position += int(ids.shape[1])
        return logits
