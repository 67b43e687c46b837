"""Cached incremental decoding gives the logits of the full forward pass.

What "equal" means past ``sequence_length`` (the sliding window): every query sees itself and at most
``sequence_length - 1`` earlier positions, in ``forward`` as in ``step``. So ``step`` always equals
``forward`` over the whole sequence (which applies the same window in every layer); for a one-layer
model that is exactly ``forward`` over the last ``sequence_length`` tokens. With more layers the earlier
positions' hidden states carry information from before the window (as in any sliding-window attention),
so the last-window forward differs there by design. The LSTM carries its state and never forgets.
"""

from __future__ import annotations

import dataclasses

import pytest
import torch

from overworld.models.build import build_model

ATOL = 1e-5


def _ids(length: int, seed: int = 0) -> torch.Tensor:
    return torch.randint(0, 13, (2, length), generator=torch.Generator().manual_seed(seed))


@torch.no_grad()
def test_token_by_token_equals_forward(any_config):
    model = build_model(any_config).eval()
    ids = _ids(any_config.sequence_length)
    full = model(ids)
    cache = model.new_cache(2)
    steps = torch.cat([model.step(ids[:, t : t + 1], cache) for t in range(ids.shape[1])], dim=1)
    torch.testing.assert_close(steps, full, rtol=0, atol=ATOL)


@pytest.mark.parametrize("chunks", [(3, 5), (1, 6, 1), (8,)])
@torch.no_grad()
def test_chunked_steps_equal_forward(any_config, chunks):
    model = build_model(any_config).eval()
    ids = _ids(sum(chunks), seed=1)
    full = model(ids)
    cache = model.new_cache(2)
    outputs, start = [], 0
    for size in chunks:
        outputs.append(model.step(ids[:, start : start + size], cache))
        start += size
    torch.testing.assert_close(torch.cat(outputs, dim=1), full, rtol=0, atol=ATOL)


@pytest.mark.parametrize("chunks", [(1,) * 21, (6, 11, 1, 3), (21,)])
@torch.no_grad()
def test_sliding_window_past_sequence_length_equals_windowed_forward(any_config, chunks):
    model = build_model(any_config).eval()
    ids = _ids(sum(chunks), seed=2)  # 21 tokens, the window is 8
    full = model(ids)
    cache = model.new_cache(2)
    outputs, start = [], 0
    for size in chunks:
        outputs.append(model.step(ids[:, start : start + size], cache))
        start += size
        if any_config.model != "lstm":
            assert cache.length <= any_config.sequence_length - 1
    torch.testing.assert_close(torch.cat(outputs, dim=1), full, rtol=0, atol=ATOL)


@torch.no_grad()
def test_one_layer_window_equals_forward_over_the_last_window(attention_config):
    config = dataclasses.replace(attention_config, num_blocks=1)
    model = build_model(config).eval()
    window = config.sequence_length
    ids = _ids(3 * window, seed=3)
    cache = model.new_cache(2)
    for t in range(ids.shape[1]):
        stepped = model.step(ids[:, t : t + 1], cache)[:, 0]  # (B, V)
        windowed = model(ids[:, max(0, t - window + 1) : t + 1])[:, -1]  # forward over the last window
        torch.testing.assert_close(stepped, windowed, rtol=0, atol=ATOL)


@torch.no_grad()
def test_lstm_state_carries_across_steps(tiny_config):
    model = build_model(dataclasses.replace(tiny_config, model="lstm")).eval()
    ids = _ids(30, seed=4)
    cache = model.new_cache(2)
    model.step(ids[:, :17], cache)
    last = model.step(ids[:, 17:], cache)
    torch.testing.assert_close(last, model(ids)[:, 17:], rtol=0, atol=ATOL)
    assert cache.position == 30
