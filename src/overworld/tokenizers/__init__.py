"""Tokenizers, one registry: the bar tokenizer (the default), the performance event vocabulary and
MidiTok's schemes, all behind one interface (:class:`Tokenizer`), each owning its grammar.

Adding a tokenizer is one module in this folder (a :class:`Tokenizer` subclass whose ``grammar()`` builds
its sampling constraints) plus one line in :data:`TOKENIZERS`.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from overworld.errors import ConfigError
from overworld.tokenizers.base import Tokenizer

__all__ = ["TOKENIZERS", "TOKENIZER_NAMES", "Tokenizer", "load_tokenizer", "make_tokenizer"]


@dataclass(frozen=True)
class Entry:
    """Where a tokenizer lives (``module:Class``), what it is, and how its saved dict rebuilds it."""

    target: str
    help: str
    from_dict: tuple[tuple[str, str], ...] = ()  # (tokenizer.json key, constructor argument)
    scheme: bool = False  # MidiTok: the constructor takes the name first

    def build(self, name: str, **options: Any) -> Tokenizer:
        module, cls = self.target.split(":")
        factory = getattr(importlib.import_module(module), cls)
        return factory(name, **options) if self.scheme else factory(**options)


_MIDITOK = "overworld.tokenizers.miditok:MidiTokTokenizer"
TOKENIZERS: dict[str, Entry] = {
    "bars": Entry("overworld.tokenizers.bars:BarTokenizer",
                  "bars of per-instrument parts on a 12-a-beat grid, a repeated part one token (default)"),
    "performance": Entry("overworld.tokenizers.performance:PerformanceTokenizer",
                         "NOTE_ON/NOTE_OFF/TIME_SHIFT events in 10 ms steps (Oore et al.)",
                         (("max_note_seconds", "max_note_seconds"),)),
    "remi": Entry(_MIDITOK, "MidiTok REMI", (("miditok", "params"),), scheme=True),
    "tsd": Entry(_MIDITOK, "MidiTok TSD", (("miditok", "params"),), scheme=True),
    "midilike": Entry(_MIDITOK, "MidiTok MIDILike", (("miditok", "params"),), scheme=True),
    "mmm": Entry(_MIDITOK, "MidiTok MMM", (("miditok", "params"),), scheme=True),
}  # fmt: skip
TOKENIZER_NAMES = tuple(TOKENIZERS)


def _entry(name: str, what: str = "tokenizer") -> Entry:
    if name not in TOKENIZERS:
        raise ConfigError(f"unknown {what} {name!r}; choose one of {', '.join(TOKENIZERS)}")
    return TOKENIZERS[name]


def make_tokenizer(name: str = "bars", **options: Any) -> Tokenizer:
    """A fresh tokenizer by name (see :data:`TOKENIZERS`)."""
    return _entry(name).build(name, **options)


def load_tokenizer(source: str | Path | dict[str, Any]) -> Tokenizer:
    """Rebuild a tokenizer from ``tokenizer.json`` (a file, the folder holding it, or its dict)."""
    from overworld.config import read_config_file

    if isinstance(source, dict):
        data = source
    else:
        path = Path(source)
        data = read_config_file(path / "tokenizer.json" if path.is_dir() else path)
    kind = data.get("type")
    entry = _entry(kind if isinstance(kind, str) else repr(kind), "tokenizer type in tokenizer.json")
    options = {arg: data[key] for key, arg in entry.from_dict if key in data}
    tokenizer = entry.build(kind, **options)
    if "vocab_size" in data and data["vocab_size"] != tokenizer.vocab_size:
        raise ConfigError(
            f"tokenizer.json says vocab_size {data['vocab_size']}, but a {kind} tokenizer has {tokenizer.vocab_size}"
        )
    return tokenizer
