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
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from overworld.config import ModelConfig
from overworld.models.base import AttentionCache, KeyValueBuffer, LanguageModel, window_mask
from overworld.models.scripted import rotary_step

__all__ = ["Block", "MusicTransformer"]

AttentionBuilder = Callable[[ModelConfig], nn.Module]
Decoder = Callable[[Tensor, KeyValueBuffer, int], Tensor]  # (x (B, 1, C), past, position) -> x (B, 1, C)


class Block(nn.Module):
    """One pre-norm Transformer block: attention then a GELU MLP, each with a residual."""

    def __init__(self, config: ModelConfig, attention: AttentionBuilder) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(config.embedding_size)
        self.attention = attention(config)
        self.norm2 = nn.LayerNorm(config.embedding_size)
        self.mlp = nn.Sequential(
            nn.Linear(config.embedding_size, config.feed_forward_dim),  # (B, T, F)
            nn.GELU(),
            nn.Linear(config.feed_forward_dim, config.embedding_size),  # (B, T, C)
        )
        self.dropout = nn.Dropout(config.dropout)

    def forward(
        self, x: Tensor, mask: Tensor, past: KeyValueBuffer | None, position: int, causal_fast: bool
    ) -> Tensor:
        """``x (B, T, C)`` -> ``x (B, T, C)``; the new keys and values are appended to ``past``."""
        attended = self.attention(self.norm1(x), mask, past, position=position, causal_fast=causal_fast)
        x = x + self.dropout(attended)  # (B, T, C)
        return x + self.dropout(self.mlp(self.norm2(x)))  # (B, T, C)

    def decoder(self) -> Decoder:
        """``forward`` for one new position in inference, ``(x (B, 1, C), past, position) -> x (B, 1, C)``,
        as a function with the weights bound: no mask, no dropout, no submodule calls or lookups (their
        overhead is most of a decoding step). The parameters are bound, not copied: it follows training,
        ``load_state_dict`` and ``to()``."""
        attend = self.attention.decoder()
        n1, n2, up, down = self.norm1, self.norm2, self.mlp[0], self.mlp[2]
        shape, w1, b1, eps1 = n1.normalized_shape, n1.weight, n1.bias, n1.eps
        w2, b2, eps2 = n2.weight, n2.bias, n2.eps
        up_w, up_b, down_w, down_b = up.weight, up.bias, down.weight, down.bias

        def decode(x: Tensor, past: KeyValueBuffer, position: int) -> Tensor:
            x = x + attend(F.layer_norm(x, shape, w1, b1, eps1), past, position)  # (B, 1, C)
            hidden = F.gelu(F.linear(F.layer_norm(x, shape, w2, b2, eps2), up_w, up_b))  # (B, 1, F)
            return x + F.linear(hidden, down_w, down_b)  # (B, 1, C)

        return decode


class MusicTransformer(LanguageModel):
    """Decoder-only Transformer with relative (skewed), rotary or ALiBi attention; ``attention`` builds
    each block's attention (``build.py`` passes the kind ``config.attention`` names)."""

    def __init__(self, config: ModelConfig, attention: AttentionBuilder) -> None:
        super().__init__(config)
        self.embedding = nn.Embedding(config.vocab_size, config.embedding_size)
        self.dropout = nn.Dropout(config.dropout)
        self.blocks = nn.ModuleList(Block(config, attention) for _ in range(config.num_blocks))
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
        self, ids: Tensor, pasts: list[KeyValueBuffer] | list[None], past_length: int, position: int
    ) -> Tensor:
        length = ids.shape[1]
        window = self.config.sequence_length
        mask = window_mask(length, past_length + length, window, device=ids.device)  # (T, S)
        # plain causal (no past, within the window) or a single query that sees every key
        causal_fast = (past_length == 0 and length <= window) or (length == 1 and past_length < window)
        x = self.dropout(self.embedding(ids))  # (B, T, C)
        for block, past in zip(self.blocks, pasts):
            x = block(x, mask, past, position, causal_fast)  # (B, T, C)
        return self.head(self.norm(x))  # (B, T, V)

    def _decode(self, ids: Tensor, cache: AttentionCache) -> Tensor:
        """``_run`` for one new position per row in inference: ``ids (B, 1)`` -> logits ``(B, 1, V)``."""
        if cache.step is not None:  # the same decoders as one scripted call (models/scripted.py)
            return cache.step(ids, cache)  # (B, 1, V)
        position = cache.position
        x = F.embedding(ids, self.embedding.weight)  # (B, 1, C)
        for decode, past in zip(cache.decoders, cache.layers):
            x = decode(x, past, position)  # (B, 1, C)
        norm = self.norm
        x = F.layer_norm(x, norm.normalized_shape, norm.weight, norm.bias, norm.eps)  # (B, 1, C)
        return F.linear(x, self.head.weight)  # (B, 1, V)

    def forward(self, ids: Tensor) -> Tensor:
        """Logits ``(B, T, V)``; ``T`` may exceed ``sequence_length`` (a sliding window applies)."""
        return self._run(ids, [None] * len(self.blocks), 0, 0)

    def new_cache(self, batch_size: int, device: torch.device | str | None = None) -> AttentionCache:
        """An empty key/value cache (each layer's storage is allocated by the first ``step``), with each
        block's one-position decoder and, for rotary attention, all of them as one scripted step."""
        keep = self.config.sequence_length - 1
        layers = [KeyValueBuffer(keep) for _ in self.blocks]
        decoders = [block.decoder() for block in self.blocks]
        return AttentionCache(layers=layers, decoders=decoders, step=rotary_step(self))

    def step(self, ids: Tensor, cache: AttentionCache) -> Tensor:
        """Logits ``(B, T_new, V)`` for new ids; appends them to ``cache`` and slides its window."""
        if ids.shape[1] == 1 and not self.training and len(cache.decoders) == len(self.blocks):
            logits = self._decode(ids, cache)  # (B, 1, V)
        else:
            logits = self._run(ids, cache.layers, cache.length, cache.position)  # (B, T_new, V)
        cache.position += int(ids.shape[1])
        return logits
