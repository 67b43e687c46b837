"""How much a piece repeats itself: bar self-similarity over its opening bars.

Game music loops and repeats bars and motifs. Over the first ``bars`` bars of a piece (16 by default,
counted from the bar that holds its first note), each bar gets a *signature*: the set of its onsets as
``(position within the bar in sixteenths, pitch, is_drum)``, positions rounded to the nearest sixteenth
of the file's own beat (bars and beats are read in the file's ticks, so tempo changes do not move them;
bar lengths come from its time signatures, 4/4 before the first or when there is none). Then:

- the similarity of two bars is the Jaccard index of their signatures, ``|A & B| / |A | B|``;
- a bar's *best earlier match* is its largest similarity to any earlier bar;
- a piece's **bar self-similarity** is the *mean* of the best earlier matches of its bars after the
  first (1: every bar repeats an earlier one; near 0: every bar is new);
- its **exact repeat rate** is the fraction of those bars whose signature equals an earlier bar's.

Bars with no onsets are skipped both as bars to score and as earlier bars to match (a rest bar says
nothing about repetition). A piece needs two bars with notes for a value. Across a set of pieces,
summaries take the *median* of the per-piece figures.

Files whose notes do not sit on their own beat grid (a performance recorded against a default 120 bpm
with no click, or a Doom MUS conversion whose 140 Hz ticks are written at a nominal tempo) have no bars
to speak of: the *grid fit*, the fraction of notes that start within ``tolerance`` sixteenths (1/8 by
default) of the grid of sixteenths or of eighth-note triplets (swing and shuffles sit on the latter), is
near 1 for a quantised file and about 0.375 for onsets that ignore the beat (six grid points a beat, each
a sixteenth-of-a-beat window wide). Below ``min_grid_fit`` (0.6) the measure is None with the reason
"no steady tempo". Of Freedoom's 67 pieces, 10 MUS conversions and one performance recorded at 120 bpm
fit 0.38-0.52 (0.52: 4 bars); every other Freedoom and OpenMSX piece fits 0.71-1.0 (humanised timing,
32nd-note drum rolls), and the bundled model's pieces 1.0.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "BARS",
    "MIN_GRID_FIT",
    "NO_STEADY_TEMPO",
    "TOLERANCE",
    "TOO_FEW_BARS",
    "CorpusStructure",
    "Structure",
    "bar_signatures",
    "grid_fit",
    "self_similarity_matrix",
    "structure_of",
    "structure_of_folder",
    "summarize",
]

BARS = 16  # bars measured from the first note
TOLERANCE = 0.125  # how far from the grid (in sixteenths) an onset still sits on it
MIN_GRID_FIT = 0.6  # off-grid files fit about 0.375, quantised ones (humanised, drum rolls) 0.7 and more
NO_STEADY_TEMPO = "no steady tempo"
TOO_FEW_BARS = "fewer than two bars with notes"

Signature = frozenset[tuple[int, int, bool]]  # (sixteenth within the bar, pitch, is_drum)


@dataclass(frozen=True)
class Structure:
    """The repetition of one piece: ``self_similarity`` (mean best Jaccard match of each bar to an earlier
    one), ``exact_repeats`` (fraction of bars equal to an earlier one), over ``bars`` bars from the first
    note; both None with a ``reason`` when undefined. ``grid_fit``: fraction of notes on the beat grid."""

    self_similarity: float | None
    exact_repeats: float | None
    bars: int
    reason: str | None = None
    grid_fit: float = math.nan


def _in_ticks(score: Any) -> Any:
    """``score`` in ticks (a Score in seconds or quarters is converted through its tempo map)."""
    return score if str(score.ttype).lower().endswith("tick") else score.to("tick")


def _onsets(score: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every note's start tick, pitch and drum flag, ``(N,)`` each."""
    times, pitches, drums = [], [], []
    for track in score.tracks:
        a = track.notes.numpy()
        if len(a["time"]):
            times.append(a["time"].astype(np.int64))
            pitches.append(a["pitch"].astype(np.int64))
            drums.append(np.full(len(a["time"]), bool(track.is_drum)))
    if not times:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, bool)
    return np.concatenate(times), np.concatenate(pitches), np.concatenate(drums)


