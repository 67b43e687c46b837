"""Encoding for the bar tokenizer (:mod:`overworld.tokenizers.bars`), over numpy arrays.

A score becomes notes ``(bar, instrument, pos, pitch, duration bin, velocity bin)``, one contiguous column
each, sorted in token order by one number per note; they become ids without a Python loop over notes:
each part gets a content id (a hash of its notes, checked note by note), the nearest earlier part of the
same instrument with the same content gives ``REPEAT k``, and every token's place in the output is a
running sum of how many tokens each bar header, part and note writes. The ids are exactly those of the note-by-note definition
in the module docstring of :mod:`overworld.tokenizers.bars` (a test compares them on real files).

Shapes: N notes, P parts (one per bar and instrument), B bars.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from overworld.midi.gm import DRUMS
from overworld.tokenizers.bars_layout import (
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
    """Every note of ``score`` on the 12-a-quarter grid: a (5, N) int array of onset step, duration step,
    pitch, velocity and instrument (one contiguous row each); and the score at that resolution (for its
    tempos and metre)."""
    ttype = str(score.ttype).lower()
    if not ttype.endswith("tick"):
        score = score.to("tick")
    score = score.resample(STEPS_PER_QUARTER, min_dur=1)
    tracks = [(track.notes.numpy(), track) for track in score.tracks if len(track.notes)]
    lengths = [len(notes["time"]) for notes, _ in tracks]
    a = np.empty((5, sum(lengths)), dtype=_I64)
    if tracks:  # one concatenation a row, not one copy a track and row
        for row, key in enumerate(("time", "duration", "pitch", "velocity")):
            np.concatenate([notes[key] for notes, _ in tracks], out=a[row])
        a[4] = np.repeat(
            [DRUMS if track.is_drum else int(track.program) % 128 for _, track in tracks], lengths
        )
    keep = (a[3] > 0) & (a[0] >= 0)  # velocity 0 is a note-off: no note
    if not keep.all():
        a = a[:, keep]
    a[2] &= 127  # % 128 (two's complement), without a division
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
    if len(runs_n) == 1:  # one metre throughout
        step = bar_steps(*TIME_SIGNATURES[sig])
        return step * np.arange(runs_n[0], dtype=_I64), np.full(runs_n[0], sig, dtype=_I64)
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
    if len(qpm) == 1:
        return np.where(starts >= times[0], tempo_bin(float(qpm[0])), _DEFAULT_TEMPO)
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
    return _DURATION_BINS[np.maximum(np.minimum(np.asarray(steps, dtype=_I64), DURATIONS[-1]), 1)]


def encode(score: Any) -> np.ndarray:
    """The ids of ``score`` (see :meth:`overworld.tokenizers.bars.BarTokenizer.encode`)."""
    (onset, dur, pitch, vel, inst), grid = grid_notes(score)
    if not len(onset):
        return np.zeros(0, dtype=_I64)
    starts, sigs = bar_lines(grid, int(onset.max()))
    tempos = bar_tempos(grid, starts)
    if (sigs == sigs[0]).all():  # one metre: bar lines every ``step`` from 0
        step = bar_steps(*TIME_SIGNATURES[int(sigs[0])])
        bar = onset // step
        pos = onset - bar * step
    else:
        bar = np.searchsorted(starts, onset, side="right") - 1
        pos = onset - starts[bar]
    key = _note_key(bar, inst, pos, pitch)
    order = np.argsort(key, kind="stable")  # ties keep the notes' order
    vel = np.maximum(np.minimum(vel[order], 127), 1) // VELOCITY_BIN  # np.clip costs 10x more
    columns = bar[order], inst[order], pos[order], pitch[order], duration_bin(dur[order]), vel
    return _emit(*columns, sigs, tempos, key[order])


def emit(rows: np.ndarray, sigs: np.ndarray, tempos: np.ndarray) -> np.ndarray:
    """Ids of note rows ``(bar, instrument, pos, pitch, duration bin, velocity bin)`` sorted by bar,
    instrument, pos and pitch; ``sigs`` and ``tempos`` are each bar's metre index and tempo bin."""
    columns = np.ascontiguousarray(np.asarray(rows, dtype=_I64).T)
    return _emit(*columns, sigs, tempos)


