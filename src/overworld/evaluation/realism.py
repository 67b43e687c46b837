"""How real generated music looks: a classifier two-sample test over 4-bar windows.

Each piece is cut into windows of four bars (bar lines from its own ticks and first time signature,
counted from the bar of its first note); a window with fewer than two pitched notes says nothing about
texture and is skipped. Every window gets the statistics of :data:`STATISTICS` (pitch-class entropy,
pitch range, instruments, notes a second, velocity, the spread of its log inter-onset times, mean pitch,
drum share, notes per onset, note length, parts a bar, re-struck notes). A logistic regression on the
standardised statistics and their squares (so a difference of spread shows, not only of level) learns to
tell generated windows from real ones; folds are split by piece, so the windows of one piece never sit on
both sides of a fold, and each piece gives at most :data:`WINDOWS_PER_PIECE` windows, so a long piece
does not outvote the others. The out-of-fold scores give the **AUC** (0.5: the classifier cannot tell
them apart; 1: it always can) with a bootstrap interval over pieces; the same test on one statistic at a
time (its Mann-Whitney AUC, whichever side is higher) says which one gives the music away.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "STATISTICS",
    "WINDOW_BARS",
    "Realism",
    "auc",
    "realism",
    "realism_of_folders",
    "window_statistics",
]

WINDOW_BARS = 4
WINDOWS_PER_PIECE = 16
FOLDS = 5
BOOTSTRAP = 200
STATISTICS: tuple[str, ...] = (
    "pitch_class_entropy",  # bits, pitched notes
    "pitch_range",  # semitones, pitched notes
    "instruments",  # distinct instruments (drum kit counted as one)
    "notes_per_second",
    "velocity",  # mean MIDI velocity of every note
    "ioi_spread",  # standard deviation of the log inter-onset times (every instrument)
    "mean_pitch",  # pitched notes
    "drum_share",  # share of notes on the drum kit
    "notes_per_onset",  # notes / distinct onset times
    "note_length",  # median pitched note length in beats
    "parts_per_bar",  # instruments with a note starting in a bar, mean over the window's bars
    "restruck_share",  # pitched notes repeating their instrument's previous pitch
)


def _note_table(score: Any) -> dict[str, np.ndarray] | None:
    """Every note as columns: tick onset, tick duration, pitch, velocity, instrument (128: drums)."""
    score = score if str(score.ttype).lower().endswith("tick") else score.to("tick")
    cols: dict[str, list[np.ndarray]] = {"time": [], "duration": [], "pitch": [], "velocity": [], "inst": []}
    for track in score.tracks:
        a = track.notes.numpy()
        if not len(a["time"]):
            continue
        for name in ("time", "duration", "pitch", "velocity"):
            cols[name].append(a[name].astype(np.int64))
        cols["inst"].append(np.full(len(a["time"]), 128 if track.is_drum else int(track.program) % 128))
    if not cols["time"]:
        return None
    table = {k: np.concatenate(v) for k, v in cols.items()}
    order = np.lexsort((table["pitch"], table["inst"], table["time"]))
    return {k: v[order] for k, v in table.items()}


def _bar_ticks(score: Any) -> int:
    tpq = int(score.ticks_per_quarter)
    sigs = score.time_signatures
    if len(sigs) and int(sigs[0].numerator) > 0 and int(sigs[0].denominator) > 0:
        return max(1, int(sigs[0].numerator) * 4 * tpq // int(sigs[0].denominator))
    return 4 * tpq


def _qpm_at(score: Any, tick: int) -> float:
    qpm = 120.0
    for tempo in score.tempos:
        if int(tempo.time) > tick:
            break
        if float(tempo.qpm) > 0:
            qpm = float(tempo.qpm)
    return qpm


def _window_stats(n: dict[str, np.ndarray], bar: int, first: int, tpq: int, qpm: float) -> list[float] | None:
    pitched = n["inst"] != 128
    if pitched.sum() < 2:
        return None
    p, onsets = n["pitch"][pitched], np.unique(n["time"])
    pcs = np.bincount(p % 12, minlength=12)
    prob = pcs[pcs > 0] / pcs.sum()
    iois = np.diff(onsets) / tpq * 60.0 / qpm
    seconds = WINDOW_BARS * bar / tpq * 60.0 / qpm
    bars = (n["time"] - first) // bar
    parts = len({(int(b), int(i)) for b, i in zip(bars, n["inst"])}) / WINDOW_BARS
    restruck = 0
    for inst in np.unique(n["inst"][pitched]):
        mine = n["pitch"][n["inst"] == inst]
        restruck += int((mine[1:] == mine[:-1]).sum())
    return [
        float(-(prob * np.log2(prob)).sum()) + 0.0,
        float(p.max() - p.min()),
        float(len(np.unique(n["inst"]))),
        len(n["time"]) / seconds,
        float(n["velocity"].mean()),
        float(np.log(iois).std()) if len(iois) > 1 else 0.0,
        float(p.mean()),
        float((~pitched).mean()),
        len(n["time"]) / len(onsets),
        float(np.median(n["duration"][pitched])) / tpq,
        parts,
        restruck / int(pitched.sum()),
    ]


def window_statistics(score: Any) -> np.ndarray:
    """``(W, S)``: the :data:`STATISTICS` of each 4-bar window of ``score`` with two pitched notes or more."""
    notes = _note_table(score)
    if notes is None:
        return np.zeros((0, len(STATISTICS)))
    score = score if str(score.ttype).lower().endswith("tick") else score.to("tick")
    bar, tpq = _bar_ticks(score), int(score.ticks_per_quarter)
    first = int(notes["time"][0]) // bar * bar
    window = (notes["time"] - first) // (WINDOW_BARS * bar)
    rows = []
    for w in np.unique(window):
        inside = window == w
        start = first + int(w) * WINDOW_BARS * bar
        stats = _window_stats(
            {k: v[inside] for k, v in notes.items()}, bar, start, tpq, _qpm_at(score, start)
        )
        if stats is not None:
            rows.append(stats)
    return np.asarray(rows, dtype=np.float64).reshape(-1, len(STATISTICS))


def auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """The area under the ROC curve of ``scores`` for ``labels`` (1 positive), ties counted half
    (the Mann-Whitney U statistic)."""
    scores, labels = np.asarray(scores, dtype=np.float64), np.asarray(labels).astype(bool)
    pos, neg = int(labels.sum()), int((~labels).sum())
    if not pos or not neg:
        return math.nan
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores))
    sorted_scores = scores[order]
    ranks[order] = np.arange(1, len(scores) + 1)
    for value in np.unique(sorted_scores[np.r_[False, np.diff(sorted_scores) == 0]]):  # average tied ranks
        tied = scores == value
        ranks[tied] = ranks[tied].mean()
    return float((ranks[labels].sum() - pos * (pos + 1) / 2) / (pos * neg))


def _fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 1.0, steps: int = 25) -> np.ndarray:
    """Weights (bias last) of an L2-regularised logistic regression by Newton's method."""
    xb = np.hstack([x, np.ones((len(x), 1))])
    w = np.zeros(xb.shape[1])
    reg = np.full(xb.shape[1], l2)
    reg[-1] = 0.0
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-np.clip(xb @ w, -30, 30)))
        grad = xb.T @ (p - y) + reg * w
        hess = (xb * (p * (1 - p))[:, None]).T @ xb + np.diag(reg) + 1e-9 * np.eye(len(w))
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w


