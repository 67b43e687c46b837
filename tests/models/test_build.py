"""build_model: seeded, checks the config with one-line errors; the fused path asks for flash kernels."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from overworld.errors import ConfigError
from overworld.models import fused_attention
from overworld.models.base import LanguageModel
from overworld.models.build import build_model


def test_weights_are_a_pure_function_of_the_seed(any_config):
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    a, b, c = (
        build_model(any_config, seed=7),
        build_model(any_config, seed=7),
        build_model(any_config, seed=8),
    )
    assert torch.rand(1).item() == before.item()  # the global RNG is left as it was
    assert isinstance(a, LanguageModel) and a.config == any_config
    for (name, x), y in zip(a.state_dict().items(), b.state_dict().values()):
        assert torch.equal(x, y), name
    assert any(not torch.equal(x, z) for x, z in zip(a.parameters(), c.parameters()))


def test_tied_embeddings_are_counted_once(tiny_config):
    tied = build_model(tiny_config)
    untied = build_model(dataclasses.replace(tiny_config, tie_embeddings=False))
    extra = tiny_config.vocab_size * tiny_config.embedding_size
    assert untied.num_parameters() - tied.num_parameters() == extra


@pytest.mark.parametrize(
    ("change", "word"),
    [
        ({"model": "gru"}, "gru"),
        ({"attention": "sparse"}, "sparse"),
        ({"vocab_size": 0}, "vocab_size"),
        ({"num_heads": 3}, "divisible"),
        ({"attention": "rope", "num_heads": 16}, "even"),
        ({"dropout": 1.5}, "dropout"),
        ({"attention_dropout": -0.1}, "attention_dropout must be in"),
        ({"max_relative_distance": -1}, "max_relative_distance"),
    ],
)
def test_bad_configs_are_one_line_config_errors(tiny_config, change, word):
    with pytest.raises(ConfigError) as exc:
        build_model(dataclasses.replace(tiny_config, **change))
    assert word in str(exc.value) and "\n" not in str(exc.value)


def test_rope_training_forward_uses_is_causal_without_a_mask_or_dropout(tiny_config, monkeypatch):
    # any dropout_p sends SDPA to its unfused kernel (3-4x slower training on a CPU, bench_attention.py):
    # the residual dropout stays, the attention weights' is off unless asked for
    calls = []
    original = fused_attention.F.scaled_dot_product_attention

    def spy(*args, **kwargs):
        calls.append(kwargs)
        return original(*args, **kwargs)

    monkeypatch.setattr(fused_attention.F, "scaled_dot_product_attention", spy)
    model = build_model(dataclasses.replace(tiny_config, attention="rope", dropout=0.1)).train()
    model(torch.zeros(1, tiny_config.sequence_length, dtype=torch.long))
    assert calls and all(
        c.get("is_causal") and c.get("attn_mask") is None and not c["dropout_p"] for c in calls
    )


@pytest.mark.parametrize("tied", [True, False])
def test_the_config_counts_the_parameters_the_model_has(any_config, tied):
    config = dataclasses.replace(any_config, tie_embeddings=tied)
    assert config.num_parameters() == build_model(config).num_parameters()