def _note_key(*columns: np.ndarray) -> np.ndarray:
    """(N,) one number per note that sorts as its ``columns`` do (non-negative ints, the first most
    significant)."""
    key = columns[0]
    for column in columns[1:]:
        key = key * (int(column.max()) + 1) + column
    return key


def _emit(
    bar: np.ndarray,
    inst: np.ndarray,
    pos: np.ndarray,
    pitch: np.ndarray,
    dur: np.ndarray,
    vel: np.ndarray,
    sigs: np.ndarray,
    tempos: np.ndarray,
    key: np.ndarray | None = None,
) -> np.ndarray:
    """Ids of notes in token order, one (N,) column each (see :func:`emit`); ``key`` is their
    :func:`_note_key` of bar, instrument, pos and pitch when the caller has it."""
    if key is None:
        key = _note_key(bar, inst, pos, pitch)
    keep = key[1:] != key[:-1]  # one note per bar, instrument, pos and pitch: the last of equal ones
    if not keep.all():
        keep = np.append(keep, True)
        bar, inst, pos, pitch, dur, vel = (c[keep] for c in (bar, inst, pos, pitch, dur, vel))
    new = np.ones(len(bar), dtype=bool)  # (N,) a part's first note
    new[1:] = (bar[1:] != bar[:-1]) | (inst[1:] != inst[:-1])
    first = np.nonzero(new)[0]  # (P,)
    part = np.cumsum(new) - 1  # (N,) each note's part
    back = _repeats(_note_key(pos, pitch, dur, vel), first, part, bar[first], inst[first])
    repeat = back > 0
    pos_flag, vel_flag = new.copy(), new.copy()  # POS / VEL before the note: first of its part or changed
    pos_flag[1:] |= pos[1:] != pos[:-1]
    vel_flag[1:] |= vel[1:] != vel[:-1]
    written = ~repeat[part]
    per_note = np.where(written, 2 + pos_flag + vel_flag, 0)  # (N,) tokens each note writes
    per_part = 1 + np.where(repeat, 1, np.add.reduceat(per_note, first))  # (P,) TRACK and its body
    out, part_at = _layout(bar[first], per_part, sigs, tempos, spare=4)
    size = len(out) - 4  # notes of repeated parts write into the 4 spare tokens at the end
    out[part_at] = L.TRACK + inst[first]
    out[part_at[repeat] + 1] = L.REPEAT + back[repeat] - 1
    before = np.cumsum(per_note) - per_note
    at = np.where(written, (part_at + 1 - before[first])[part] + before, size)  # (N,) where its tokens start
    out[np.where(pos_flag, at, size)] = L.POS + pos
    at += pos_flag
    out[np.where(vel_flag, at, size)] = L.VEL + vel
    at += vel_flag
    out[at] = L.PITCH + pitch
    out[at + 1] = L.DUR + dur
    return out[:size]


_HASH = np.uint64(0x9E3779B97F4A7C15)  # odd: its powers never vanish mod 2**64
_SALT = np.uint64(0xC2B2AE3D27D4EB4F)  # instruments apart: parts of two instruments never repeat each other


