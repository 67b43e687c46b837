"""Musical statistics of MIDI files, and how closely two sets of files agree on them.

Per-piece metrics follow MusPy (Dong et al. 2020) and mgeval (Yang and Lerch 2020), computed on a
symusic Score in seconds; pitch metrics skip drum tracks:

- ``pitch_class_entropy``: Shannon entropy (bits) of the pitch-class histogram (MusPy).
- ``scale_consistency``: the largest fraction of notes inside one of the 24 major / natural minor scales.
- ``polyphony``: the average number of pitches sounding, over the time when at least one sounds (MusPy),
  computed exactly from note intervals.
- ``note_density``: notes (drums included) per second of the piece.
- ``pitch_range``: highest minus lowest pitch, in semitones.
- ``inter_onset_interval``: mean time in seconds between successive distinct onsets (mgeval avg_IOI).
- ``groove_consistency``: 1 minus the mean Hamming distance between the onset patterns of consecutive
  bars, divided by the steps in a bar (MusPy); onsets quantised to 12 steps a beat.
- ``empty_beat_rate``: the fraction of beats in which no note sounds (MusPy).
- ``instruments_used``: distinct instruments (GM programs, the drum kit counted as one).

Beats come from the piece's first tempo (120 bpm if it has none) and bars from its first time signature
(4/4 if none). A metric with no defined value (no pitched notes, a single onset) is NaN and left out.

Three more rows (``EXTRA_METRICS``, from :func:`extra_metrics`) sit beside these nine without entering
their mean OA (a second mean covers every row):

- ``drum_share``: the fraction of notes that are drums.
- ``bar_self_similarity`` and ``exact_repeat_rate``: how much the first 16 bars repeat each other (see
  :mod:`overworld.evaluation.structure`); NaN for a piece whose notes keep no steady beat, and counted.

The overlapping area (OA) is Yang and Lerch's: for each metric, the intra-set distances of the
reference set (|x_i - x_j| between distinct reference pieces) and the inter-set distances
(|g_i - r_j| between every generated and every reference piece) are each smoothed with a Gaussian kernel
density estimate (Scott's bandwidth), and OA is the area under the minimum of the two densities.
OA near 1: the generated pieces sit among the reference pieces as the reference pieces sit among
themselves; near 0: they are far apart.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from overworld.errors import DataError
from overworld.midi import in_seconds
from overworld.midi.load import load_folder  # here too, where the metrics' callers look for it

__all__ = [
    "ALL_METRICS",
    "EXTRA_METRICS",
    "METRICS",
    "MetricComparison",
    "SetComparison",
    "compare_folders",
    "compare_sets",
    "extra_metrics",
    "load_folder",
    "overlapping_area",
    "piece_metrics",
]

log = logging.getLogger(__name__)

METRICS = (
    "pitch_class_entropy",
    "scale_consistency",
    "polyphony",
    "note_density",
    "pitch_range",
    "inter_onset_interval",
    "groove_consistency",
    "empty_beat_rate",
    "instruments_used",
)
EXTRA_METRICS = ("drum_share", "bar_self_similarity", "exact_repeat_rate")  # not in the mean OA of METRICS
ALL_METRICS = METRICS + EXTRA_METRICS
STEPS_PER_BEAT = 12  # groove grid: sixteenths and triplets both land on it
_MAJOR = np.array([0, 2, 4, 5, 7, 9, 11])
_MINOR = np.array([0, 2, 3, 5, 7, 8, 10])


def _notes(score: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """All notes: start (s), end (s), pitch, instrument (0-127, 128 for drums)."""
    score = in_seconds(score)
    starts, ends, pitches, insts = [], [], [], []
    for track in score.tracks:
        a = track.notes.numpy()
        if len(a["time"]) == 0:
            continue
        t = a["time"].astype(np.float64)
        starts.append(t)
        ends.append(t + np.maximum(a["duration"].astype(np.float64), 0.0))
        pitches.append(a["pitch"].astype(np.int64))
        insts.append(np.full(len(t), 128 if track.is_drum else int(track.program) % 128, dtype=np.int64))
    if not starts:
        empty = np.zeros(0)
        return empty, empty, empty.astype(np.int64), empty.astype(np.int64)
    return np.concatenate(starts), np.concatenate(ends), np.concatenate(pitches), np.concatenate(insts)


def _beat_and_bar(score: Any) -> tuple[float, int]:
    """Seconds per beat and beats per bar from the first tempo and time signature."""
    qpm = 120.0
    tempos = score.tempos
    if len(tempos) and float(tempos[0].qpm) > 0:
        qpm = float(tempos[0].qpm)
    beats = 4
    signatures = score.time_signatures
    if len(signatures) and int(signatures[0].numerator) > 0:
        ts = signatures[0]
        beats = max(1, round(int(ts.numerator) * 4 / max(1, int(ts.denominator))))
    return 60.0 / qpm, beats


def _entropy_bits(counts: np.ndarray) -> float:
    p = counts[counts > 0] / counts.sum()
    return float(-(p * np.log2(p)).sum()) + 0.0


def _polyphony(starts: np.ndarray, ends: np.ndarray) -> float:
    """Time-weighted mean count of sounding notes over the time at least one sounds."""
    keep = ends > starts
    if not keep.any():
        return math.nan
    times = np.concatenate([starts[keep], ends[keep]])
    delta = np.concatenate([np.ones(keep.sum()), -np.ones(keep.sum())])
    order = np.lexsort((delta, times))  # at equal times, ends (-1) before starts
    times, delta = times[order], delta[order]
    active = np.cumsum(delta)[:-1]
    spans = np.diff(times)
    sounding = spans[active > 0].sum()
    return float((active * spans).sum() / sounding) if sounding > 0 else math.nan


def _groove(onsets: np.ndarray, beat: float, beats_per_bar: int) -> float:
    steps = np.rint(onsets / beat * STEPS_PER_BEAT).astype(np.int64)
    per_bar = STEPS_PER_BEAT * beats_per_bar
    n_bars = int(steps.max() // per_bar) + 1
    if n_bars < 2:
        return math.nan
    grid = np.zeros((n_bars, per_bar), dtype=bool)
    grid[steps // per_bar, steps % per_bar] = True
    hamming = (grid[1:] != grid[:-1]).sum(axis=1) / per_bar
    return float(1.0 - hamming.mean())


def piece_metrics(score: Any) -> dict[str, float]:
    """The metrics of ``METRICS`` for one symusic Score (see the module docstring); NaN where undefined."""
    starts, ends, pitches, insts = _notes(score)
    out = dict.fromkeys(METRICS, math.nan)
    if len(starts) == 0:
        return out
    beat, beats_per_bar = _beat_and_bar(score)
    pitched = insts != 128
    if pitched.any():
        p = pitches[pitched]
        counts = np.bincount(p % 12, minlength=12).astype(np.float64)
        out["pitch_class_entropy"] = _entropy_bits(counts)
        best = 0.0
        for scale in (_MAJOR, _MINOR):
            for root in range(12):
                best = max(best, float(counts[(scale + root) % 12].sum() / counts.sum()))
        out["scale_consistency"] = best
        out["polyphony"] = _polyphony(starts[pitched], ends[pitched])
        out["pitch_range"] = float(p.max() - p.min())
    duration = float(ends.max())
    out["note_density"] = len(starts) / duration if duration > 0 else math.nan
    onsets = np.unique(np.rint(starts / 0.001).astype(np.int64)) * 0.001  # distinct to the millisecond
    if len(onsets) > 1:
        out["inter_onset_interval"] = float(np.diff(onsets).mean())
    out["groove_consistency"] = _groove(onsets, beat, beats_per_bar)
    n_beats = math.ceil(duration / beat - 1e-9)
    if n_beats > 0:  # a beat is busy when any note sounds in it (drums included)
        first = np.minimum(np.floor(starts / beat + 1e-9).astype(np.int64), n_beats - 1)
        last = np.maximum(np.ceil(ends / beat - 1e-9).astype(np.int64), first + 1)  # exclusive
        cover = np.zeros(n_beats + 1, np.int64)
        np.add.at(cover, first, 1)
        np.add.at(cover, np.minimum(last, n_beats), -1)
        out["empty_beat_rate"] = float(np.mean(np.cumsum(cover)[:-1] == 0))
    out["instruments_used"] = float(len(np.unique(insts)))
    return out


def extra_metrics(score: Any) -> tuple[dict[str, float], str | None]:
    """The ``EXTRA_METRICS`` of one Score (NaN where undefined), and why the structure rows are NaN (e.g.
    "no steady tempo"), or None when they have values."""
    from overworld.evaluation.structure import structure_of

    drums = sum(len(t.notes) for t in score.tracks if t.is_drum)
    notes = sum(len(t.notes) for t in score.tracks)
    structure = structure_of(score)
    similarity, repeats = structure.self_similarity, structure.exact_repeats
    return {
        "drum_share": drums / notes if notes else math.nan,
        "bar_self_similarity": math.nan if similarity is None else similarity,
        "exact_repeat_rate": math.nan if repeats is None else repeats,
    }, structure.reason


def _kde(samples: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """A Gaussian kernel density of ``samples`` on ``grid``, Scott's bandwidth (as scipy's gaussian_kde)."""
    n = len(samples)
    std = float(samples.std(ddof=1)) if n > 1 else 0.0
    span = float(grid[-1] - grid[0]) if len(grid) > 1 else 1.0
    bandwidth = std * n ** (-1 / 5) if std > 0 else max(span, 1e-6) * 1e-2  # all equal: a narrow bump
    z = (grid[:, None] - samples[None, :]) / bandwidth
    return np.exp(-0.5 * z * z).sum(axis=1) / (n * bandwidth * math.sqrt(2 * math.pi))


def overlapping_area(
    a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray, points: int = 2000
) -> float:
    """The area under the minimum of the Gaussian KDEs of samples ``a`` and ``b`` (0..1)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    if len(a) == 0 or len(b) == 0:
        return math.nan
    both = np.concatenate([a, b])
    lo, hi = float(both.min()), float(both.max())
    pad = max(hi - lo, 1e-6) * 0.5 + 3 * max(float(a.std()), float(b.std()))
    grid = np.linspace(lo - pad, hi + pad, points)
    overlap = np.minimum(_kde(a, grid), _kde(b, grid))
    return float(min(1.0, np.trapezoid(overlap, grid)))


