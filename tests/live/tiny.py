"""A tiny random bar-token model built in code (the live tests' and the play command's)."""

from __future__ import annotations

import torch

from overworld.config import ModelConfig, SampleConfig
from overworld.tokenizers.bars import Layout as L

SAMPLING = SampleConfig(max_polyphony=4, max_instruments=(2, 4))  # a random model's parts stay small


def tiny_lm():
    from overworld.models import build_model

    torch.manual_seed(0)
    config = ModelConfig(
        vocab_size=L.SIZE,
        embedding_size=32,
        sequence_length=256,
        num_blocks=2,
        num_heads=2,
        feed_forward_dim=64,
        dropout=0.0,
    )
    return build_model(config).eval()


def saved_model(folder):
    from overworld.models.storage import save_model
    from overworld.tokenizers.bars import BarTokenizer

    return save_model(folder, tiny_lm(), BarTokenizer(), {"data": "random"}, sampling=SAMPLING)
