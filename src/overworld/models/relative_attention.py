"""Relative self-attention of the Music Transformer (Huang et al. 2018), with the skewing trick.

# B batch, H heads, T time (queries), S time (keys), D head dim, R relative distances, C model dim

Each layer learns one embedding per head for each causal distance ``d = i - j`` in ``0 .. R - 1``
(``rel``, shape ``(H, R, D)``). We keep them per head (the tensor2tensor option
``heads_share_relative_embedding=False``): it costs ``H * R * D`` parameters per layer and lets each head
learn its own sense of distance. Distances past ``R - 1`` share the last embedding (clipping, as in
Shaw et al.); ``R = max_relative_distance`` or ``sequence_length`` when that is 0.

The relative logits are ``S_rel[i, j] = q_i . rel[clip(i - j)]``. Three ways to compute them, all equal:

- :func:`relative_logits_naive`: gathers the full ``(H, T, T, D)`` tensor of embeddings: the reference,
  O(T^2 D) memory;
- :func:`relative_logits_skewed`: ``q @ E^T`` against the ``T`` embeddings ordered from far to near,
  then pad, reshape and slice (:func:`skew`): O(T^2) memory, used by ``forward``;
- :func:`relative_logits_gather`: ``q @ rel^T`` then a gather by distance; used by cached decoding,
  where the new queries meet cached keys and the square skew does not apply (a single new query, the
  common case, takes its distances ``S - 1 .. 0`` as a slice of one table: ``decoder``).

The scores are ``(q k^T + S_rel) / sqrt(D)``, masked (causal, sliding window), softmax, times ``v``.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from overworld.models.base import KeyValueBuffer

__all__ = [
    "RelativeSelfAttention",
    "relative_index",
    "relative_logits_gather",
    "relative_logits_naive",
    "relative_logits_skewed",
    "skew",
]


def relative_index(
    num_queries: int, num_keys: int, num_relative: int, device: torch.device | str | None = None
) -> Tensor:
    """Clipped distances ``(T, S)``: the queries are the last ``num_queries`` of ``num_keys`` positions.

    Entry ``[i, j]`` is ``clip(p_i - j, 0, R - 1)``; negative distances (future keys, masked anyway)
    map to 0.
    """
    q_pos = torch.arange(num_keys - num_queries, num_keys, device=device)[:, None]  # (T, 1)
    k_pos = torch.arange(num_keys, device=device)[None, :]  # (1, S)
    return (q_pos - k_pos).clamp(0, num_relative - 1)  # (T, S)


def skew(qe: Tensor) -> Tensor:
    """The skewing trick: ``(B, H, T, T)`` logits against distances ``T-1 .. 0`` to ``(B, H, T, T)``
    logits indexed by key position, ``out[i, j] = qe[i, T - 1 - (i - j)]`` for ``j <= i``.

    Entries with ``j > i`` hold values of other rows and must be masked by the caller.
    """
    batch, heads, length, _ = qe.shape
    padded = F.pad(qe, (1, 0))  # (B, H, T, T + 1): one zero column on the left
    padded = padded.reshape(batch, heads, length + 1, length)  # (B, H, T + 1, T)
    return padded[:, :, 1:, :]  # (B, H, T, T)


def _far_to_near(rel: Tensor, length: int) -> Tensor:
    """``(H, T, D)`` embeddings for distances ``T-1, T-2, .., 0`` (clipped at ``R - 1``)."""
    num_relative = rel.shape[1]
    distances = torch.arange(length - 1, -1, -1, device=rel.device).clamp(max=num_relative - 1)  # (T,)
    return rel[:, distances, :]  # (H, T, D)


def relative_logits_skewed(q: Tensor, rel: Tensor) -> Tensor:
    """``S_rel (B, H, T, T)`` for queries ``q (B, H, T, D)`` and embeddings ``rel (H, R, D)``."""
    length = q.shape[2]
    embeddings = _far_to_near(rel, length)  # (H, T, D)
    qe = torch.einsum("bhtd,hrd->bhtr", q, embeddings)  # (B, H, T, T): column r is distance T-1-r
    return skew(qe)  # (B, H, T, T): column j is key j


def relative_logits_naive(q: Tensor, rel: Tensor) -> Tensor:
    """The reference: builds every pair's embedding, an ``(H, T, T, D)`` tensor, then dots."""
    length = q.shape[2]
    index = relative_index(length, length, rel.shape[1], device=q.device)  # (T, T)
    pairs = rel[:, index, :]  # (H, T, T, D)
    return torch.einsum("bhid,hijd->bhij", q, pairs)  # (B, H, T, T)


