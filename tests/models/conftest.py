"""Tiny model configs for the model tests: a few thousand parameters, dropout off, built in code."""

from __future__ import annotations

import dataclasses

import pytest

from overworld.config import ModelConfig

TINY = ModelConfig(
    vocab_size=13,
    embedding_size=16,
    sequence_length=8,
    num_blocks=2,
    num_heads=2,
    feed_forward_dim=32,
    dropout=0.0,
    max_relative_distance=5,  # smaller than the window, so clipping is exercised
    lstm_hidden_size=16,
    lstm_layers=2,
)

VARIANTS = {
    "relative": TINY,
    "rope": dataclasses.replace(TINY, attention="rope"),
    "alibi": dataclasses.replace(TINY, attention="alibi"),
    "lstm": dataclasses.replace(TINY, model="lstm"),
}
ATTENTION_VARIANTS = ("relative", "rope", "alibi")


@pytest.fixture
def tiny_config() -> ModelConfig:
    return TINY


@pytest.fixture(params=sorted(VARIANTS))
def any_config(request) -> ModelConfig:
    """Each of the four model variants in turn (three attention kinds and the LSTM)."""
    return VARIANTS[request.param]


@pytest.fixture(params=ATTENTION_VARIANTS)
def attention_config(request) -> ModelConfig:
    """Each attention variant of the Music Transformer in turn."""
    return VARIANTS[request.param]
