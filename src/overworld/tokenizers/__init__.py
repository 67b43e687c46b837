"""Tokenizers, one registry: the bar tokenizer (the default), the performance event vocabulary and
MidiTok's schemes, all behind one interface (:class:`Tokenizer`), each owning its grammar.

Adding a tokenizer is one module in this folder (a :class:`Tokenizer` subclass whose ``grammar()`` builds
its sampling constraints) plus one line in :data:`TOKENIZERS`. What writing bar by bar needs (infilling,
loops, composition, live play) is a declared protocol, :class:`~overworld.tokenizers.abilities.BarAbilities`,
which callers ask for with :func:`bars_of`; a tokenizer that does not declare it is refused there.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from overworld.errors import ConfigError
from overworld.tokenizers.abilities import BarAbilities, bars_of
from overworld.tokenizers.base import Tokenizer

__all__ = [
    "MAX_TOKENIZER_BYTES",
    "OPTION_LIMITS",
    "TOKENIZERS",
    "TOKENIZER_NAMES",
    "BarAbilities",
    "Tokenizer",
    "bar_grid",
    "bars_of",
    "check_options",
    "load_tokenizer",
    "make_tokenizer",
]


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
    "bars": Entry(
        "overworld.tokenizers.bars:BarTokenizer",
        "bars of per-instrument parts on a 12-a-beat grid, a repeated part one token (default)",
    ),
    "performance": Entry(
        "overworld.tokenizers.performance:PerformanceTokenizer",
        "NOTE_ON/NOTE_OFF/TIME_SHIFT events in 10 ms steps (Oore et al.)",
        (("max_note_seconds", "max_note_seconds"),),
    ),
    "remi": Entry(_MIDITOK, "MidiTok REMI", (("miditok", "params"),), scheme=True),
    "tsd": Entry(_MIDITOK, "MidiTok TSD", (("miditok", "params"),), scheme=True),
    "midilike": Entry(_MIDITOK, "MidiTok MIDILike", (("miditok", "params"),), scheme=True),
    "mmm": Entry(_MIDITOK, "MidiTok MMM", (("miditok", "params"),), scheme=True),
}
TOKENIZER_NAMES = tuple(TOKENIZERS)


def _entry(name: str, what: str = "tokenizer") -> Entry:
    if name not in TOKENIZERS:
        raise ConfigError(f"unknown {what} {name!r}; choose one of {', '.join(TOKENIZERS)}")
    return TOKENIZERS[name]


def make_tokenizer(name: str = "bars", **options: Any) -> Tokenizer:
    """A fresh tokenizer by name (see :data:`TOKENIZERS`)."""
    return _entry(name).build(name, **options)


def bar_grid() -> BarAbilities:
    """The default tokenizer's bar abilities without a model: to count a file's bars the way infilling
    will before the model loads (a span outside the piece is one line, at once)."""
    return bars_of(make_tokenizer(), "counting bars")


# a tokenizer.json is a few kB (MidiTok with a learned BPE vocabulary: a few MB); parsing takes several
# times a file's size, so a bigger one is refused before it is read
MAX_TOKENIZER_BYTES = 32 << 20
MAX_BEATS = 256  # MidiTok's beat_res ranges end by this many beats
MAX_TIME_TOKENS = 4_096  # positions MidiTok's beat_res may make in all (its default makes 64)


def _beat_res(name: str, value: Any) -> None:
    """``{"0_4": 8, "4_12": 4}``: ranges of beats, each with positions a beat; their total is capped
    (``{"0_20000": 8}`` took 1.5 GB and 11 s to build)."""
    total = 0
    for span, res in dict(value).items() if isinstance(value, dict) else [(None, None)]:
        start, _, end = str(span).partition("_")
        ok = start.isdigit() and end.isdigit() and int(start) < int(end) <= MAX_BEATS
        if not ok or type(res) is not int or not 1 <= res <= 480:
            raise ConfigError(
                f"{name} must map 'start_end' beats (end at most {MAX_BEATS}) to 1-480 "
                f"positions a beat, not {span!r}: {res!r}"
            )
        total += (int(end) - int(start)) * res
    if total > MAX_TIME_TOKENS:
        raise ConfigError(f"{name} makes {total:,} time positions, over the {MAX_TIME_TOKENS:,} cap")


def _count(low: int, high: int) -> Any:
    def check(name: str, value: Any) -> None:
        if type(value) is not int or not low <= value <= high:
            raise ConfigError(f"{name} must be a whole number from {low} to {high:,}, not {value!r}")

    return check


def _bins(name: str, value: Any) -> None:  # (low, high, bins): bins capped, as each is a token
    if not isinstance(value, list | tuple) or len(value) != 3:
        raise ConfigError(f"{name} must be [low, high, bins], not {value!r}")
    _count(1, 1_024)(f"{name}'s bins", value[2])


def _seconds(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 3_600:
        raise ConfigError(f"{name} must be above 0 and at most 3600 seconds, not {value!r}")


# the options in a tokenizer.json that size what building it allocates, each checked before it is built
OPTION_LIMITS: dict[str, Any] = {
    "beat_res": _beat_res,
    "beat_res_rest": _beat_res,
    "num_velocities": _count(1, 127),
    "num_tempos": _count(1, 1_024),
    "control_change_n_bins": _count(1, 128),
    "pitch_bend_range": _bins,
    "max_pitch_interval": _count(0, 127),
    "max_bar_embedding": _count(1, 65_536),
    "ac_polyphony_max": _count(0, 128),
    "max_note_seconds": _seconds,
}


def check_options(data: Any, where: str = "tokenizer.json") -> None:
    """Every option of :data:`OPTION_LIMITS` found anywhere in ``data`` (a tokenizer.json's dict) within
    its cap, and no number beyond a million (a time or vocabulary size that big would take gigabytes)."""
    stack = [("", data)]
    while stack:
        prefix, node = stack.pop()
        items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
        for key, value in items:
            name = f"{prefix}.{key}" if prefix else str(key)
            if key in OPTION_LIMITS and value is not None:
                OPTION_LIMITS[key](f"{where}: {name}", value)
            elif isinstance(value, int | float) and not isinstance(value, bool) and not abs(value) <= 1e6:
                raise ConfigError(f"{where}: {name} is {value!r}, beyond any option's range")
            elif isinstance(value, dict | list):
                stack.append((name, value))


def load_tokenizer(source: str | Path | dict[str, Any]) -> Tokenizer:
    """Rebuild a tokenizer from ``tokenizer.json`` (a file, the folder holding it, or its dict); a file
    over :data:`MAX_TOKENIZER_BYTES` or an option over its cap (:func:`check_options`) is a
    :class:`ConfigError` before anything is built."""
    from overworld.config import read_config_file

    if isinstance(source, dict):
        data = source
    else:
        path = Path(source)
        data = read_config_file(path / "tokenizer.json" if path.is_dir() else path, MAX_TOKENIZER_BYTES)
    kind = data.get("type")
    entry = _entry(kind if isinstance(kind, str) else repr(kind), "tokenizer type in tokenizer.json")
    options = {arg: data[key] for key, arg in entry.from_dict if key in data}
    check_options(options)
    tokenizer = entry.build(kind, **options)
    if "vocab_size" in data and data["vocab_size"] != tokenizer.vocab_size:
        raise ConfigError(
            f"tokenizer.json says vocab_size {data['vocab_size']}, but a {kind} tokenizer has {tokenizer.vocab_size}"
        )
    return tokenizer
