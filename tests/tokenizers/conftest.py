"""Shared fixtures of the tokenizer tests."""

from __future__ import annotations

import pytest
import torch

from overworld.config import ModelConfig
from overworld.tokenizers.bars import Layout


@pytest.fixture(scope="module")
def random_model():
    """A tiny untrained bar-token model (seeded): its choices are near uniform, so what a grammar or a bias
    does to them shows."""
    from overworld.models import build_model

    torch.manual_seed(0)
    config = ModelConfig(vocab_size=Layout.SIZE, embedding_size=32, sequence_length=128, num_blocks=2,
                         num_heads=2, feed_forward_dim=64, dropout=0.0)  # fmt: skip
    return build_model(config).eval()
