"""Rotary embeddings: the table lookups of cached decoding equal the textbook rotation at any position."""

from __future__ import annotations

import dataclasses

import torch

from overworld.models.build import build_model
from overworld.models.fused_attention import RotarySelfAttention, apply_rotary, rotary_tables, rotate


def _textbook(x: torch.Tensor, positions: torch.Tensor, inv_freq: torch.Tensor) -> torch.Tensor:
    """Su et al.'s rotation in the rotate-half layout: ``x * cos + [-x2, x1] * sin``."""
    angles = positions.float()[:, None] * inv_freq[None, :]  # (T, D/2)
    cos, sin = torch.cat([angles.cos()] * 2, dim=-1), torch.cat([angles.sin()] * 2, dim=-1)  # (T, D)
    first, second = x.chunk(2, dim=-1)
    return x * cos + torch.cat([-second, first], dim=-1) * sin


def test_apply_rotary_equals_the_textbook_rotation_far_from_zero():
    attention = RotarySelfAttention(dim=16, num_heads=2, dropout=0.0)
    x = torch.randn(2, 2, 5, 8, generator=torch.Generator().manual_seed(0))  # (B, H, T, D)
    expected = _textbook(x, torch.arange(5000, 5005), attention.inv_freq)
    torch.testing.assert_close(apply_rotary(x, 5000, attention.inv_freq), expected, rtol=0, atol=1e-6)


def test_a_table_row_is_bit_for_bit_the_rotation_of_its_position():
    inv_freq = RotarySelfAttention(dim=16, num_heads=2, dropout=0.0).inv_freq
    cos, sin = rotary_tables(0, 3000, inv_freq)  # 2 x (3000, 8)
    x = torch.randn(1, 2, 1, 8, generator=torch.Generator().manual_seed(1))
    for position in (0, 1, 777, 2047, 2999):
        alone = rotate(x, *rotary_tables(position, 1, inv_freq))
        assert torch.equal(rotate(x, cos[position], sin[position]), alone)


@torch.no_grad()
def test_decoding_past_the_table_refreshes_it(tiny_config, monkeypatch):
    # a table of 3 positions: one-token steps run off its end every few tokens and start a new one
    monkeypatch.setattr(RotarySelfAttention, "TABLE_SIZE", 3)
    model = build_model(dataclasses.replace(tiny_config, attention="rope")).eval()
    ids = torch.randint(0, 13, (2, 20), generator=torch.Generator().manual_seed(2))
    cache = model.new_cache(2)
    steps = torch.cat([model.step(ids[:, t : t + 1], cache) for t in range(20)], dim=1)
    first, cos, _ = model.blocks[0].attention._table
    assert first == 18 and cos.shape[0] == 3  # positions 18, 19, 20: the seventh table
    torch.testing.assert_close(steps, model(ids), rtol=0, atol=1e-5)