def relative_logits_gather(q: Tensor, rel: Tensor, num_keys: int) -> Tensor:
    """``S_rel (B, H, T, S)`` for ``T`` new queries that are the last of ``num_keys`` positions."""
    batch, heads, length, _ = q.shape
    qe = torch.einsum("bhtd,hrd->bhtr", q, rel)  # (B, H, T, R): one logit per distance
    index = relative_index(length, num_keys, rel.shape[1], device=q.device)  # (T, S)
    index = index.expand(batch, heads, length, num_keys)  # (B, H, T, S)
    return qe.gather(-1, index)  # (B, H, T, S)


class RelativeSelfAttention(nn.Module):
    """Multi-head causal self-attention with learned, clipped, per-head relative embeddings.

    ``method`` picks how ``forward`` without a cache computes the relative logits: ``"skew"`` (default)
    or ``"naive"`` (the O(T^2 D) reference, for tests and the benchmark).
    """

    def __init__(self, dim: int, num_heads: int, num_relative: int, dropout: float) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.out = nn.Linear(dim, dim)
        self.rel = nn.Parameter(torch.randn(num_heads, num_relative, self.head_dim) * 0.02)  # (H, R, D)
        self.dropout = nn.Dropout(dropout)
        self.method = "skew"

    def decoder(self) -> Callable[[Tensor, KeyValueBuffer, int], Tensor]:
        """``forward`` for one new position in inference, ``(h (B, 1, C), past, position) -> (B, 1, C)``,
        with the weights bound: the heads split as a view, no mask, and the distances to the ``S`` keys
        (``S - 1 .. 0``, clipped) a slice of one descending table instead of a new index every step."""
        qkv_w, qkv_b, out_w, out_b, rel = (
            self.qkv.weight,
            self.qkv.bias,
            self.out.weight,
            self.out.bias,
            self.rel,
        )
        heads, dim, scale = self.num_heads, self.head_dim, math.sqrt(self.head_dim)
        table: list[Tensor] = []  # [distances (N,)]: N-1, .., 1, 0 clipped at R - 1

        def distances(num_keys: int, device: torch.device) -> Tensor:
            if not table or table[0].shape[0] < num_keys or table[0].device != device:
                size = max(num_keys, 2 * table[0].shape[0] if table else 1024)
                table[:] = [torch.arange(size - 1, -1, -1, device=device).clamp(max=rel.shape[1] - 1)]
            return table[0][table[0].shape[0] - num_keys :]  # (S,)

        def attend(h: Tensor, past: KeyValueBuffer, position: int) -> Tensor:
            batch = h.shape[0]
            qkv = F.linear(h, qkv_w, qkv_b).view(batch, 3 * heads, 1, dim)  # (B, 3H, 1, D)
            q = qkv[:, :heads]  # (B, H, 1, D)
            k, v = past.append(qkv[:, heads : 2 * heads], qkv[:, 2 * heads :])  # 2 x (B, H, S, D)
            qe = torch.einsum("bhtd,hrd->bhtr", q, rel)  # (B, H, 1, R): one logit per distance
            rel_logits = qe.index_select(-1, distances(k.shape[2], h.device))  # (B, H, 1, S)
            scores = (q @ k.transpose(-2, -1) + rel_logits) / scale  # (B, H, 1, S)
            y = torch.softmax(scores, dim=-1) @ v  # (B, H, 1, D)
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
        """``x (B, T, C)`` -> ``y (B, T, C)``; with ``past``, the new keys and values are appended to it
        and the queries see them all.

        ``mask (T, S)`` is True where a query may attend (None: every key, for one query); ``position``
        and ``causal_fast`` are part of the common attention signature and unused here (only distances
        matter).
        """
        batch, length, dim = x.shape
        heads = self.num_heads
        qkv = F.linear(x, self.qkv.weight, self.qkv.bias)  # (B, T, 3C)
        qkv = qkv.view(batch, length, 3 * heads, self.head_dim).transpose(1, 2)  # (B, 3H, T, D)
        q, k, v = qkv[:, :heads], qkv[:, heads : 2 * heads], qkv[:, 2 * heads :]  # 3 x (B, H, T, D)
        if past is not None:
            k, v = past.append(k, v)  # 2 x (B, H, S, D)
            rel_logits = relative_logits_gather(q, self.rel, k.shape[2])  # (B, H, T, S)
        elif self.method == "naive":
            rel_logits = relative_logits_naive(q, self.rel)  # (B, H, T, T)
        else:
            rel_logits = relative_logits_skewed(q, self.rel)  # (B, H, T, T)
        scores = (q @ k.transpose(-2, -1) + rel_logits) / math.sqrt(self.head_dim)  # (B, H, T, S)
        if mask is not None:
            scores = scores.masked_fill(~mask, float("-inf"))  # (B, H, T, S)
        weights = self.dropout(torch.softmax(scores, dim=-1))  # (B, H, T, S)
        y = weights @ v  # (B, H, T, D)
        y = y.transpose(1, 2).reshape(batch, length, dim)  # (B, T, C)
        return F.linear(y, self.out.weight, self.out.bias)  # (B, T, C)
