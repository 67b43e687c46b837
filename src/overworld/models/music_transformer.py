"""The Music Transformer (Huang et al. 2018): a decoder-only Transformer over performance tokens.

# B batch, T time (new positions), S time (keys, past + new), C model dim, F feed-forward dim, V vocab

Token embedding -> dropout -> N pre-norm blocks -> LayerNorm -> linear head (tied to the embedding when
``tie_embeddings``). A block is ``x + dropout(attn(LN(x)))`` then ``x + dropout(MLP(LN(x)))`` with a
GELU MLP of ``feed_forward_dim``. There is no absolute position embedding: positions enter only through
the attention (``relative``: learned relative embeddings with skewing; ``rope``; ``alibi``), which is
what lets the cached keys stay valid when the decoding window slides.

Every query sees itself and at most ``sequence_length - 1`` earlier positions, in ``forward`` and in
``step`` alike; ``step`` keeps the last ``sequence_length - 1`` keys and values of each layer.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from overworld.config import ModelConfig
from overworld.models.base import AttentionCache, LanguageModel, window_mask
from overworld.models.build import ATTENTION, registry_entry

__all__ = ["Block", "MusicTransformer"]


def _attention(config: ModelConfig) -> nn.Module:
    """The attention kind ``config.attention`` names, from the one registry (an unknown name is an error)."""
    return registry_entry(ATTENTION, config.attention, "attention")(config)


class Block(nn.Module):
    """One pre-norm Transformer block: attention then a GELU MLP, each with a residual."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(config.embedding_size)
        self.attention = _attention(config)
        self.norm2 = nn.LayerNorm(config.embedding_size)
        self.mlp = nn.Sequential(
            nn.Linear(config.embedding_size, config.feed_forward_dim),  # (B, T, F)
            nn.GELU(),
            nn.Linear(config.feed_forward_dim, config.embedding_size),  # (B, T, C)
        )
        self.dropout = nn.Dropout(config.dropout)

    def forward(
        self,
        x: Tensor,
        mask: Tensor,
        past: tuple[Tensor, Tensor] | None,
        position: int,
        causal_fast: bool,
    ) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        """``x (B, T, C)`` -> ``(x (B, T, C), (k, v) (B, H, S, D))``."""
        attended, kv = self.attention(
            self.norm1(x), mask, past, position=position, causal_fast=causal_fast
        )  # (B, T, C)
        x = x + self.dropout(attended)  # (B, T, C)
        x = x + self.dropout(self.mlp(self.norm2(x)))  # (B, T, C)
        return x, kv


class MusicTransformer(LanguageModel):
    """Decoder-only Transformer with relative (skewed), rotary or ALiBi attention."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__(config)
        self.embedding = nn.Embedding(config.vocab_size, config.embedding_size)
        self.dropout = nn.Dropout(config.dropout)
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.num_blocks))
        self.norm = nn.LayerNorm(config.embedding_size)
        self.head = nn.Linear(config.embedding_size, config.vocab_size, bias=False)
        self.apply(self._init_weights)
        for name, parameter in self.named_parameters():
            if name.endswith("attention.out.weight") or name.endswith("mlp.2.weight"):
                # GPT-2: scale the residual projections by the depth
                nn.init.normal_(parameter, std=0.02 / math.sqrt(2 * config.num_blocks))
        if config.tie_embeddings:
            self.head.weight = self.embedding.weight

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, std=0.02)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, std=0.02)

    def _run(
        self,
        ids: Tensor,
        pasts: list[tuple[Tensor, Tensor] | None],
        past_length: int,
        position: int,
    ) -> tuple[Tensor, list[tuple[Tensor, Tensor]]]:
        length = ids.shape[1]
        window = self.config.sequence_length
        mask = window_mask(length, past_length + length, window, device=ids.device)  # (T, S)
        # plain causal (no past, within the window) or a single query that sees every key
        causal_fast = (past_length == 0 and length <= window) or (length == 1 and past_length < window)
        x = self.dropout(self.embedding(ids))  # (B, T, C)
        kvs = []
        for block, past in zip(self.blocks, pasts):
            x, kv = block(x, mask, past, position, causal_fast)  # (B, T, C)
            kvs.append(kv)
        return self.head(self.norm(x)), kvs  # (B, T, V)

    def forward(self, ids: Tensor) -> Tensor:
        """Logits ``(B, T, V)``; ``T`` may exceed ``sequence_length`` (a sliding window applies)."""
        logits, _ = self._run(ids, [None] * len(self.blocks), 0, 0)
        return logits

    def new_cache(self, batch_size: int, device: torch.device | str | None = None) -> AttentionCache:
        """An empty key/value cache (keys and values are allocated by the first ``step``)."""
        return AttentionCache(keys=[None] * len(self.blocks), values=[None] * len(self.blocks))

    def step(self, ids: Tensor, cache: AttentionCache) -> Tensor:
        """Logits ``(B, T_new, V)`` for new ids; appends them to ``cache`` and slides its window."""
        past_length = cache.length
        pasts = [None if k is None else (k, v) for k, v in zip(cache.keys, cache.values)]
        logits, kvs = self._run(ids, pasts, past_length, cache.position)
        keep = self.config.sequence_length - 1
        cache.keys = [k[:, :, -keep:] if keep else k[:, :, :0] for k, _ in kvs]  # (B, H, <= L-1, D)
        cache.values = [v[:, :, -keep:] if keep else v[:, :, :0] for _, v in kvs]  # (B, H, <= L-1, D)
        cache.position += int(ids.shape[1])
        return logits