def _features(x: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    z = (x - mean) / std
    return np.hstack([z, z**2])


def _folds(y: np.ndarray, groups: np.ndarray, seed: int) -> np.ndarray:
    """The fold of every window: whole pieces, dealt round each side separately, so every fold holds
    both sides in about their overall proportion (folds of one side only would turn the classifier's
    bias against the pieces held out, and its AUC below 0.5)."""
    rng = np.random.default_rng(seed)
    fold_of: dict[int, int] = {}
    for label in (0, 1):
        pieces = np.unique(groups[y == label])
        offset = int(rng.integers(FOLDS))
        for n, g in enumerate(rng.permutation(pieces)):
            fold_of[int(g)] = (n + offset) % FOLDS
    return np.array([fold_of[int(g)] for g in groups])


def _out_of_fold(x: np.ndarray, y: np.ndarray, groups: np.ndarray, seed: int) -> np.ndarray:
    """Scores of every window from a classifier that never saw its piece."""
    fold = _folds(y, groups, seed)
    scores = np.zeros(len(y))
    for f in range(FOLDS):
        test, train = fold == f, fold != f
        if not test.any() or len(np.unique(y[train])) < 2:
            continue
        mean, std = x[train].mean(axis=0), x[train].std(axis=0) + 1e-9
        w = _fit_logistic(_features(x[train], mean, std), y[train])
        scores[test] = np.hstack([_features(x[test], mean, std), np.ones((int(test.sum()), 1))]) @ w
    return scores


def _bootstrap(scores: np.ndarray, y: np.ndarray, groups: np.ndarray, seed: int) -> tuple[float, float]:
    """The 95% interval of the AUC over pieces drawn with replacement (each side separately)."""
    rng = np.random.default_rng(seed)
    members = {g: np.flatnonzero(groups == g) for g in np.unique(groups)}
    sides = [[g for g in members if y[members[g][0]] == label] for label in (0, 1)]
    values = []
    for _ in range(BOOTSTRAP):
        drawn = [members[g] for side in sides for g in rng.choice(side, size=len(side), replace=True)]
        idx = np.concatenate(drawn)
        values.append(auc(scores[idx], y[idx]))
    low, high = np.nanpercentile(values, [2.5, 97.5])
    return float(low), float(high)


@dataclass(frozen=True)
class Realism:
    """A classifier two-sample test of generated against reference windows."""

    auc: float
    interval: tuple[float, float]
    per_statistic: dict[str, float]
    medians: dict[str, tuple[float, float]]  # statistic: (generated, reference) median over windows
    windows: tuple[int, int]  # generated, reference (after the per-piece cap)
    pieces: tuple[int, int]
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"auc": self.auc, "interval": list(self.interval), "per_statistic": self.per_statistic,
                "medians": {k: list(v) for k, v in self.medians.items()}, "windows": list(self.windows),
                "pieces": list(self.pieces), "notes": self.notes}  # fmt: skip


