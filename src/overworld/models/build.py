"""``build_model(config)``: the one place that turns a :class:`ModelConfig` into a model, and the registries
of architectures (``MODELS``) and attention kinds (``ATTENTION``) that the config, the CLI and the
Transformer all read. Each entry is a builder that imports its module on first use, so importing this
module (as the CLI does for its ``choices=``) does not import torch.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from overworld.config import ModelConfig
from overworld.errors import ConfigError

if TYPE_CHECKING:
    from torch import nn

    from overworld.models.base import LanguageModel

__all__ = ["ATTENTION", "MODELS", "build_model", "check_model_config", "describe", "registry_entry"]


def _music_transformer(config: ModelConfig) -> LanguageModel:
    from overworld.models.music_transformer import MusicTransformer

    return MusicTransformer(config, registry_entry(ATTENTION, config.attention, "attention"))


def _lstm(config: ModelConfig) -> LanguageModel:
    from overworld.models.lstm import LSTMModel

    return LSTMModel(config)


def _relative(config: ModelConfig) -> nn.Module:
    from overworld.models.relative_attention import RelativeSelfAttention

    num_relative = config.max_relative_distance or config.sequence_length
    return RelativeSelfAttention(
        config.embedding_size, config.num_heads, num_relative, config.attention_dropout
    )


def _rope(config: ModelConfig) -> nn.Module:
    from overworld.models.fused_attention import RotarySelfAttention

    return RotarySelfAttention(config.embedding_size, config.num_heads, config.attention_dropout)


def _alibi(config: ModelConfig) -> nn.Module:
    from overworld.models.fused_attention import ALiBiSelfAttention

    return ALiBiSelfAttention(config.embedding_size, config.num_heads, config.attention_dropout)


# name -> builder; the first entry is the default. The help strings are what the CLI shows.
MODELS: dict[str, Callable[[ModelConfig], LanguageModel]] = {
    "music-transformer": _music_transformer,
    "lstm": _lstm,
}
ATTENTION: dict[str, Callable[[ModelConfig], nn.Module]] = {
    "relative": _relative,
    "rope": _rope,
    "alibi": _alibi,
}
_HELP = {
    "music-transformer": "decoder-only Transformer, Huang et al. 2018",
    "lstm": "LSTM baseline",
    "relative": "learned relative embeddings with skewing",
    "rope": "rotary embeddings, fused attention",
    "alibi": "linear distance biases, fused attention",
}


def registry_entry(registry: dict[str, Callable], name: str, what: str) -> Callable:
    """``registry[name]``, or a :class:`ConfigError` naming the known entries."""
    try:
        return registry[name]
    except (KeyError, TypeError):
        raise ConfigError(f"unknown {what} {name!r}; choose one of {', '.join(registry)}") from None


def describe(registry: dict[str, Callable]) -> str:
    """``name (what it is), ...``: for a flag's help."""
    return ", ".join(f"{name} ({_HELP[name]})" if name in _HELP else name for name in registry)


def check_model_config(config: ModelConfig) -> None:
    """Raise :class:`ConfigError` with a one-line reason if ``config`` cannot build a model. The config
    checked itself when it was made; what is left is the vocabulary, which may come from a tokenizer."""
    if config.vocab_size <= 0:
        raise ConfigError(
            "vocab_size is 0: take it from the tokenizer, "
            "dataclasses.replace(config, vocab_size=tokenizer.vocab_size)"
        )


def build_model(config: ModelConfig, *, seed: int = 0) -> LanguageModel:
    """A freshly initialised model for ``config``; the weights are a pure function of ``seed``.

    The global torch RNG is left as it was.
    """
    import torch

    check_model_config(config)
    builder = registry_entry(MODELS, config.model, "model")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return builder(config)
