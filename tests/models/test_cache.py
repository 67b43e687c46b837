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

from overworld.models.base import KeyValueBuffer
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


@pytest.mark.parametrize("chunks", [(1,) * 60, (9, 8, 1, 1, 12, 3, 1, 1, 20, 1, 1, 1, 2)])
@torch.no_grad()
def test_steps_equal_forward_well_past_two_windows(attention_config, chunks):
    # 60 tokens through a window of 8: the cache's storage (2 windows) fills and moves its past to the
    # front several times, also with chunks that overlap what they move and one that outgrows it
    model = build_model(attention_config).eval()
    ids = _ids(sum(chunks), seed=5)
    full = model(ids)
    cache = model.new_cache(2)
    outputs, start = [], 0
    for size in chunks:
        outputs.append(model.step(ids[:, start : start + size], cache))
        start += size
        assert cache.length == min(start, attention_config.sequence_length - 1)
    torch.testing.assert_close(torch.cat(outputs, dim=1), full, rtol=0, atol=ATOL)
    assert cache.position == sum(chunks)


@pytest.mark.parametrize("chunks", [(1,) * 40, (9, 8, 1, 12, 3, 30, 1, 2)])
def test_key_value_buffer_returns_the_last_window_and_moves_its_past_in_place(chunks):
    keep = 7
    buffer = KeyValueBuffer(keep)
    generator = torch.Generator().manual_seed(6)
    seen = torch.zeros(2, 3, 0, 4)  # (B, H, S, D): every position appended so far
    for size in chunks:
        k = torch.randn(2, 3, size, 4, generator=generator)  # (B, H, T, D)
        held = min(seen.shape[2], keep)
        before = None if buffer.keys is None else (buffer.keys.data_ptr(), buffer.keys.shape[2])
        seen = torch.cat([seen, k], dim=2)
        keys, values = buffer.append(k, -k)
        assert torch.equal(keys, seen[:, :, -(held + size) :])  # the held past, then the new positions
        assert torch.equal(values, -seen[:, :, -(held + size) :])
        assert buffer.length == min(seen.shape[2], keep)
        if before is not None and held + size <= before[1]:  # it fits: the same storage, written in place
            assert buffer.keys.data_ptr() == before[0]
        else:  # the first, or a chunk the storage cannot hold beside the past: a larger one
            assert buffer.keys.shape[2] == max(2 * (keep + 1), held + size)


@torch.no_grad()
def test_a_cache_made_before_new_weights_decodes_with_the_new_weights(attention_config):
    # the one-token decoders bind the parameters themselves, so loading weights after new_cache counts
    model = build_model(attention_config).eval()
    cache = model.new_cache(2)
    model.load_state_dict(build_model(attention_config, seed=1).state_dict())
    ids = _ids(5, seed=7)
    steps = torch.cat([model.step(ids[:, t : t + 1], cache) for t in range(5)], dim=1)
    torch.testing.assert_close(steps, model(ids), rtol=0, atol=ATOL)
