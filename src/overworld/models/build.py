"""``build_model(config)``: the one place that turns a :class:`ModelConfig` into a model."""

from __future__ import annotations

import torch

from overworld.config import ModelConfig
from overworld.errors import ConfigError
from overworld.models.base import LanguageModel

__all__ = ["ATTENTIONS", "MODELS", "build_model", "check_model_config"]

MODELS = ("music-transformer", "lstm")
ATTENTIONS = ("relative", "rope", "alibi")


def check_model_config(config: ModelConfig) -> None:
    """Raise :class:`ConfigError` with a one-line reason if ``config`` cannot build a model."""
    if config.model not in MODELS:
        raise ConfigError(f"unknown model {config.model!r}; choose one of {', '.join(MODELS)}")
    if config.vocab_size <= 0:
        raise ConfigError(
            "vocab_size is 0: take it from the tokenizer, "
            "dataclasses.replace(config, vocab_size=tokenizer.vocab_size)"
        )
    for name in ("embedding_size", "sequence_length"):
        if getattr(config, name) < 1:
            raise ConfigError(f"{name} must be at least 1, not {getattr(config, name)}")
    if not 0.0 <= config.dropout < 1.0:
        raise ConfigError(f"dropout must be in [0, 1), not {config.dropout}")
    if config.model == "lstm":
        if config.lstm_hidden_size < 1 or config.lstm_layers < 1:
            raise ConfigError("lstm_hidden_size and lstm_layers must be at least 1")
        return
    if config.attention not in ATTENTIONS:
        raise ConfigError(f"unknown attention {config.attention!r}; choose one of {', '.join(ATTENTIONS)}")
    if config.num_blocks < 1 or config.num_heads < 1 or config.feed_forward_dim < 1:
        raise ConfigError("num_blocks, num_heads and feed_forward_dim must be at least 1")
    if config.embedding_size % config.num_heads:
        raise ConfigError(
            f"embedding_size {config.embedding_size} is not divisible by num_heads {config.num_heads}"
        )
    if config.attention == "rope" and (config.embedding_size // config.num_heads) % 2:
        raise ConfigError("rope needs an even head dimension (embedding_size / num_heads)")
    if config.max_relative_distance < 0:
        raise ConfigError(f"max_relative_distance must be >= 0, not {config.max_relative_distance}")


def build_model(config: ModelConfig, *, seed: int = 0) -> LanguageModel:
    """A freshly initialised model for ``config``; the weights are a pure function of ``seed``.

    The global torch RNG is left as it was.
    """
    check_model_config(config)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        if config.model == "lstm":
            from overworld.models.lstm import LSTMModel

            return LSTMModel(config)
        from overworld.models.music_transformer import MusicTransformer

        return MusicTransformer(config)
