"""Fixtures for the export tests: a tiny random bar model (made in code, as tests/generation's) and short
composed pieces, one per seed, written as music packs."""

from __future__ import annotations

import types

import pytest
import torch

from overworld.config import ModelConfig, SampleConfig
from overworld.tokenizers.bars import BarTokenizer
from overworld.tokenizers.bars import Layout as L

SR = 8000
SEEDS = range(10)


def tiny_bar_config() -> ModelConfig:
    return ModelConfig(
        vocab_size=L.SIZE,
        embedding_size=32,
        sequence_length=256,
        num_blocks=2,
        num_heads=2,
        feed_forward_dim=64,
        dropout=0.0,
    )


TINY_SAMPLING = SampleConfig(max_polyphony=4, max_instruments=(2, 4))  # a random model's parts stay small


@pytest.fixture(scope="session")
def bar_model():
    from overworld.models import build_model

    torch.manual_seed(0)
    return types.SimpleNamespace(
        model=build_model(tiny_bar_config()).eval(), tokenizer=BarTokenizer(), sampling=TINY_SAMPLING
    )


@pytest.fixture(scope="session")
def saved_bar_model(tmp_path_factory):
    """The tiny bar model as a model folder, for the CLI."""
    from overworld.models import build_model, save_model

    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("model") / "tiny"
    return save_model(folder, build_model(tiny_bar_config()).eval(), BarTokenizer(), sampling=TINY_SAMPLING)


def compose_config(seed: int, **changes):
    """A short looped piece: 4 bars at 150 bpm (a bar is 1.6 s), an intro bar on odd seeds, stems."""
    from overworld.generation.compose import ComposeConfig

    settings = dict(bars=4, bpm=150, loop=True, intro=seed % 2, stems=True, sample_rate=SR, formats=("ogg",))
    return ComposeConfig(**{**settings, **changes})


@pytest.fixture(scope="session")
def packs(bar_model, tmp_path_factory):
    """``[(piece, folder)]`` for 10 seeds, each written with its XM module."""
    from overworld.export import write_composition
    from overworld.generation.compose import compose

    out = []
    for seed in SEEDS:
        config = compose_config(seed)
        piece = compose(bar_model, config, seed=seed)[0]
        folder = tmp_path_factory.mktemp(f"pack{seed}") / str(seed)
        out.append((piece, write_composition(piece, folder, config, model_name="tiny", modules=("xm",))))
    return out
