"""The scripted one-token step of rotary models: bit for bit the Python decoders, or not there at all."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from overworld.config import ModelConfig
from overworld.models import scripted
from overworld.models.build import build_model

# as tests/models/conftest.py's TINY: a window of 8 positions
TINY = ModelConfig(vocab_size=13, embedding_size=16, sequence_length=8, num_blocks=2, num_heads=2,
                   feed_forward_dim=32, dropout=0.0, max_relative_distance=5)  # fmt: skip
VARIANTS = {kind: dataclasses.replace(TINY, attention=kind) for kind in ("relative", "rope", "alibi")}


def _steps(model, ids: torch.Tensor, cache) -> torch.Tensor:
    return torch.cat([model.step(ids[:, t : t + 1], cache) for t in range(ids.shape[1])], dim=1)


@torch.no_grad()
def test_the_scripted_step_gives_the_python_decoders_logits_bit_for_bit_past_the_window():
    model = build_model(dataclasses.replace(VARIANTS["rope"], num_blocks=3), seed=3).eval()
    ids = torch.randint(0, 13, (2, 30), generator=torch.Generator().manual_seed(4))  # window 8: it slides
    cache = model.new_cache(2)
    assert cache.step is not None
    plain = model.new_cache(2)
    plain.step = None  # the blocks' decoders one after the other
    model.step(ids[:, :5], cache), model.step(ids[:, :5], plain)  # a chunk first, as generation does
    scripted_logits, plain_logits = _steps(model, ids[:, 5:], cache), _steps(model, ids[:, 5:], plain)
    assert torch.equal(scripted_logits, plain_logits)
    assert cache.length == plain.length == 7 and cache.position == plain.position == 30
    for a, b in zip(cache.layers, plain.layers):
        assert torch.equal(
            a.keys[:, :, a.start : a.start + a.length], b.keys[:, :, b.start : b.start + b.length]
        )


@pytest.mark.parametrize("kind", ["relative", "alibi"])
def test_other_attention_keeps_its_python_decoders(kind):
    assert build_model(VARIANTS[kind]).new_cache(1).step is None


@torch.no_grad()
def test_without_torchscript_the_python_decoders_decode(monkeypatch):
    monkeypatch.setattr(scripted, "_SCRIPTED", [None])
    model = build_model(VARIANTS["rope"]).eval()
    cache = model.new_cache(2)
    assert cache.step is None
    ids = torch.randint(0, 13, (2, 12), generator=torch.Generator().manual_seed(5))
    torch.testing.assert_close(_steps(model, ids, cache), model(ids), rtol=0, atol=1e-5)
