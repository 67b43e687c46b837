"""The Music Transformer's one-token step with rotary attention as one TorchScript graph.

# B batch, H heads, S time (keys, past + new), D head dim, C model dim, F feed-forward dim, V vocab

At batch 1 a decoding step is ~100 small operations, and calling them one by one from Python costs as
much as a good share of their work. :func:`rotary_step` runs the blocks' lean decoders
(:meth:`~overworld.models.music_transformer.Block.decoder` with
:meth:`~overworld.models.fused_attention.RotarySelfAttention.decoder`) and the head as one scripted
function: the same operations in the same order on the same tensors, so the logits are bit for bit those
of the Python decoders (tests/models/test_scripted.py), about 14% sooner on this project's 2-core CPU
(2.47 against 2.86 ms a step at 1,000-2,400 cached positions, interleaved, load 1.1).

``torch.jit.script`` is deprecated in recent torch (in favour of ``torch.compile``, which took 86 s to
compile this step and was no faster once compiled); it is asked for once per process, its warning
silenced, and where it is missing or fails the model keeps its Python decoders (``rotary_step`` is None).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F
from torch import Tensor

if TYPE_CHECKING:
    from overworld.models.base import AttentionCache

__all__ = ["rotary_step"]

_SCRIPTED: list[Any] = []  # [the scripted _blocks, or None where TorchScript is not to be had]


def _blocks(
    x: Tensor,
    weights: list[Tensor],
    keys: list[Tensor],
    values: list[Tensor],
    begin: int,
    start: int,
    cos: Tensor,
    sin: Tensor,
    heads: int,
    dim: int,
    eps: float,
) -> Tensor:
    """``x (B, 1, C)`` through every block and the head -> logits ``(B, 1, V)``: 12 weights a block (norm,
    qkv, out, norm, up, down), then the final norm's 2 and the head's; each block's keys and values
    written at ``begin`` of its storage ``(B, H, capacity, D)`` and attended from ``start``."""
    batch, width = x.shape[0], heads * dim
    for i in range(len(keys)):
        w = weights[12 * i : 12 * i + 12]
        h = F.layer_norm(x, [width], w[0], w[1], eps)  # (B, 1, C)
        qkv = F.linear(h, w[2], w[3]).view(batch, 3 * heads, 1, dim)  # (B, 3H, 1, D)
        qk = qkv[:, : 2 * heads]  # (B, 2H, 1, D)
        qk = qk * cos + qk.roll(dim // 2, -1) * sin  # rotated, as fused_attention.rotate
        keys[i][:, :, begin : begin + 1] = qk[:, heads:]  # (B, H, 1, D)
        values[i][:, :, begin : begin + 1] = qkv[:, 2 * heads :]  # (B, H, 1, D)
        past_keys = keys[i][:, :, start : begin + 1]  # (B, H, S, D)
        past_values = values[i][:, :, start : begin + 1]  # (B, H, S, D)
        y = F.scaled_dot_product_attention(qk[:, :heads], past_keys, past_values)  # (B, H, 1, D)
        x = x + F.linear(y.view(batch, 1, width), w[4], w[5])  # (B, 1, C)
        h = F.layer_norm(x, [width], w[6], w[7], eps)  # (B, 1, C)
        x = x + F.linear(F.gelu(F.linear(h, w[8], w[9])), w[10], w[11])  # (B, 1, C)
    n = 12 * len(keys)
    return F.linear(F.layer_norm(x, [width], weights[n], weights[n + 1], eps), weights[n + 2])  # (B, 1, V)


def _scripted() -> Any:
    """:func:`_blocks` scripted, once per process; None where TorchScript is missing or refuses it."""
    if not _SCRIPTED:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                _SCRIPTED.append(torch.jit.script(_blocks))
        except Exception:  # any failure leaves the Python decoders in charge
            _SCRIPTED.append(None)
    return _SCRIPTED[0]


def rotary_step(model: Any) -> Callable[[Tensor, AttentionCache], Tensor] | None:
    """The one-token step of a :class:`~overworld.models.music_transformer.MusicTransformer` whose blocks
    all use :class:`~overworld.models.fused_attention.RotarySelfAttention`, as ``(ids (B, 1), cache) ->
    logits (B, 1, V)``, writing each layer's new key and value into the cache; None for other models or
    without TorchScript. The parameters are bound, not copied (it follows training, ``load_state_dict``
    and ``to()``)."""
    from overworld.models.fused_attention import RotarySelfAttention

    blocks = list(model.blocks)
    norms = [n for b in blocks for n in (b.norm1, b.norm2)] + [model.norm]
    if not blocks or any(type(b.attention) is not RotarySelfAttention for b in blocks):
        return None
    if len({n.eps for n in norms}) != 1 or any(n.weight is None or n.bias is None for n in norms):
        return None
    scripted = _scripted()
    if scripted is None:
        return None
    weights = [p for b in blocks for p in _block_weights(b)] + [
        model.norm.weight,
        model.norm.bias,
        model.head.weight,
    ]
    first = blocks[0].attention
    heads, dim, eps, embedding = first.num_heads, first.head_dim, norms[0].eps, model.embedding.weight

    def step(ids: Tensor, cache: AttentionCache) -> Tensor:
        x = F.embedding(ids, embedding)  # (B, 1, C)
        like = x.new_empty(x.shape[0], heads, 1, dim)  # the shape of one position's keys and values
        begins = {past.reserve(like, like) for past in cache.layers}
        start = cache.layers[0].start
        cos, sin = first._rotation(cache.position, 1, x.dtype)  # 2 x (1, D)
        keys = [past.keys for past in cache.layers]  # each (B, H, capacity, D)
        values = [past.values for past in cache.layers]
        (begin,) = begins  # the layers hold the same positions
        logits = scripted(x, weights, keys, values, begin, start, cos, sin, heads, dim, eps)  # (B, 1, V)
        for past in cache.layers:
            past.advance(begin + 1)
        return logits

    return step


def _block_weights(block: Any) -> list[Tensor]:
    """A block's 12 weights in :func:`_blocks`' order."""
    attention, up, down = block.attention, block.mlp[0], block.mlp[2]
    return [block.norm1.weight, block.norm1.bias, attention.qkv.weight, attention.qkv.bias,
            attention.out.weight, attention.out.bias, block.norm2.weight, block.norm2.bias,
            up.weight, up.bias, down.weight, down.bias]  # fmt: skip