def _bar_starts(score: Any, until: int) -> np.ndarray:
    """Start ticks of the bars up to tick ``until`` (inclusive), from the time signatures; 4/4 before the
    first one. A signature that changes mid-bar starts a new bar where it changes."""
    tpq = int(score.ticks_per_quarter)
    changes = {0: (4, 4)}
    for ts in score.time_signatures:
        if int(ts.numerator) > 0 and int(ts.denominator) > 0:
            changes[int(ts.time)] = (int(ts.numerator), int(ts.denominator))
    times = sorted(changes)
    starts = []
    for i, begin in enumerate(times):
        end = times[i + 1] if i + 1 < len(times) else until + 1
        if begin > until:
            break
        num, den = changes[begin]
        length = tpq * 4.0 * num / den
        starts.append(begin + length * np.arange(math.ceil((min(end, until + 1) - begin) / length)))
    return np.concatenate(starts)


@dataclass(frozen=True)
class _Bars:
    """The opening bars of a piece: each onset's bar (relative to the first measured) and sixteenth."""

    count: int
    bar: np.ndarray  # (N,) bar index of each onset, 0 .. count - 1
    step: np.ndarray  # (N,) sixteenth within the bar
    off_grid: np.ndarray  # (N,) distance from the nearest sixteenth or eighth triplet, in sixteenths
    ticks: np.ndarray  # (N,) onset ticks
    pitch: np.ndarray
    drum: np.ndarray


def _opening_bars(score: Any, bars: int) -> _Bars:
    if bars < 1:
        raise ValueError(f"bars must be at least 1, not {bars}")
    score = _in_ticks(score)
    ticks, pitch, drum = _onsets(score)
    if len(ticks) == 0:
        return _Bars(0, *(np.zeros(0, np.int64),) * 3, ticks, pitch, drum)
    sixteenth = int(score.ticks_per_quarter) / 4.0
    starts = _bar_starts(score, int(ticks.max()) + int(sixteenth))
    # an onset a hair before a bar line belongs to that bar
    index = np.searchsorted(starts, ticks + sixteenth / 2, side="right") - 1
    first = int(index.min())
    keep = index < first + bars
    index, ticks, pitch, drum = index[keep] - first, ticks[keep], pitch[keep], drum[keep]
    position = (ticks - starts[index + first]) / sixteenth
    step = np.rint(position).astype(np.int64)
    triplet = position * 0.75  # in eighth-note triplets (three a beat)
    off_grid = np.minimum(np.abs(position - step), np.abs(triplet - np.rint(triplet)) / 0.75)
    count = int(index.max()) + 1
    return _Bars(count, index, step, off_grid, ticks, pitch, drum)


def bar_signatures(score: Any, bars: int = BARS) -> list[Signature]:
    """The signature (set of ``(sixteenth, pitch, is_drum)`` onsets) of each of the first ``bars`` bars of
    ``score`` (a symusic Score in any time unit), counted from the bar of its first note and ending at the
    bar of its last note within them; a bar with no onsets has the empty set."""
    return _signatures(_opening_bars(score, bars))


def _fit(b: _Bars, tolerance: float) -> float:
    return float(np.mean(b.off_grid <= tolerance + 1e-9)) if len(b.off_grid) else math.nan


def _signatures(b: _Bars) -> list[Signature]:
    out: list[set[tuple[int, int, bool]]] = [set() for _ in range(b.count)]
    for i, s, p, d in zip(b.bar.tolist(), b.step.tolist(), b.pitch.tolist(), b.drum.tolist()):
        out[i].add((s, p, d))
    return [frozenset(s) for s in out]


