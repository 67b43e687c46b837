"""The skewed relative logits equal the naive O(L^2 D) reference and the gather used by the cache."""

from __future__ import annotations

import pytest
import torch

from overworld.models.relative_attention import (
    RelativeSelfAttention,
    relative_index,
    relative_logits_gather,
    relative_logits_naive,
    relative_logits_skewed,
    skew,
)


def _causal(length: int) -> torch.Tensor:
    return torch.tril(torch.ones(length, length, dtype=torch.bool))


def test_relative_index_clips_far_distances_and_zeroes_future():
    index = relative_index(4, 4, 3)
    assert index.tolist() == [[0, 0, 0, 0], [1, 0, 0, 0], [2, 1, 0, 0], [2, 2, 1, 0]]


def test_skew_moves_distance_columns_to_key_columns():
    # row i, column r holds distance T-1-r; after skewing, column j must hold distance i-j
    length = 5
    distances = torch.arange(length - 1, -1, -1).float().expand(1, 1, length, length)  # (1, 1, T, T)
    skewed = skew(distances)[0, 0]
    expected = (torch.arange(length)[:, None] - torch.arange(length)[None, :]).float()
    mask = _causal(length)
    assert torch.equal(skewed[mask], expected[mask])


@pytest.mark.parametrize(("length", "num_relative"), [(7, 7), (9, 4), (6, 12), (1, 3)])
def test_skewed_equals_naive_including_clipping(length, num_relative):
    generator = torch.Generator().manual_seed(length)
    q = torch.randn(2, 3, length, 4, generator=generator)  # (B, H, T, D)
    rel = torch.randn(3, num_relative, 4, generator=generator)  # (H, R, D)
    mask = _causal(length)
    skewed = relative_logits_skewed(q, rel)[..., mask]
    naive = relative_logits_naive(q, rel)[..., mask]
    torch.testing.assert_close(skewed, naive, rtol=1e-5, atol=1e-5)


def test_gather_for_new_queries_equals_the_naive_rows():
    generator = torch.Generator().manual_seed(0)
    q = torch.randn(2, 3, 10, 4, generator=generator)
    rel = torch.randn(3, 6, 4, generator=generator)
    naive = relative_logits_naive(q, rel)  # (B, H, 10, 10)
    gathered = relative_logits_gather(q[:, :, 7:], rel, num_keys=10)  # the last 3 queries
    torch.testing.assert_close(gathered, naive[:, :, 7:], rtol=1e-5, atol=1e-5)


def test_attention_module_gives_the_same_output_with_either_method():
    torch.manual_seed(0)
    attention = RelativeSelfAttention(dim=12, num_heads=3, num_relative=4, dropout=0.0)
    x = torch.randn(2, 9, 12)
    mask = _causal(9)
    skewed = attention(x, mask)
    attention.method = "naive"
    naive = attention(x, mask)
    torch.testing.assert_close(skewed, naive, rtol=1e-5, atol=1e-5)
