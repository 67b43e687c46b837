"""overworld: learn the style of video-game soundtracks from MIDI and compose new game music.

Nothing heavy happens at import: the public names below are loaded on first use.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

__all__ = [
    "DataConfig",
    "ModelConfig",
    "SampleConfig",
    "TrainConfig",
    "__version__",
    "compose",
    "compose_pieces",
    "generate",
    "load_model",
    "load_score",
    "load_tokenizer",
    "render",
]

_LAZY = {
    "DataConfig": "overworld.config",
    "ModelConfig": "overworld.config",
    "SampleConfig": "overworld.config",
    "TrainConfig": "overworld.config",
    "load_model": "overworld.models.storage",
    "generate": "overworld.generation.sampler",
    "compose": "overworld.generation.compose",
    "compose_pieces": "overworld.generation.pieces",
    "load_score": "overworld.midi",
    "load_tokenizer": "overworld.tokenizers",
    "render": "overworld.render",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'overworld' has no attribute {name!r}")
