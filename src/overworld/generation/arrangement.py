"""Notes per instrument on a fixed bar grid: the material composition cuts, copies and joins.

An :class:`Arrangement` is each instrument's notes as an ``(N, 4)`` int array (onset tick, duration in
ticks, pitch, velocity) at ``tpq`` ticks a quarter, with one bar length in ticks. Sections are copied by
shifting whole bars, a loop is closed by cutting at a bar line, and :meth:`Arrangement.score` writes a
score at one exact tempo and metre (the bar tokens' tempo bins are rounded, the piece asked for is not).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from overworld.midi.gm import DRUMS, instrument_name

__all__ = ["Arrangement"]

_EMPTY = np.zeros((0, 4), dtype=np.int64)


@dataclass
class Arrangement:
    """Notes per instrument (GM program, 128 drums) in ticks; ``bar`` is the length of a bar in ticks."""

    tpq: int
    bar: int
    notes: dict[int, np.ndarray] = field(default_factory=dict)

    @classmethod
    def from_score(cls, score: Any, bar: int) -> Arrangement:
        """The notes of a score in ticks at its own resolution (``bar`` in those ticks)."""
        out: dict[int, list[np.ndarray]] = {}
        for track in score.tracks:
            a = track.notes.numpy()
            if not len(a["time"]):
                continue
            rows = np.stack(
                [a[k].astype(np.int64) for k in ("time", "duration", "pitch", "velocity")], axis=1
            )
            out.setdefault(DRUMS if track.is_drum else int(track.program), []).append(rows)
        return cls(int(score.ticks_per_quarter), bar, {i: _sorted(np.concatenate(r)) for i, r in out.items()})

    def copy(self) -> Arrangement:
        return Arrangement(self.tpq, self.bar, {i: a.copy() for i, a in self.notes.items()})

    def bars(self, first: int, end: int) -> Arrangement:
        """The notes starting in bars ``first`` to ``end - 1`` (0-based), moved to start at tick 0."""
        lo, hi = first * self.bar, end * self.bar
        cut = {i: a[(a[:, 0] >= lo) & (a[:, 0] < hi)] - [lo, 0, 0, 0] for i, a in self.notes.items()}
        return Arrangement(self.tpq, self.bar, {i: a for i, a in cut.items() if len(a)})

    def place(self, other: Arrangement, at_bar: int) -> Arrangement:
        """These notes with ``other``'s added ``at_bar`` bars in."""
        out = self.copy()
        for inst, a in other.notes.items():
            moved = a + np.array([at_bar * self.bar, 0, 0, 0])
            out.notes[inst] = _sorted(np.concatenate([out.notes.get(inst, _EMPTY), moved]))
        return out

    def closed(self, end_bar: int) -> Arrangement:
        """Only notes starting before bar ``end_bar``, each ended at that bar line at the latest."""
        end = end_bar * self.bar
        out = {}
        for inst, a in self.notes.items():
            a = a[a[:, 0] < end].copy()
            a[:, 1] = np.maximum(1, np.minimum(a[:, 1], end - a[:, 0]))
            if len(a):
                out[inst] = a
        return Arrangement(self.tpq, self.bar, out)

    def only(self, instruments: set[int]) -> Arrangement:
        return Arrangement(self.tpq, self.bar, {i: a for i, a in self.notes.items() if i in instruments})

    def count(self) -> int:
        return sum(len(a) for a in self.notes.values())

    def score(self, bpm: float, numerator: int, denominator: int) -> Any:
        """A symusic score in ticks: one tempo, one metre, one track per instrument (drums last)."""
        import symusic

        score = symusic.Score(self.tpq)
        score.tempos.append(symusic.Tempo(0, float(bpm)))
        score.time_signatures.append(symusic.TimeSignature(0, numerator, denominator))
        for inst in sorted(self.notes):
            a = self.notes[inst]
            track = symusic.Track(
                name=instrument_name(inst), program=0 if inst == DRUMS else inst, is_drum=inst == DRUMS
            )
            track.notes = symusic.Note.from_numpy(
                a[:, 0].astype(np.int32),
                a[:, 1].astype(np.int32),
                a[:, 2].astype(np.int8),
                np.clip(a[:, 3], 1, 127).astype(np.int8),
            )
            score.tracks.append(track)
        return score


def _sorted(a: np.ndarray) -> np.ndarray:
    """Rows by onset, then pitch; one note per (onset, pitch)."""
    if not len(a):
        return _EMPTY
    a = a[np.lexsort((a[:, 2], a[:, 0]))]
    keep = np.ones(len(a), dtype=bool)
    keep[1:] = (np.diff(a[:, 0]) != 0) | (np.diff(a[:, 2]) != 0)
    return a[keep]
