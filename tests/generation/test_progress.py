"""Progress counts the music asked for: seconds or bars composed, not the token cap."""

from __future__ import annotations

import pytest
import torch

from overworld.config import ModelConfig, SampleConfig
from overworld.generation.sampler import generate


def _calls(model, tokenizer, **length) -> list[tuple[float, float]]:
    calls: list[tuple[float, float]] = []
    generate(
        model, tokenizer, SampleConfig(), num=2, seed=3, progress=lambda d, t: calls.append((d, t)), **length
    )
    return calls


def _check(calls: list[tuple[float, float]], total: float) -> None:
    assert calls and {t for _, t in calls} == {total}  # the total is the music asked for, from the start
    done = [d for d, _ in calls]
    assert done == sorted(done) and 0 <= done[0] < total  # it grows ...
    assert done[-1] == total  # ... and ends full (with a token total it stopped at a few per cent)


def _model(vocab_size: int):
    from overworld.models import build_model

    torch.manual_seed(0)
    config = ModelConfig(
        vocab_size=vocab_size,
        embedding_size=32,
        sequence_length=64,
        num_blocks=1,
        num_heads=2,
        feed_forward_dim=64,
        dropout=0.0,
    )
    return build_model(config).eval()


def test_seconds_count_seconds_of_music(tiny_model, tokenizer):
    _check(_calls(tiny_model, tokenizer, seconds=2.0), 2.0)


@pytest.mark.parametrize("length", [{"bars": 3}, {"seconds": 4.0}])
def test_bar_tokens_count_bars_or_seconds(length):
    from overworld.tokenizers import make_tokenizer

    bars = make_tokenizer("bars")
    _check(_calls(_model(bars.vocab_size), bars, **length), float(next(iter(length.values()))))


def test_a_grammar_without_a_clock_counts_decoded_seconds():
    from overworld.tokenizers import make_tokenizer

    remi = make_tokenizer("remi")
    calls = _calls(_model(remi.vocab_size), remi, seconds=1.0)
    assert {t for _, t in calls} == {1.0} and calls[-1][0] <= 1.0


def test_without_a_music_length_progress_counts_tokens(tiny_model, tokenizer):
    calls = _calls(tiny_model, tokenizer, length=40)
    assert calls[-1] == (40, 40) and calls[0] == (1, 40)
