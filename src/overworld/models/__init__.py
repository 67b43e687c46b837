"""Models: the :class:`LanguageModel` interface, ``build_model(config)`` and model directories.

- ``base.py``: the interface (``forward``, ``new_cache``, ``step``) and the sliding-window mask;
- ``relative_attention.py``: Huang et al.'s relative attention with the skewing trick;
- ``fused_attention.py``: RoPE and ALiBi attention through ``scaled_dot_product_attention``;
- ``music_transformer.py``: the decoder-only Transformer; ``lstm.py``: the LSTM baseline;
- ``build.py``: config -> model; ``storage.py``: ``save_model`` / ``load_model``.

Names load on first use, so importing ``overworld.models`` does not import torch.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__all__ = ["LanguageModel", "Pretrained", "build_model", "load_model", "save_model"]

_LAZY = {
    "LanguageModel": "overworld.models.base",
    "Pretrained": "overworld.models.storage",
    "build_model": "overworld.models.build",
    "load_model": "overworld.models.storage",
    "save_model": "overworld.models.storage",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'overworld.models' has no attribute {name!r}")