def grid_fit(score: Any, bars: int = BARS, tolerance: float = TOLERANCE) -> float:
    """The fraction of the notes in the first ``bars`` bars that start within ``tolerance`` sixteenths of
    the grid of sixteenths or eighth-note triplets (NaN with no notes): near 1 for quantised music, about
    0.375 for onsets that ignore the beat."""
    return _fit(_opening_bars(score, bars), tolerance)


def _jaccard(signatures: Sequence[Signature]) -> np.ndarray:
    n = len(signatures)
    out = np.full((n, n), np.nan)
    for i, a in enumerate(signatures):
        for j in range(i, n):
            b = signatures[j]
            if a and b:
                out[i, j] = out[j, i] = len(a & b) / len(a | b)
    return out


def self_similarity_matrix(score: Any, bars: int = BARS) -> np.ndarray:
    """``(N, N)`` Jaccard similarities between the signatures of the first ``N <= bars`` bars (see
    :func:`bar_signatures`); NaN where either bar is empty."""
    return _jaccard(bar_signatures(score, bars))


def structure_of(
    score: Any, bars: int = BARS, *, min_grid_fit: float = MIN_GRID_FIT, tolerance: float = TOLERANCE
) -> Structure:
    """Bar self-similarity and exact repeat rate of ``score`` (a symusic Score in any time unit) over its
    first ``bars`` bars; None with a reason when its notes fit the beat grid under ``min_grid_fit``
    ("no steady tempo") or fewer than two bars hold notes (see the module docstring)."""
    b = _opening_bars(score, bars)
    fit, signatures = _fit(b, tolerance), _signatures(b)
    if math.isnan(fit):  # no notes
        return Structure(None, None, 0, TOO_FEW_BARS, fit)
    if fit < min_grid_fit:
        return Structure(None, None, len(signatures), NO_STEADY_TEMPO, fit)
    filled = [s for s in signatures if s]
    if len(filled) < 2:
        return Structure(None, None, len(signatures), TOO_FEW_BARS, fit)
    sim = _jaccard(filled)  # (M, M) over the bars with notes
    best = [float(np.max(sim[i, :i])) for i in range(1, len(filled))]
    exact = [float(filled[i] in filled[:i]) for i in range(1, len(filled))]
    return Structure(float(np.mean(best)), float(np.mean(exact)), len(signatures), None, fit)


@dataclass(frozen=True)
class CorpusStructure:
    """Medians over the pieces of a set with a value, and how many had none, by reason."""

    pieces: int
    measured: int
    median_self_similarity: float
    median_exact_repeats: float
    unmeasured: dict[str, int] = field(default_factory=dict)


def summarize(structures: Sequence[Structure]) -> CorpusStructure:
    """The medians of the per-piece figures (NaN when no piece has one) and the reasons for the rest."""
    measured = [s for s in structures if s.self_similarity is not None]
    unmeasured: dict[str, int] = {}
    for s in structures:
        if s.self_similarity is None:
            unmeasured[s.reason or "unknown"] = unmeasured.get(s.reason or "unknown", 0) + 1
    sims = [s.self_similarity for s in measured if s.self_similarity is not None]
    exact = [s.exact_repeats for s in measured if s.exact_repeats is not None]
    return CorpusStructure(
        pieces=len(structures),
        measured=len(measured),
        median_self_similarity=float(np.median(sims)) if sims else math.nan,
        median_exact_repeats=float(np.median(exact)) if exact else math.nan,
        unmeasured=unmeasured,
    )


def structure_of_folder(
    folder: str | Path, bars: int = BARS, *, min_grid_fit: float = MIN_GRID_FIT
) -> tuple[list[tuple[Path, Structure]], list[tuple[Path, str]]]:
    """:func:`structure_of` for every MIDI file under ``folder`` (read in its own ticks), as ``(path,
    structure)`` pairs, and the unreadable files as ``(path, reason)``."""
    from overworld.midi.load import load_folder

    scores, skipped = load_folder(folder, ttype="tick")
    return [(path, structure_of(score, bars, min_grid_fit=min_grid_fit)) for path, score in scores], skipped
