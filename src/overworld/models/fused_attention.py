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
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from overworld.models.base import KeyValueBuffer

__all__ = [
    "ALiBiSelfAttention",
    "RotarySelfAttention",
    "alibi_slopes",
    "apply_rotary",
    "rotary_tables",
    "rotate",
]


def apply_rotary(x: Tensor, position: int, inv_freq: Tensor) -> Tensor:
    """Rotate ``x (B, H, T, D)`` at positions ``position .. position + T - 1`` (rotate-half layout)."""
    cos, sin = rotary_tables(position, x.shape[2], inv_freq)  # 2 x (T, D)
    return rotate(x, cos.to(x.dtype), sin.to(x.dtype))


def rotary_tables(position: int, length: int, inv_freq: Tensor) -> tuple[Tensor, Tensor]:
    """``cos (T, D)`` and the signed ``sin (T, D)`` (``-sin`` on the first half) of positions
    ``position .. position + T - 1``."""
    positions = torch.arange(position, position + length, device=inv_freq.device, dtype=torch.float32)  # (T,)
    angles = positions[:, None] * inv_freq[None, :]  # (T, D/2)
    cos, sin = angles.cos(), angles.sin()  # 2 x (T, D/2)
    return torch.cat([cos, cos], dim=-1), torch.cat([-sin, sin], dim=-1)  # 2 x (T, D)


def rotate(x: Tensor, cos: Tensor, signed_sin: Tensor) -> Tensor:
    """``x (..., D)`` rotated: ``x * cos + rotate_half(x) * sin``, where ``rotate_half(x) = [-x2, x1]``
    is the halves swapped (a roll by ``D/2``) times the sign that ``signed_sin`` carries."""
    return x * cos + x.roll(x.shape[-1] // 2, dims=-1) * signed_sin  # (..., D)


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

    def _heads(self, x: Tensor) -> Tensor:
        """``x (B, T, C)`` -> ``qkv (B, 3H, T, D)``: queries, keys and values, head by head."""
        batch, length, _ = x.shape
        qkv = F.linear(x, self.qkv.weight, self.qkv.bias)  # (B, T, 3C)
        if length == 1:  # one position: splitting the heads is a view
            return qkv.view(batch, 3 * self.num_heads, 1, self.head_dim)  # (B, 3H, 1, D)
        return qkv.view(batch, length, 3 * self.num_heads, self.head_dim).transpose(1, 2)  # (B, 3H, T, D)

    def _merge(self, y: Tensor) -> Tensor:
        batch, _, length, _ = y.shape
        y = y.transpose(1, 2).reshape(batch, length, self.num_heads * self.head_dim)  # (B, T, C)
        return F.linear(y, self.out.weight, self.out.bias)  # (B, T, C)


class RotarySelfAttention(_FusedSelfAttention):
    """Causal self-attention with rotary position embeddings, through SDPA.

    The cos/sin tables of a block of positions are computed once and looked up by every step that falls
    in it, so a decoding step does no trigonometry.
    """

    TABLE_SIZE = 4096  # positions per cos/sin table

    def __init__(self, dim: int, num_heads: int, dropout: float, base: float = 10000.0) -> None:
        super().__init__(dim, num_heads, dropout)
        exponents = torch.arange(0, self.head_dim, 2, dtype=torch.float32) / self.head_dim  # (D/2,)
        self.register_buffer("inv_freq", base**-exponents, persistent=False)  # (D/2,)
        self._table: tuple[int, Tensor, Tensor] | None = None  # first position, cos, signed sin (N, D)

    def _rotation(self, position: int, length: int, dtype: torch.dtype) -> tuple[Tensor, Tensor]:
        """``cos, signed sin (T, D)`` of ``position .. position + T - 1``, from the table when it holds them."""
        table = self._table
        held = table is not None and table[0] <= position and position + length <= table[0] + len(table[1])
        if table is None or not held or table[1].dtype != dtype or table[1].device != self.inv_freq.device:
            cos, sin = rotary_tables(position, max(length, self.TABLE_SIZE), self.inv_freq)  # 2 x (N, D)
            table = self._table = (position, cos.to(dtype), sin.to(dtype))
        first = position - table[0]
        return table[1][first : first + length], table[2][first : first + length]  # 2 x (T, D)

    def decoder(self) -> Callable[[Tensor, KeyValueBuffer, int], Tensor]:
        """``forward`` for one new position in inference, ``(h (B, 1, C), past, position) -> (B, 1, C)``,
        with the weights bound: the heads split as a view, one lookup in the cos/sin table, no mask."""
        qkv_w, qkv_b, out_w, out_b = self.qkv.weight, self.qkv.bias, self.out.weight, self.out.bias
        heads, dim, rotation = self.num_heads, self.head_dim, self._rotation

        def attend(h: Tensor, past: KeyValueBuffer, position: int) -> Tensor:
            batch = h.shape[0]
            qkv = F.linear(h, qkv_w, qkv_b).view(batch, 3 * heads, 1, dim)  # (B, 3H, 1, D)
            cos, sin = rotation(position, 1, h.dtype)  # 2 x (1, D)
            qk = rotate(qkv[:, : 2 * heads], cos, sin)  # (B, 2H, 1, D)
            keys, values = past.append(qk[:, heads:], qkv[:, 2 * heads :])  # 2 x (B, H, S, D)
            y = F.scaled_dot_product_attention(qk[:, :heads], keys, values)  # (B, H, 1, D)
            return F.linear(y.view(batch, 1, heads * dim), out_w, out_b)  # (B, 1, C)

        return attend

    def forward(
        self,
        x: Tensor,
        mask: Tensor | None,
        past: KeyValueBuffer | None = None,
        *,
        position: int = 0,
        causal_fast: bool = False,
    ) -> Tensor:
        """``x (B, T, C)`` at absolute positions from ``position`` -> ``y (B, T, C)``; with ``past``, the
        new keys and values are appended to it and the queries see them all.

        ``causal_fast``: ``mask`` is the plain causal mask (or all True for one query; then it may be
        None), so SDPA gets ``is_causal`` and no mask tensor.
        """
        heads, length = self.num_heads, x.shape[1]
        qkv = self._heads(x)  # (B, 3H, T, D)
        cos, sin = self._rotation(position, length, x.dtype)  # 2 x (T, D)
        qk = rotate(qkv[:, : 2 * heads], cos, sin)  # (B, 2H, T, D)
        q, k, v = qk[:, :heads], qk[:, heads:], qkv[:, 2 * heads :]  # 3 x (B, H, T, D)
        if past is not None:
            k, v = past.append(k, v)  # 2 x (B, H, S, D)
        dropout_p = self.dropout_p if self.training else 0.0
        if causal_fast or mask is None:
            y = F.scaled_dot_product_attention(q, k, v, dropout_p=dropout_p, is_causal=length > 1)
        else:
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=dropout_p)  # (B, H, T, D)
        return self._merge(y)


