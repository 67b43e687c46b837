"""The only place that touches MIDI bytes: safe loading, writing, WAD lump extraction, GM names."""

from __future__ import annotations

from overworld.errors import MidiError
from overworld.midi.load import MIDI_SUFFIXES, in_seconds, load_score
from overworld.midi.modules import MODULE_SUFFIXES, load_module
from overworld.midi.write import write_score

__all__ = [
    "MIDI_SUFFIXES",
    "MODULE_SUFFIXES",
    "MidiError",
    "in_seconds",
    "load_module",
    "load_score",
    "write_score",
]
