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

from overworld.errors import ConfigError
from overworld.generation.intensity import Intensity

__all__ = ["TPQ", "Bar", "LiveConfig"]

TPQ = 480


@dataclass(frozen=True)
class LiveConfig:
    """The fixed settings of one live stream. ``key`` ``"auto"``: one of the common game keys drawn from
    the seed. ``instruments`` empty: a line-up the model picks at the start. ``ahead``: bars kept
    composed beyond the last one handed out (6: composing may lag 4 bars behind before fewer than 2 are
    ready at a bar line; with 4, the 2-core machine under a load of 7.5 repeated 8 bars of 60, with 6
    none: docs/compose-for-games.md). ``full``: the intensity bars are composed at, whose layers every
    lower intensity keeps some of."""

    bpm: float = 120.0
    time_signature: str = "4/4"
    key: str = "auto"
    intensity: float = 0.5
    instruments: tuple[int, ...] = ()
    ahead: int = 6  # bars composed beyond the last one handed out
    context: int = 512  # tokens of the model's cache before its window slides
    full: float = 1.0  # the intensity of the full arrangement the bars are composed at

    def __post_init__(self) -> None:
        from overworld.theory import parse_key
        from overworld.tokenizers.bars import TIME_SIGNATURES

        if self.key != "auto":
            parse_key(self.key)
        Intensity(self.intensity)
        Intensity(self.full)
        if self.metre not in TIME_SIGNATURES:
            known = ", ".join(f"{n}/{d}" for n, d in TIME_SIGNATURES)
            raise ConfigError(f"the bar grid holds the time signatures {known}; not {self.time_signature}")
        checks = (
            ("bpm", 20 <= self.bpm <= 400, "a tempo between 20 and 400 bpm"),
            ("ahead", 1 <= self.ahead <= 32, "between 1 and 32 bars"),
            ("context", 64 <= self.context <= 8192, "between 64 and 8192 tokens"),
            ("instruments", all(type(i) is int and 0 <= i <= 128 for i in self.instruments),
             "GM programs 0-127 or 128 (drums)"),
        )  # fmt: skip
        for name, ok, what in checks:
            if not ok:
                raise ConfigError(f"{name} must be {what}, not {getattr(self, name)!r}")

    @property
    def metre(self) -> tuple[int, int]:
        from overworld.theory import parse_time_signature

        return parse_time_signature(self.time_signature)

    @property
    def bar_seconds(self) -> float:
        num, den = self.metre
        return num * 4 / den * 60.0 / self.bpm

    @property
    def bar_ticks(self) -> int:
        num, den = self.metre
        return TPQ * 4 * num // den


@dataclass(frozen=True)
class Bar:
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

    @property
    def bar_ticks(self) -> int:
        num, den = (int(x) for x in self.time_signature.split("/"))
        return TPQ * 4 * num // den

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

        num, den = (int(x) for x in self.time_signature.split("/"))
        return Arrangement(TPQ, self.bar_ticks, dict(self.notes)).score(self.bpm, num, den)
