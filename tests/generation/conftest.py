"""Fixtures for generation tests: the real performance tokenizer, tiny random models built in code."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
import torch
from torch import nn

from overworld.config import ModelConfig
from overworld.tokenizers import vocab as V


@pytest.fixture(scope="session")
def tokenizer():
    from overworld.tokenizers import make_tokenizer

    return make_tokenizer("performance")


def tiny_config(sequence_length: int = 32, model: str = "music-transformer") -> ModelConfig:
    """A debug-size model: two blocks of width 32 over the 520-token performance vocabulary."""
    return ModelConfig(
        model=model,
        vocab_size=V.VOCAB_SIZE,
        embedding_size=32,
        sequence_length=sequence_length,
        num_blocks=2,
        num_heads=2,
        feed_forward_dim=64,
        dropout=0.0,
        lstm_hidden_size=32,
        lstm_layers=1,
    )


@pytest.fixture(scope="session")
def tiny_model():
    from overworld.models import build_model

    torch.manual_seed(0)
    return build_model(tiny_config()).eval()


class BiasedModel(nn.Module):
    """A stand-in language model whose logits are a fixed bias (ignores the past): it pushes the grammar
    hard, e.g. towards starting notes and never releasing them."""

    def __init__(self, bias: np.ndarray, sequence_length: int = 32) -> None:
        super().__init__()
        self.bias = nn.Parameter(torch.as_tensor(bias, dtype=torch.float32), requires_grad=False)
        self.config = ModelConfig(vocab_size=len(bias), sequence_length=sequence_length)

    def new_cache(self, batch_size: int, device=None) -> list[int]:
        return [0]

    def step(self, ids: torch.Tensor, cache: list[int]) -> torch.Tensor:
        cache[0] += ids.shape[1]
        return self.bias.expand(ids.shape[0], ids.shape[1], -1)


@pytest.fixture
def biased_model() -> Callable[..., BiasedModel]:
    """``biased_model(note_on=5.0, time_shift=0.0, ...)``: group biases over a uniform background."""

    def make(**groups: float) -> BiasedModel:
        bias = np.zeros(V.VOCAB_SIZE)
        spans = {
            "note_on": (V.NOTE_ON_OFFSET, V.NOTE_OFF_OFFSET),
            "note_off": (V.NOTE_OFF_OFFSET, V.VELOCITY_OFFSET),
            "velocity": (V.VELOCITY_OFFSET, V.TIME_SHIFT_OFFSET),
            "time_shift": (V.TIME_SHIFT_OFFSET, V.INSTRUMENT_OFFSET),
            "instrument": (V.INSTRUMENT_OFFSET, V.VOCAB_SIZE),
            "eos": (V.EOS, V.EOS + 1),
        }
        for name, value in groups.items():
            lo, hi = spans[name]
            bias[lo:hi] = value
        return BiasedModel(bias)

    return make


def replay(ids: np.ndarray, max_note_seconds: float = 1e9) -> dict[str, int]:
    """Walk tokens as a decoder would and count grammar violations; returns the peak polyphony too."""
    instrument, velocity = -1, -1
    sounding: dict[tuple[int, int], int] = {}  # (instrument, pitch) -> onset step
    now = peak = 0
    problems = {
        "orphan_off": 0,
        "double_on": 0,
        "too_long": 0,
        "repeat_state": 0,
        "special": 0,
        "zero_length": 0,
    }
    for tok in np.asarray(ids).tolist():
        if tok < V.NOTE_ON_OFFSET:
            problems["special"] += 1
        elif tok < V.NOTE_OFF_OFFSET:
            key = (max(instrument, 0), tok - V.NOTE_ON_OFFSET)
            problems["double_on"] += key in sounding
            sounding[key] = now
        elif tok < V.VELOCITY_OFFSET:
            key = (max(instrument, 0), tok - V.NOTE_OFF_OFFSET)
            if key not in sounding:
                problems["orphan_off"] += 1
            else:
                problems["zero_length"] += (
                    sounding.pop(key) == now
                )  # the encoder never ends a note at its start
        elif tok < V.TIME_SHIFT_OFFSET:
            problems["repeat_state"] += tok - V.VELOCITY_OFFSET == velocity
            velocity = tok - V.VELOCITY_OFFSET
        elif tok < V.INSTRUMENT_OFFSET:
            now += tok - V.TIME_SHIFT_OFFSET + 1
        else:
            problems["repeat_state"] += tok - V.INSTRUMENT_OFFSET == instrument
            instrument = tok - V.INSTRUMENT_OFFSET
        peak = max(peak, len(sounding))
        if any((now - onset) * V.STEP_SECONDS > max_note_seconds + 1e-9 for onset in sounding.values()):
            problems["too_long"] += 1
    problems["unclosed"] = len(sounding)
    problems["peak"] = peak
    return problems