class ALiBiSelfAttention(_FusedSelfAttention):
    """Causal self-attention with ALiBi linear distance biases, through SDPA."""

    def __init__(self, dim: int, num_heads: int, dropout: float) -> None:
        super().__init__(dim, num_heads, dropout)
        self.register_buffer("slopes", alibi_slopes(num_heads), persistent=False)  # (H,)

    def decoder(self) -> Callable[[Tensor, KeyValueBuffer, int], Tensor]:
        """``forward`` for one new position in inference, ``(h (B, 1, C), past, position) -> (B, 1, C)``,
        with the weights bound: the heads split as a view, no mask, and the distances to the ``S`` keys
        (``S - 1 .. 0``) a slice of one descending table."""
        qkv_w, qkv_b, out_w, out_b = self.qkv.weight, self.qkv.bias, self.out.weight, self.out.bias
        heads, dim, slopes = self.num_heads, self.head_dim, self.slopes
        table: list[Tensor] = []  # [distances (N,)]: N-1, .., 1, 0 in the model's dtype

        def distances(num_keys: int, like: Tensor) -> Tensor:
            short = not table or table[0].shape[0] < num_keys
            if short or table[0].dtype != like.dtype or table[0].device != like.device:
                size = max(num_keys, 2 * table[0].shape[0] if table else 1024)
                table[:] = [torch.arange(size - 1, -1, -1, device=like.device).to(like.dtype)]
            return table[0][table[0].shape[0] - num_keys :]  # (S,)

        def attend(h: Tensor, past: KeyValueBuffer, position: int) -> Tensor:
            batch = h.shape[0]
            qkv = F.linear(h, qkv_w, qkv_b).view(batch, 3 * heads, 1, dim)  # (B, 3H, 1, D)
            keys, values = past.append(qkv[:, heads : 2 * heads], qkv[:, 2 * heads :])  # 2 x (B, H, S, D)
            distance = distances(keys.shape[2], h)[None, :]  # (1, S)
            bias = -slopes.to(h.dtype)[:, None, None] * distance  # (H, 1, S)
            y = F.scaled_dot_product_attention(qkv[:, :heads], keys, values, attn_mask=bias)  # (B, H, 1, D)
            return F.linear(y.view(batch, 1, heads * dim), out_w, out_b)  # (B, 1, C)

        return attend

    def forward(
        self,
        x: Tensor,
        mask: Tensor | None,
        past: KeyValueBuffer | None = None,
        *,
        position: int = 0,
        causal_fast: bool = False,
    ) -> Tensor:
        """``x (B, T, C)`` -> ``y (B, T, C)``; ``mask`` None: every key visible (one query);
        ``position`` and ``causal_fast`` are unused."""
        heads = self.num_heads
        qkv = self._heads(x)  # (B, 3H, T, D)
        q, k, v = qkv[:, :heads], qkv[:, heads : 2 * heads], qkv[:, 2 * heads :]  # 3 x (B, H, T, D)
        if past is not None:
            k, v = past.append(k, v)  # 2 x (B, H, S, D)
        num_queries, num_keys = q.shape[2], k.shape[2]
        q_pos = torch.arange(num_keys - num_queries, num_keys, device=x.device)[:, None]  # (T, 1)
        k_pos = torch.arange(num_keys, device=x.device)[None, :]  # (1, S)
        distance = (q_pos - k_pos).to(q.dtype)  # (T, S)
        bias = -self.slopes.to(q.dtype)[:, None, None] * distance  # (H, T, S)
        if mask is not None:
            bias = bias.masked_fill(~mask, float("-inf"))  # (H, T, S)
        dropout_p = self.dropout_p if self.training else 0.0
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=bias, dropout_p=dropout_p)  # (B, H, T, D)
        return self._merge(y)
