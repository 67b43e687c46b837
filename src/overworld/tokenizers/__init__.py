"""Tokenizers: the performance event vocabulary (the default) and MidiTok's schemes, one interface."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from overworld.errors import ConfigError
from overworld.tokenizers.base import Tokenizer

__all__ = ["TOKENIZER_NAMES", "Tokenizer", "load_tokenizer", "make_tokenizer"]

TOKENIZER_NAMES = ("performance", "remi", "tsd", "midilike", "mmm")


def make_tokenizer(name: str = "performance", **options: Any) -> Tokenizer:
    """A fresh tokenizer by name (see ``TOKENIZER_NAMES``)."""
    if name == "performance":
        from overworld.tokenizers.performance import PerformanceTokenizer

        return PerformanceTokenizer(**options)
    if name in TOKENIZER_NAMES:
        from overworld.tokenizers.miditok import MidiTokTokenizer

        return MidiTokTokenizer(name, **options)
    raise ConfigError(f"unknown tokenizer {name!r}; choose one of {', '.join(TOKENIZER_NAMES)}")


def load_tokenizer(source: str | Path | dict[str, Any]) -> Tokenizer:
    """Rebuild a tokenizer from ``tokenizer.json`` (a file, the folder holding it, or its dict)."""
    if isinstance(source, dict):
        data = source
    else:
        path = Path(source)
        if path.is_dir():
            path = path / "tokenizer.json"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ConfigError(f"cannot read tokenizer {path}: {exc}") from exc
    kind = data.get("type")
    if kind == "performance":
        return make_tokenizer("performance", max_note_seconds=data.get("max_note_seconds", 30.0))
    if kind in TOKENIZER_NAMES:
        from overworld.tokenizers.miditok import MidiTokTokenizer

        return MidiTokTokenizer(kind, params=data.get("miditok"))
    raise ConfigError(f"tokenizer.json names an unknown tokenizer type {kind!r}")
