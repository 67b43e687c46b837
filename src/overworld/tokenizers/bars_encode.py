"""Encoding for the bar tokenizer (:mod:`overworld.tokenizers.bars`), over numpy arrays.

A score becomes note rows ``(bar, instrument, pos, pitch, duration bin, velocity bin)`` sorted in token
order; :func:`emit` turns the rows into ids without a Python loop over notes: each part gets a content id
(equal parts, equal ids: the bytes of its notes), the nearest earlier part of the same instrument with the
same content gives ``REPEAT k``, and every token's place in the output is a running sum of how many
tokens each bar header, part and note writes. The ids are exactly those of the note-by-note definition
in the module docstring of :mod:`overworld.tokenizers.bars` (a test compares them on real files).

Shapes: N notes, P parts (one per bar and instrument), B bars.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from overworld.midi.gm import DRUMS
from overworld.tokenizers.bars import (
    DURATIONS,
    N_REPEATS,
    STEPS_PER_QUARTER,
    TIME_SIGNATURES,
    VELOCITY_BIN,
    Layout,
    bar_steps,
    signature_index,
    tempo_bin,
)

__all__ = ["bar_lines", "bar_tempos", "emit", "encode", "grid_notes"]

_I64 = np.int64
L = Layout
_DEFAULT_TEMPO = tempo_bin(120.0)


def grid_notes(score: Any) -> tuple[np.ndarray, Any]:
    """Every note of ``score`` on the 12-a-quarter grid: an (N, 5) int array of onset step, duration
    step, pitch, velocity, instrument; and the score at that resolution (for its tempos and metre)."""
    ttype = str(score.ttype).lower()
    if not ttype.endswith("tick"):
        score = score.to("tick")
    score = score.resample(STEPS_PER_QUARTER, min_dur=1)
    parts = []
    for track in score.tracks:
        notes = track.notes.numpy()
        n = len(notes["time"])
        if n == 0:
            continue
        part = np.empty((n, 5), dtype=_I64)
        for col, key in enumerate(("time", "duration", "pitch", "velocity")):
            part[:, col] = notes[key]
        part[:, 4] = DRUMS if track.is_drum else int(track.program) % 128
        parts.append(part)
    if not parts:
        return np.zeros((0, 5), dtype=_I64), score
    a = np.concatenate(parts) if len(parts) > 1 else parts[0]
    a = a[(a[:, 3] > 0) & (a[:, 0] >= 0)]  # velocity 0 is a note-off: no note
    a[:, 2] %= 128
    return a, score


def bar_lines(score: Any, end: int, at_least: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Bar starts (grid steps) up to ``end`` (at least ``at_least`` of them) and each bar's time
    signature index; a change of metre takes effect at the next bar line. One arithmetic run of bars per
    change of metre."""
    changes = sorted((max(0, int(ts.time)), signature_index(int(ts.numerator), int(ts.denominator)))
                     for ts in score.time_signatures)  # fmt: skip
    runs_t, runs_sig, runs_n = [], [], []
    t, sig, k, count = 0, 0, 0, 0
    while True:
        while k < len(changes) and changes[k][0] <= t:
            sig = changes[k][1]
            k += 1
        step = bar_steps(*TIME_SIGNATURES[sig])
        # bars until the loop would stop: past ``end`` and at least ``at_least`` of them
        stop = max(0, (end - t) // step + 1, at_least - count)
        if k < len(changes):  # bars before the next change's bar line
            upto = -(-(changes[k][0] - t) // step)
            if upto < stop:
                runs_t.append(t), runs_sig.append(sig), runs_n.append(upto)
                t, count = t + upto * step, count + upto
                continue
        runs_t.append(t), runs_sig.append(sig), runs_n.append(stop)
        break
    n = np.asarray(runs_n, dtype=_I64)
    steps = np.asarray([bar_steps(*TIME_SIGNATURES[s]) for s in runs_sig], dtype=_I64)
    first = np.cumsum(n) - n  # (runs,) index of each run's first bar
    run = np.repeat(np.arange(len(n)), n)  # (B,)
    j = np.arange(int(n.sum()), dtype=_I64) - first[run]
    starts = np.asarray(runs_t, dtype=_I64)[run] + j * steps[run]
    return starts, np.asarray(runs_sig, dtype=_I64)[run]


def bar_tempos(score: Any, starts: np.ndarray) -> np.ndarray:
    """The tempo bin in force at each bar's start (120 bpm before the first tempo event)."""
    table = score.tempos.numpy()
    times = table["time"].astype(_I64)
    if not len(times):
        return np.full(len(starts), _DEFAULT_TEMPO, dtype=_I64)
    qpm = 60_000_000.0 / table["mspq"].astype(np.float64)  # as symusic's Tempo.qpm
    values, inverse = np.unique(qpm, return_inverse=True)
    bins = np.asarray([tempo_bin(float(q)) for q in values.tolist()], dtype=_I64)[inverse.reshape(-1)]
    order = np.argsort(times, kind="stable")
    times, bins = times[order], bins[order]
    idx = np.searchsorted(times, starts, side="right") - 1
    return np.where(idx >= 0, bins[np.maximum(idx, 0)], _DEFAULT_TEMPO)


_DURATION_BINS = np.abs(np.arange(DURATIONS[-1] + 1)[:, None] - np.asarray(DURATIONS)[None, :]).argmin(axis=1)


def duration_bin(steps: np.ndarray) -> np.ndarray:
    """The nearest duration bin of each duration in grid steps (longer ones take the longest; a tie takes
    the shorter bin)."""
    return _DURATION_BINS[np.clip(np.asarray(steps, dtype=_I64), 1, DURATIONS[-1])]


def encode(score: Any) -> np.ndarray:
    """The ids of ``score`` (see :meth:`overworld.tokenizers.bars.BarTokenizer.encode`)."""
    notes, grid = grid_notes(score)
    if not len(notes):
        return np.zeros(0, dtype=_I64)
    onset = notes[:, 0]
    starts, sigs = bar_lines(grid, int(onset.max()))
    tempos = bar_tempos(grid, starts)
    rows = np.empty((len(notes), 6), dtype=_I64)  # (N, 6) bar, instrument, pos, pitch, dur, vel
    rows[:, 0] = np.searchsorted(starts, onset, side="right") - 1
    rows[:, 1] = notes[:, 4]
    rows[:, 2] = onset - starts[rows[:, 0]]
    rows[:, 3] = notes[:, 2]
    rows[:, 4] = duration_bin(notes[:, 1])
    rows[:, 5] = np.clip(notes[:, 3], 1, 127) // VELOCITY_BIN
    order = np.lexsort((rows[:, 3], rows[:, 2], rows[:, 1], rows[:, 0]))
    return emit(rows[order], sigs, tempos)


def _parts(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows with one note per (bar, instrument, pos, pitch), the last of equal ones; and the index of
    each part's first note (a part: a run of equal bar and instrument)."""
    n = len(rows)
    keep = np.ones(n, dtype=bool)
    keep[:-1] = (rows[1:, :4] != rows[:-1, :4]).any(axis=1)
    rows = rows[keep]
    new = np.ones(len(rows), dtype=bool)
    new[1:] = (rows[1:, :2] != rows[:-1, :2]).any(axis=1)
    return rows, np.flatnonzero(new)


def _repeats(rows: np.ndarray, first: np.ndarray) -> np.ndarray:
    """(P,) for each part ``k`` of ``REPEAT k`` (the nearest earlier bar of the same instrument with the
    same notes, at most 16 back), else 0."""
    body = np.ascontiguousarray(rows[:, 2:]).tobytes()
    width = rows.itemsize * (rows.shape[1] - 2)  # bytes a note
    bounds = (np.append(first, len(rows)) * width).tolist()
    known: dict[bytes, int] = {}
    content = np.fromiter(
        (known.setdefault(body[s:e], len(known)) for s, e in zip(bounds[:-1], bounds[1:])),
        dtype=_I64,
        count=len(first),
    )  # (P,) equal notes, equal id
    bar, inst = rows[first, 0], rows[first, 1]
    order = np.lexsort((bar, content, inst))  # the same instrument and content, by bar
    b, c, i = bar[order], content[order], inst[order]
    gap = b[1:] - b[:-1]
    same = (c[1:] == c[:-1]) & (i[1:] == i[:-1]) & (gap <= N_REPEATS)
    back = np.zeros(len(first), dtype=_I64)
    back[order[1:]] = np.where(same, gap, 0)
    return back


def emit(rows: np.ndarray, sigs: np.ndarray, tempos: np.ndarray) -> np.ndarray:
    """Ids of note rows ``(bar, instrument, pos, pitch, duration bin, velocity bin)`` sorted by bar,
    instrument, pos and pitch; ``sigs`` and ``tempos`` are each bar's metre index and tempo bin."""
    rows, first = _parts(np.asarray(rows, dtype=_I64))
    back = _repeats(rows, first)
    part_bar, repeat = rows[first, 0], back > 0
    n_bars, n = int(part_bar[-1]) + 1, len(rows)
    part = np.repeat(np.arange(len(first)), np.diff(np.append(first, n)))  # (N,) each note's part
    new = np.zeros(n, dtype=bool)
    new[first] = True
    pos_flag, vel_flag = new.copy(), new.copy()  # POS / VEL before the note: first of its part or changed
    pos_flag[1:] |= rows[1:, 2] != rows[:-1, 2]
    vel_flag[1:] |= rows[1:, 5] != rows[:-1, 5]
    written = ~repeat[part]
    per_note = np.where(written, 2 + pos_flag + vel_flag, 0)  # (N,) tokens each note writes
    per_part = 1 + np.where(repeat, 1, np.add.reduceat(per_note, first))  # (P,) TRACK and its body
    b = np.arange(n_bars)
    sig_flag = np.ones(n_bars, dtype=bool)
    sig_flag[1:] = sigs[1:n_bars] != sigs[: n_bars - 1]
    tempo_flag = np.ones(n_bars, dtype=bool)
    tempo_flag[1:] = tempos[1:n_bars] != tempos[: n_bars - 1]
    header = 1 + sig_flag + tempo_flag.astype(_I64)  # (B,) BAR [TIMESIG] [TEMPO]
    header_end = np.cumsum(header)
    parts_before = np.concatenate([[0], np.cumsum(per_part)])  # tokens of the parts before each part
    bar_at = header_end - header + parts_before[np.searchsorted(part_bar, b)]  # (B,)
    part_at = header_end[part_bar] + parts_before[:-1]  # (P,)
    out = np.empty(int(header_end[-1] + parts_before[-1]), dtype=_I64)
    out[bar_at] = L.BAR
    out[(bar_at + 1)[sig_flag]] = L.TIMESIG + sigs[:n_bars][sig_flag]
    out[(bar_at + 1 + sig_flag)[tempo_flag]] = L.TEMPO + tempos[:n_bars][tempo_flag]
    out[part_at] = L.TRACK + rows[first, 1]
    out[part_at[repeat] + 1] = L.REPEAT + back[repeat] - 1
    before = np.cumsum(per_note) - per_note
    at = (part_at + 1 - before[first])[part] + before  # (N,) where each note's tokens start
    at, rows, pos_flag, vel_flag = at[written], rows[written], pos_flag[written], vel_flag[written]
    out[at[pos_flag]] = L.POS + rows[pos_flag, 2]
    at = at + pos_flag
    out[at[vel_flag]] = L.VEL + rows[vel_flag, 5]
    at = at + vel_flag
    out[at] = L.PITCH + rows[:, 3]
    out[at + 1] = L.DUR + rows[:, 4]
    return out
