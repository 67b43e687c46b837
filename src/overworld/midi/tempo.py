"""Finding the beat of music whose times are in seconds, so that it can be written with its own tempo.

A performance-token model writes notes in seconds: it plays at whatever pulse it picked, and a MIDI file
written at a fixed 120 bpm puts the DAW's bar lines (and every beat-based statistic) in the wrong place.
:func:`estimate_beat` searches the tempo (and the phase) whose grid the onsets sit on best, and
:func:`with_beat` writes that tempo into the score, moving the notes so that the beat on or before the
first note falls on time 0. The notes keep their timing relative to each other exactly.

The fit of a tempo ``b`` seconds per beat is the weighted circular mean resultant of the onsets at
three levels of the grid, beats, eighths and sixteenths, ``0.4 R(b) + 0.3 R(b/2) + 0.3 R(b/4)``, where
``R(p) = |sum_i w_i exp(2 pi i t_i / p)| / sum_i w_i`` is 1 when every onset lies on the grid of period
``p`` and near 0 when the onsets ignore it; onsets weigh by how many notes start there. Faster grids
always fit at least as well (every sixteenth is also a thirty-second), so a log-normal prior centred on
120 bpm (one octave wide, as librosa's beat tracker) breaks the tie. The search is coarse-to-fine: a
grid of candidates fine enough that the phase drifts by under a sixteenth over the whole piece, then a
finer one around the best few. The coarse search looks at the first minute only (a steady beat is
already clear there); the fine one at every onset.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["MIN_FIT", "BeatGrid", "align_to_beat", "estimate_beat", "with_beat"]

_LEVELS = ((1, 0.4), (2, 0.3), (4, 0.3))  # (subdivisions of the beat, weight)
_PRIOR_WEIGHT = 0.1
_PRIOR_QPM = 120.0
_MAX_CANDIDATES = 20_000
_COARSE_SECONDS = 60.0
# random onsets fit some tempo to 0.1-0.3; 82 of the 87 Freedoom/OpenMSX training pieces 0.35-0.98
MIN_FIT = 0.35


@dataclass(frozen=True)
class BeatGrid:
    """A steady beat: ``qpm`` beats a minute, the first beat at ``offset`` seconds (``0 <= offset < 60 /
    qpm``), and ``fit`` in 0..1, how well the onsets sit on its sixteenths (1: all of them exactly)."""

    qpm: float
    offset: float
    fit: float

    @property
    def seconds_per_beat(self) -> float:
        return 60.0 / self.qpm


def _fits(times: np.ndarray, weights: np.ndarray, qpm: np.ndarray) -> np.ndarray:
    """Grid fit ``(C,)`` of each candidate tempo (see the module docstring)."""
    fit = np.zeros(len(qpm))
    total = weights.sum()
    chunk = max(1, 2_000_000 // max(1, len(times)))  # bound the (C, N) temporaries
    for begin in range(0, len(qpm), chunk):
        beats = times[None, :] * (qpm[begin : begin + chunk, None] / 60.0)  # (c, N) onsets in beats
        unit = np.exp(2j * np.pi * (beats % 1.0))  # (c, N); the eighth and sixteenth levels are powers
        for sub, weight in _LEVELS:
            fit[begin : begin + chunk] += weight * np.abs((weights[None, :] * unit**sub).sum(axis=1)) / total
    return fit


def _beat_offset(times: np.ndarray, weights: np.ndarray, beat: float) -> float:
    """Where the beats fall (seconds, ``0 <= offset < beat``): the sixteenth grid's phase is the circular
    mean of the onsets over a sixteenth; of its four sixteenths in a beat, the beat is the one on which
    the most notes start (beats carry the bass, the kick and the chords; syncopation would pull a
    circular mean over the whole beat off them)."""
    sixteenth = beat / 4
    z = (weights * np.exp(2j * np.pi * (times / sixteenth % 1.0))).sum()
    first = (float(np.angle(z)) / (2 * math.pi) * sixteenth) % sixteenth
    slot = np.rint((times - first) / sixteenth).astype(np.int64) % 4
    k = int(np.argmax(np.bincount(slot, weights=weights, minlength=4)))
    return (first + k * sixteenth) % beat


def estimate_beat(
    onsets: np.ndarray | list[float],
    weights: np.ndarray | list[float] | None = None,
    *,
    min_qpm: float = 60.0,
    max_qpm: float = 200.0,
) -> BeatGrid | None:
    """The steady beat that the ``onsets`` (seconds) fit best, or None with fewer than 4 onsets.
    ``weights`` (default 1 each) say how much each onset counts, e.g. how many notes start there."""
    t = np.asarray(onsets, dtype=np.float64)
    w = np.ones_like(t) if weights is None else np.asarray(weights, dtype=np.float64)
    keep = np.isfinite(t) & (w > 0)
    t, w = t[keep], w[keep]
    if len(t) < 4 or not 0 < min_qpm < max_qpm:
        return None

    def scored(candidates: np.ndarray, first: Any = np.s_[:]) -> tuple[np.ndarray, np.ndarray]:
        fit = _fits(t[first], w[first], candidates)
        prior = -0.5 * np.log2(candidates / _PRIOR_QPM) ** 2
        return fit + _PRIOR_WEIGHT * prior, fit

    opening = t < t.min() + _COARSE_SECONDS
    span = max(float(t[opening].max() - t.min()), 1e-3)
    # the phase of the sixteenth level drifts by under 1/8 of a cycle between neighbouring candidates
    step = min(0.25, max(60.0 / (32.0 * span), (max_qpm - min_qpm) / _MAX_CANDIDATES))
    qpm = np.arange(min_qpm, max_qpm + step / 2, step)
    score, _ = scored(qpm, opening)
    fine = [np.linspace(q - step, q + step, 41) for q in qpm[np.argsort(score)[-5:]]]
    candidates = np.clip(np.concatenate(fine), min_qpm, max_qpm)
    score, fit = scored(candidates)
    best = int(np.argmax(score))
    beat = 60.0 / float(candidates[best])
    return BeatGrid(qpm=float(candidates[best]), offset=_beat_offset(t, w, beat), fit=float(fit[best]))


def with_beat(score: Any, grid: BeatGrid) -> Any:
    """A copy of ``score`` (in seconds, with no tempo of its own) at ``grid``'s tempo: a tempo event at
    time 0, and every note moved by the same amount so that the last beat at or before the first note
    falls on time 0 (the first note then starts less than a beat into the file)."""
    import symusic

    out = score.copy()
    beat = grid.seconds_per_beat
    starts = [float(track.notes.numpy()["time"].min()) for track in score.tracks if len(track.notes)]
    first = min(starts, default=0.0)
    into = (first - grid.offset) % beat  # how far the first note is past a beat
    shift = (0.0 if into > beat - 1e-6 else into) - first  # (a hair short of a beat is on it)
    if abs(shift) > 1e-9:
        out = out.shift_time(shift)
    out.tempos = type(out.tempos)([symusic.Tempo(0.0, float(grid.qpm), ttype="second")])
    return out


def align_to_beat(score: Any, min_fit: float = MIN_FIT) -> Any:
    """``score`` (in seconds) at the tempo its own onsets keep (:func:`estimate_beat` over every note,
    drums included, then :func:`with_beat`); unchanged when it already has a tempo, has too few onsets,
    or keeps no steady beat (a fit under ``min_fit``: any tempo written would be a guess)."""
    if len(score.tempos):
        return score
    starts = [track.notes.numpy()["time"] for track in score.tracks if len(track.notes)]
    if not starts:
        return score
    onsets, counts = np.unique(np.rint(np.concatenate(starts) / 0.001).astype(np.int64), return_counts=True)
    grid = estimate_beat(onsets * 0.001, counts)
    return score if grid is None or grid.fit < min_fit else with_beat(score, grid)