@dataclass(frozen=True)
class MetricComparison:
    """One metric over both sets: means, standard deviations and Yang and Lerch's OA."""

    name: str
    generated_mean: float
    generated_std: float
    reference_mean: float
    reference_std: float
    overlapping_area: float


@dataclass(frozen=True)
class SetComparison:
    """Per-piece values of both sets, per-metric comparisons and their mean OA: ``mean_overlapping_area``
    over the rows named in ``mean_of`` (the nine ``METRICS`` for :func:`compare_folders`),
    ``mean_overlapping_area_all`` over every row. ``unmeasured`` counts, per set ("generated",
    "reference") and reason, the pieces left out of the structure rows."""

    metrics: tuple[MetricComparison, ...]
    mean_overlapping_area: float
    generated: dict[str, dict[str, float]] = field(default_factory=dict)
    reference: dict[str, dict[str, float]] = field(default_factory=dict)
    skipped: tuple[tuple[str, str], ...] = ()
    mean_overlapping_area_all: float = math.nan
    mean_of: tuple[str, ...] = ()
    unmeasured: dict[str, dict[str, int]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: NaN becomes null."""

        def clean(x: Any) -> Any:
            if isinstance(x, float) and not math.isfinite(x):
                return None
            if isinstance(x, dict):
                return {k: clean(v) for k, v in x.items()}
            return x

        return {
            "metrics": {
                m.name: clean(
                    {
                        "generated_mean": m.generated_mean,
                        "generated_std": m.generated_std,
                        "reference_mean": m.reference_mean,
                        "reference_std": m.reference_std,
                        "overlapping_area": m.overlapping_area,
                    }
                )
                for m in self.metrics
            },
            "mean_overlapping_area": clean(self.mean_overlapping_area),
            "mean_overlapping_area_of": list(self.mean_of),
            "mean_overlapping_area_all": clean(self.mean_overlapping_area_all),
            "unmeasured": self.unmeasured,
            "generated": clean(self.generated),
            "reference": clean(self.reference),
            "skipped": [{"path": p, "reason": r} for p, r in self.skipped],
        }


def _intra(x: np.ndarray) -> np.ndarray:
    d = np.abs(x[:, None] - x[None, :])
    return d[np.triu_indices(len(x), k=1)]


def _stats(x: np.ndarray) -> tuple[float, float]:
    x = x[np.isfinite(x)]
    return (float(x.mean()), float(x.std())) if len(x) else (math.nan, math.nan)


def compare_sets(
    generated: Sequence[dict[str, float]] | dict[str, dict[str, float]],
    reference: Sequence[dict[str, float]] | dict[str, dict[str, float]],
    *,
    metric_names: Sequence[str] = METRICS,
    skipped: Sequence[tuple[str, str]] = (),
    mean_of: Sequence[str] | None = None,
    unmeasured: Mapping[str, Mapping[str, int]] | None = None,
) -> SetComparison:
    """Compare per-piece metric values of two sets (lists of ``piece_metrics`` dicts, or dicts of them
    keyed by file name) with Yang and Lerch's OA of intra-reference vs inter-set distances. The mean OA
    covers the rows named in ``mean_of`` (default: every row); ``unmeasured`` is passed through."""
    gen = dict(generated) if isinstance(generated, dict) else {str(i): m for i, m in enumerate(generated)}
    ref = dict(reference) if isinstance(reference, dict) else {str(i): m for i, m in enumerate(reference)}
    if not gen or not ref:
        raise DataError("both sets need at least one readable piece to compare")
    rows = []
    for name in metric_names:
        g = np.array([m.get(name, math.nan) for m in gen.values()], dtype=np.float64)
        r = np.array([m.get(name, math.nan) for m in ref.values()], dtype=np.float64)
        g_ok, r_ok = g[np.isfinite(g)], r[np.isfinite(r)]
        oa = math.nan
        if len(g_ok) and len(r_ok) >= 2:
            inter = np.abs(g_ok[:, None] - r_ok[None, :]).ravel()
            oa = overlapping_area(_intra(r_ok), inter)
        rows.append(MetricComparison(name, *_stats(g), *_stats(r), oa))
    averaged = tuple(metric_names if mean_of is None else mean_of)

    def mean_oa(names: Sequence[str]) -> float:
        oas = [m.overlapping_area for m in rows if m.name in names and math.isfinite(m.overlapping_area)]
        return float(np.mean(oas)) if oas else math.nan

    return SetComparison(
        metrics=tuple(rows),
        mean_overlapping_area=mean_oa(averaged),
        generated=gen,
        reference=ref,
        skipped=tuple((str(p), r) for p, r in skipped),
        mean_overlapping_area_all=mean_oa(tuple(metric_names)),
        mean_of=averaged,
        unmeasured={k: dict(v) for k, v in (unmeasured or {}).items()},
    )


def _set_metrics(scores: Sequence[tuple[Path, Any]]) -> tuple[dict[str, dict[str, float]], dict[str, int]]:
    """``ALL_METRICS`` of each piece, keyed by path, and how many pieces lack the structure rows, by reason."""
    values, unmeasured = {}, {}
    for path, score in scores:
        extra, reason = extra_metrics(score)
        values[str(path)] = {**piece_metrics(score), **extra}
        if reason is not None:
            unmeasured[reason] = unmeasured.get(reason, 0) + 1
    return values, unmeasured


def compare_folders(generated_dir: str | Path, reference_dir: str | Path) -> SetComparison:
    """Load both folders (unreadable files skipped with a reason) and :func:`compare_sets` them on
    ``ALL_METRICS``, the mean OA over the nine ``METRICS`` (and a second over all rows)."""
    gen_scores, gen_skipped = load_folder(generated_dir)
    ref_scores, ref_skipped = load_folder(reference_dir)
    gen, gen_unmeasured = _set_metrics(gen_scores)
    ref, ref_unmeasured = _set_metrics(ref_scores)
    return compare_sets(
        gen,
        ref,
        metric_names=ALL_METRICS,
        skipped=[(str(p), r) for p, r in (*gen_skipped, *ref_skipped)],
        mean_of=METRICS,
        unmeasured={"generated": gen_unmeasured, "reference": ref_unmeasured},
    )
