"""What a live stream is set up with (:class:`LiveConfig`) and what it hands out (:class:`Bar`).

A bar is composed once, at the stream's full arrangement (``LiveConfig.full``), each instrument tagged
with its layer: the lowest intensity it sounds at (:func:`overworld.generation.intensity.layer_levels`).
The intensity is applied when the bar is handed out (:meth:`Bar.at`): the layers above it are muted and
the velocities moved into its window, as a game's vertical layering fades stems in and out. So the bars
composed ahead never go stale, and a change is heard at the next bar handed out.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from overworld.config.fields import check_programs, check_ranges, check_types, control
from overworld.generation.intensity import Intensity
from overworld.theory import TICKS_PER_QUARTER, Metred, bar_metre

__all__ = ["TPQ", "Bar", "LiveConfig"]

TPQ = TICKS_PER_QUARTER


_LEVEL = "between 0 (calm) and 1 (intense)"


@dataclass(frozen=True)
class LiveConfig(Metred):
    """The fixed settings of one live stream, each a control declared once (:func:`control`: the flags of
    ``overworld play`` come from these fields). ``key`` ``"auto"``: one of the common game keys drawn from
    the seed. ``instruments`` empty: a line-up the model picks at the start. ``ahead``: bars kept
    composed beyond the last one handed out (6: composing may lag 4 bars behind before fewer than 2 are
    ready at a bar line; with 4, the 2-core machine under a load of 7.5 repeated 8 bars of 60, with 6
    none: docs/compose-for-games.md). ``full``: the intensity bars are composed at, whose layers every
    lower intensity keeps some of. ``metre``, ``bar_seconds`` and ``bar_ticks`` are :class:`Metred`'s, as
    compose's are."""

    bpm: float = control(
        120.0, "tempo in quarter notes a minute", low=20, high=400, what="a tempo between 20 and 400 bpm"
    )
    time_signature: str = control("4/4", "the metre: 4/4, 3/4, 6/8...")
    key: str = control("auto", "'D minor', 'F# dorian'... or auto: drawn from the seed")
    intensity: float = control(0.5, "0 (calm) to 1 (intense) at the start", low=0, high=1, what=_LEVEL)
    instruments: tuple[int, ...] = control(
        (),
        "the line-up, like 80,81,38,drums or nes",
        parse="instruments",
        default_text="the instruments the model picks in one opening bar",
    )
    ahead: int = control(
        6,
        "bars kept composed ahead of playback; playback waits for them at the start",
        low=1,
        high=32,
        what="between 1 and 32 bars",
    )
    context: int = control(
        512,
        "tokens of the model's cache before its window slides",
        low=64,
        high=8192,
        what="between 64 and 8192 tokens",
        cli=False,
    )
    full: float = control(
        1.0, "the intensity of the full arrangement the bars are composed at", low=0, high=1, what=_LEVEL,
        cli=False,
    )  # fmt: skip

    def __post_init__(self) -> None:
        from overworld.theory import parse_key

        check_types(self)
        if self.key != "auto":
            parse_key(self.key)
        bar_metre(self.time_signature)
        check_ranges(self, prefix="")
        check_programs(self, prefix="")


@dataclass(frozen=True)
class Bar(Metred):
    """One bar as handed out: ``notes`` per instrument (GM program, 128 drums) as ``(N, 4)`` int arrays
    (onset tick from this bar's line, duration, pitch, velocity) at 480 ticks a quarter, as heard at
    ``intensity``; a note may ring past the bar line. ``index`` and ``start`` (seconds from the stream's
    first bar) are its place in playback; ``composed`` the index of the composed bar it plays (another
    one's, for a ``fallback``: a bar repeated because none was composed in time). ``full`` holds every
    layer as composed (at intensity ``full_level``), ``layers`` each instrument's lowest intensity, for a
    game that mixes the layers itself; :meth:`at` is the same bar at another intensity. ``ready_at``:
    the ``time.monotonic()`` when it was composed."""

    index: int
    start: float
    seconds: float
    bpm: float
    time_signature: str
    key: str
    intensity: float
    notes: dict[int, np.ndarray] = field(repr=False)
    ids: tuple[int, ...] = field(repr=False)
    ready_at: float = 0.0
    full: dict[int, np.ndarray] = field(default_factory=dict, repr=False)
    layers: dict[int, float] = field(default_factory=dict, repr=False)
    full_level: float = 1.0
    composed: int = -1
    fallback: bool = False

    def sounding(self, level: float) -> tuple[int, ...]:
        """The instruments of this bar that sound at intensity ``level`` (their layer at or below it)."""
        return tuple(i for i in self.full if level >= self.layers.get(i, self.full_level))

    def at(self, level: float) -> Bar:
        """This bar at intensity ``level``: the layers above it muted, the velocities moved from the full
        arrangement's window into its own. Raises :class:`ConfigError` outside 0..1."""
        now, full = Intensity(level), Intensity(self.full_level)
        notes = {}
        for inst in self.sounding(now.level):
            a = self.full[inst].copy()
            a[:, 3] = now.velocity(a[:, 3], full)
            notes[inst] = a
        return dataclasses.replace(self, intensity=float(level), notes=notes)

    def score(self) -> Any:
        """This bar as a symusic score in ticks from tick 0, at its exact tempo and metre."""
        from overworld.generation.arrangement import Arrangement

        return Arrangement(TPQ, self.bar_ticks, dict(self.notes)).score(self.bpm, *self.metre)