def _repeats(
    code: np.ndarray, first: np.ndarray, part: np.ndarray, bar: np.ndarray, inst: np.ndarray
) -> np.ndarray:
    """(P,) for each part (notes ``code[first[i]:first[i + 1]]``, in ``bar``, of instrument ``inst``) ``k`` of
    ``REPEAT k``: the nearest earlier bar of the same instrument with the same notes, at most 16 back; else 0.

    A polynomial hash of each part's codes, its length and instrument puts equal parts side by side in one
    stable sort (so in bar order); every part is then compared code by code with the one before it (where a
    hash collides, :func:`_content_by_bytes` gives the parts' ids instead)."""
    n, p = len(code), len(first)
    length = np.empty(p, dtype=_I64)  # (P,)
    length[:-1], length[-1] = first[1:] - first[:-1], n - first[-1]
    j = np.arange(n) - first[part]  # (N,) place in its part
    powers = np.cumprod(np.full(int(length.max()), _HASH, dtype=np.uint64))
    h = np.add.reduceat(code.astype(np.uint64) * powers[j], first)
    h += length.astype(np.uint64) + inst.astype(np.uint64) * _SALT
    order = np.argsort(h, kind="stable")  # (P,) equal hashes in part order, so in bar order
    same = h[order[1:]] == h[order[:-1]]
    earlier, later = order[:-1][same], order[1:][same]  # parts with the hash of the part after them
    if len(later):
        prev = np.full(p, -1, dtype=_I64)
        prev[later] = earlier
        prev_note = prev[part]  # (N,) the part a note's part is compared with
        mine = prev_note >= 0
        if not (
            (inst[earlier] == inst[later]).all()
            and (length[earlier] == length[later]).all()
            and (code[(first[prev_note] + j)[mine]] == code[mine]).all()
        ):
            return _repeats_of_content(_content_by_bytes(code, first), bar, inst)
    back = np.zeros(p, dtype=_I64)
    gap = bar[later] - bar[earlier]
    back[later] = np.where(gap <= N_REPEATS, gap, 0)
    return back


def _content_by_bytes(code: np.ndarray, first: np.ndarray) -> np.ndarray:
    """(P,) an id per part from the bytes of its note codes."""
    body = np.ascontiguousarray(code, dtype=_I64).tobytes()
    bounds = (np.append(first, len(code)) * 8).tolist()
    known: dict[bytes, int] = {}
    return np.fromiter(
        (known.setdefault(body[s:e], len(known)) for s, e in zip(bounds[:-1], bounds[1:])),
        dtype=_I64,
        count=len(first),
    )


def _repeats_of_content(content: np.ndarray, bar: np.ndarray, inst: np.ndarray) -> np.ndarray:
    """(P,) :func:`_repeats` from each part's ``content`` id."""
    same = inst * len(content) + content  # (P,) equal for the same instrument and notes
    order = np.argsort(same * (int(bar[-1]) + 1) + bar)  # by instrument, content, bar
    b, same = bar[order], same[order]
    gap = b[1:] - b[:-1]
    back = np.zeros(len(content), dtype=_I64)
    back[order[1:]] = np.where((same[1:] == same[:-1]) & (gap <= N_REPEATS), gap, 0)
    return back


def _layout(
    part_bar: np.ndarray, per_part: np.ndarray, sigs: np.ndarray, tempos: np.ndarray, spare: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """The output with every bar's ``BAR [TIMESIG] [TEMPO]`` written, room for ``per_part`` tokens of
    each part (in bar ``part_bar``) and ``spare`` tokens more at the end; and where each part starts."""
    n_bars = int(part_bar[-1]) + 1
    sigs, tempos = sigs[:n_bars], tempos[:n_bars]
    sig_flag = np.ones(n_bars, dtype=bool)
    sig_flag[1:] = sigs[1:] != sigs[:-1]
    tempo_flag = np.ones(n_bars, dtype=bool)
    tempo_flag[1:] = tempos[1:] != tempos[:-1]
    header = 1 + sig_flag + tempo_flag.astype(_I64)  # (B,) BAR [TIMESIG] [TEMPO]
    header_end = np.cumsum(header)
    parts_before = np.concatenate([[0], np.cumsum(per_part)])  # tokens of the parts before each part
    bar_at = header_end - header + parts_before[np.searchsorted(part_bar, np.arange(n_bars))]  # (B,)
    out = np.empty(int(header_end[-1] + parts_before[-1]) + spare, dtype=_I64)
    out[bar_at] = L.BAR
    out[(bar_at + 1)[sig_flag]] = L.TIMESIG + sigs[sig_flag]
    out[(bar_at + 1 + sig_flag)[tempo_flag]] = L.TEMPO + tempos[tempo_flag]
    return out, header_end[part_bar] + parts_before[:-1]
