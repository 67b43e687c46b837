"""Fused self-attention through ``torch.nn.functional.scaled_dot_product_attention`` (SDPA).

# B batch, H heads, T time (queries), S time (keys), D head dim, C model dim

Two position schemes that, unlike learned relative embeddings, fit the fused kernels:

- :class:`RotarySelfAttention` (RoPE, Su et al. 2021): queries and keys are rotated by their absolute
  position, so ``q_i . k_j`` depends only on ``i - j``. With a plain causal mask it calls SDPA with
  ``is_causal=True`` and no mask tensor, which lets a GPU run the flash kernel on long sequences.
  Cached keys are stored rotated; they stay valid as the window slides.
- :class:`ALiBiSelfAttention` (Press et al. 2022): no position embedding; an additive bias
  ``-slope_h * (i - j)`` per head, passed to SDPA as a float mask (memory-efficient kernel on GPU).

Both take the same arguments as :class:`~overworld.models.relative_attention.RelativeSelfAttention`.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["ALiBiSelfAttention", "RotarySelfAttention", "alibi_slopes", "apply_rotary"]


def apply_rotary(x: Tensor, position: int, inv_freq: Tensor) -> Tensor:
    """Rotate ``x (B, H, T, D)`` at positions ``position .. position + T - 1`` (rotate-half layout)."""
    length = x.shape[2]
    positions = torch.arange(position, position + length, device=x.device, dtype=torch.float32)  # (T,)
    angles = positions[:, None] * inv_freq[None, :]  # (T, D/2)
    cos = torch.cat([angles.cos(), angles.cos()], dim=-1).to(x.dtype)  # (T, D)
    sin = torch.cat([angles.sin(), angles.sin()], dim=-1).to(x.dtype)  # (T, D)
    first, second = x.chunk(2, dim=-1)  # 2 x (B, H, T, D/2)
    rotated_half = torch.cat([-second, first], dim=-1)  # (B, H, T, D)
    return x * cos + rotated_half * sin  # (B, H, T, D)


def alibi_slopes(num_heads: int) -> Tensor:
    """The ALiBi head slopes: ``2^(-8/n), 2^(-16/n), ...`` (interleaved when H is not a power of 2)."""

    def power_of_two(n: int) -> list[float]:
        start = 2.0 ** (-8.0 / n)
        return [start ** (i + 1) for i in range(n)]

    if math.log2(num_heads).is_integer():
        slopes = power_of_two(num_heads)
    else:
        closest = 2 ** math.floor(math.log2(num_heads))
        slopes = power_of_two(closest) + power_of_two(2 * closest)[0::2][: num_heads - closest]
    return torch.tensor(slopes, dtype=torch.float32)  # (H,)


class _FusedSelfAttention(nn.Module):
    """The shared projections: ``x (B, T, C)`` to heads and back."""

    def __init__(self, dim: int, num_heads: int, dropout: float) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.out = nn.Linear(dim, dim)
        self.dropout_p = dropout

    def _heads(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        batch, length, dim = x.shape
        q, k, v = self.qkv(x).split(dim, dim=-1)  # 3 x (B, T, C)
        shape = (batch, length, self.num_heads, self.head_dim)
        q = q.view(shape).transpose(1, 2)  # (B, H, T, D)
        k = k.view(shape).transpose(1, 2)  # (B, H, T, D)
        v = v.view(shape).transpose(1, 2)  # (B, H, T, D)
        return q, k, v

    def _merge(self, y: Tensor) -> Tensor:
        batch, _, length, _ = y.shape
        y = y.transpose(1, 2).reshape(batch, length, self.num_heads * self.head_dim)  # (B, T, C)
        return self.out(y)


class RotarySelfAttention(_FusedSelfAttention):
    """Causal self-attention with rotary position embeddings, through SDPA."""

    def __init__(self, dim: int, num_heads: int, dropout: float, base: float = 10000.0) -> None:
        super().__init__(dim, num_heads, dropout)
        exponents = torch.arange(0, self.head_dim, 2, dtype=torch.float32) / self.head_dim  # (D/2,)
        self.register_buffer("inv_freq", base**-exponents, persistent=False)  # (D/2,)

    def forward(
        self,
        x: Tensor,
        mask: Tensor,
        past: tuple[Tensor, Tensor] | None = None,
        *,
        position: int = 0,
        causal_fast: bool = False,
    ) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        """``x (B, T, C)`` at absolute positions from ``position`` -> ``(y, (k, v))``.

        ``causal_fast``: ``mask`` is the plain causal mask (or all True for one query), so SDPA gets
        ``is_causal`` and no mask tensor.
        """
        q, k, v = self._heads(x)  # 3 x (B, H, T, D)
        q = apply_rotary(q, position, self.inv_freq)  # (B, H, T, D)
        k = apply_rotary(k, position, self.inv_freq)  # (B, H, T, D)
        if past is not None:
            k = torch.cat([past[0], k], dim=2)  # (B, H, S, D)
            v = torch.cat([past[1], v], dim=2)  # (B, H, S, D)
        dropout_p = self.dropout_p if self.training else 0.0
        if causal_fast:
            y = F.scaled_dot_product_attention(q, k, v, dropout_p=dropout_p, is_causal=q.shape[2] > 1)
        else:
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=dropout_p)  # (B, H, T, D)
        return self._merge(y), (k, v)


class ALiBiSelfAttention(_FusedSelfAttention):
    """Causal self-attention with ALiBi linear distance biases, through SDPA."""

    def __init__(self, dim: int, num_heads: int, dropout: float) -> None:
        super().__init__(dim, num_heads, dropout)
        self.register_buffer("slopes", alibi_slopes(num_heads), persistent=False)  # (H,)

    def forward(
        self,
        x: Tensor,
        mask: Tensor,
        past: tuple[Tensor, Tensor] | None = None,
        *,
        position: int = 0,
        causal_fast: bool = False,
    ) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        """``x (B, T, C)`` -> ``(y, (k, v))``; ``position`` and ``causal_fast`` are unused."""
        q, k, v = self._heads(x)  # 3 x (B, H, T, D)
        if past is not None:
            k = torch.cat([past[0], k], dim=2)  # (B, H, S, D)
            v = torch.cat([past[1], v], dim=2)  # (B, H, S, D)
        num_queries, num_keys = q.shape[2], k.shape[2]
        q_pos = torch.arange(num_keys - num_queries, num_keys, device=x.device)[:, None]  # (T, 1)
        k_pos = torch.arange(num_keys, device=x.device)[None, :]  # (1, S)
        distance = (q_pos - k_pos).to(q.dtype)  # (T, S)
        bias = -self.slopes.to(q.dtype)[:, None, None] * distance  # (H, T, S)
        bias = bias.masked_fill(~mask, float("-inf"))  # (H, T, S)
        dropout_p = self.dropout_p if self.training else 0.0
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=bias, dropout_p=dropout_p)  # (B, H, T, D)
        return self._merge(y), (k, v)