def _capped(stats: Sequence[np.ndarray], rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """The windows of every piece (at most WINDOWS_PER_PIECE each, drawn) and the piece of each."""
    rows, groups = [], []
    for g, windows in enumerate(stats):
        if len(windows) > WINDOWS_PER_PIECE:
            windows = windows[np.sort(rng.choice(len(windows), WINDOWS_PER_PIECE, replace=False))]
        rows.append(windows)
        groups += [g] * len(windows)
    return np.concatenate(rows) if rows else np.zeros((0, len(STATISTICS))), np.asarray(groups)


def realism(generated: Sequence[Any], reference: Sequence[Any], *, seed: int = 0) -> Realism:
    """The two-sample test of the scores ``generated`` against ``reference`` (symusic Scores)."""
    from overworld.errors import DataError

    rng = np.random.default_rng(seed)
    gen_stats = [s for s in (window_statistics(score) for score in generated) if len(s)]
    ref_stats = [s for s in (window_statistics(score) for score in reference) if len(s)]
    if len(gen_stats) < 2 or len(ref_stats) < 2:
        raise DataError("the realism test needs two pieces or more on each side with 4-bar windows of notes")
    gx, gg = _capped(gen_stats, rng)
    rx, rg = _capped(ref_stats, rng)
    x = np.vstack([gx, rx])
    y = np.r_[np.ones(len(gx)), np.zeros(len(rx))]
    groups = np.r_[gg, rg + len(gen_stats)]
    scores = _out_of_fold(x, y, groups, seed)
    per = {name: _one_statistic(x[:, i], y) for i, name in enumerate(STATISTICS)}
    medians = {n: (float(np.median(gx[:, i])), float(np.median(rx[:, i]))) for i, n in enumerate(STATISTICS)}
    return Realism(auc(scores, y), _bootstrap(scores, y, groups, seed + 1), per, medians,
                   (len(gx), len(rx)), (len(gen_stats), len(ref_stats)))  # fmt: skip


def _one_statistic(values: np.ndarray, y: np.ndarray) -> float:
    """How well one statistic alone tells the sides apart, whichever side is higher: 0.5 not at all."""
    a = auc(values, y)
    return max(a, 1.0 - a)


def realism_of_folders(generated: str | Path, reference: str | Path, *, seed: int = 0) -> Realism:
    """:func:`realism` of the MIDI files and modules of two folders (unreadable files are noted)."""
    from overworld.evaluation.metrics import load_folder

    gen, gen_skipped = load_folder(generated, ttype="tick")
    ref, ref_skipped = load_folder(reference, ttype="tick")
    result = realism([s for _, s in gen], [s for _, s in ref], seed=seed)
    skipped = [f"skipped {p}: {why}" for p, why in (*gen_skipped, *ref_skipped)]
    return dataclasses.replace(result, notes=skipped)
