"""The bar tokenizer's array encoder writes exactly the ids of its note-by-note definition, faster.

``_reference`` below is the encoder as first written (a Python loop over bars, parts and notes, a dict
of each instrument's earlier parts); prepared shards must not change by a byte when the encoder does.
"""

from __future__ import annotations

import bisect
import math
import time
from pathlib import Path

import numpy as np
import pytest
import symusic

from overworld.midi import load_score
from overworld.tokenizers.bars import (
    DURATIONS,
    N_REPEATS,
    STEPS_PER_QUARTER,
    TIME_SIGNATURES,
    VELOCITY_BIN,
    BarTokenizer,
    Layout,
    bar_steps,
    signature_index,
    tempo_bin,
)

L = Layout
OPENMSX = Path("/usr/share/games/openttd/baseset/openmsx")
DOOM = Path("/usr/share/games/doom")


def _reference_rows(score):
    """Note rows (bar, instrument, pos, pitch, duration bin, velocity bin) in token order, bar metres and
    tempos: grid, bar lines and tempos the first way, one bar and one tempo event at a time."""
    grid = score.to("tick") if not str(score.ttype).lower().endswith("tick") else score
    grid = grid.resample(STEPS_PER_QUARTER, min_dur=1)
    notes = [
        (n.time, n.duration, n.pitch % 128, n.velocity, 128 if t.is_drum else t.program % 128)
        for t in grid.tracks
        for n in t.notes
        if n.velocity > 0 and n.time >= 0
    ]
    if not notes:
        return None
    end = max(n[0] for n in notes)
    starts, sigs = _reference_bar_lines(grid, end)
    tempos = sorted((tp.time, i, tempo_bin(tp.qpm)) for i, tp in enumerate(grid.tempos))  # ties: file order
    last = [bisect.bisect_right(tempos, (s, math.inf)) - 1 for s in starts]  # the tempo in force at each bar
    bins = [tempos[i][2] if i >= 0 else tempo_bin(120.0) for i in last]
    rows = []
    for i, (onset, dur, pitch, vel, inst) in enumerate(notes):
        bar = bisect.bisect_right(starts, onset) - 1
        d = min(range(len(DURATIONS)), key=lambda j: abs(min(max(dur, 1), DURATIONS[-1]) - DURATIONS[j]))
        rows.append(((bar, inst, onset - starts[bar], pitch), i, min(max(vel, 1), 127) // VELOCITY_BIN, d))
    rows = [(*key, d, v) for key, _, v, d in sorted(rows)]  # ties keep the notes' order
    return rows, sigs, bins


def _reference_bar_lines(grid, end, at_least=0):
    """Bar starts up to ``end`` (at least ``at_least``) and their metres, one bar at a time."""
    changes = sorted(
        (max(0, ts.time), signature_index(ts.numerator, ts.denominator)) for ts in grid.time_signatures
    )
    starts, sigs, t, sig, k = [], [], 0, 0, 0
    while t <= end or len(starts) < at_least:
        while k < len(changes) and changes[k][0] <= t:
            sig, k = changes[k][1], k + 1
        starts.append(t), sigs.append(sig)
        t += bar_steps(*TIME_SIGNATURES[sig])
    return starts, sigs


def _reference(score) -> list[int]:
    """The ids, part by part: the nearest of the instrument's last 16 bars with equal notes is REPEAT k."""
    got = _reference_rows(score)
    if got is None:
        return []
    rows, sigs, tempos = got
    by_part = {}
    for bb, i, p, n, d, v in rows:
        by_part.setdefault((bb, i), []).append((p, n, d, v))
    out, history = [], {}
    for b in range(rows[-1][0] + 1):
        out.append(L.BAR)
        if b == 0 or sigs[b] != sigs[b - 1]:
            out.append(L.TIMESIG + sigs[b])
        if b == 0 or tempos[b] != tempos[b - 1]:
            out.append(L.TEMPO + tempos[b])
        for inst in sorted(i for bb, i in by_part if bb == b):
            part = tuple({(p, n): (p, n, d, v) for p, n, d, v in by_part[(b, inst)]}.values())
            mine = history.setdefault(inst, {})
            out.append(L.TRACK + inst)
            back = next((k for k in range(1, N_REPEATS + 1) if mine.get(b - k) == part), 0)
            mine[b] = part
            if back:
                out.append(L.REPEAT + back - 1)
                continue
            pos = vel = -1
            for p, n, d, v in part:
                out += [L.POS + p] if p != pos else []
                out += [L.VEL + v] if v != vel else []
                out += [L.PITCH + n, L.DUR + d]
                pos, vel = p, v
    return out


def _score(notes, sigs=((0, 4, 4),), tempos=((0, 120.0),), tpq=480):
    """A score from ``(track, onset tick, duration ticks, pitch, velocity)``; track 9 is the drum kit."""
    score = symusic.Score(tpq)
    for t, n, d in sigs:
        score.time_signatures.append(symusic.TimeSignature(t, n, d))
    for t, q in tempos:
        score.tempos.append(symusic.Tempo(t, q))
    tracks = {}
    for track, onset, dur, pitch, vel in notes:
        if track not in tracks:
            tracks[track] = symusic.Track(program=track * 3 % 128, is_drum=track == 9)
        tracks[track].notes.append(symusic.Note(onset, dur, pitch, vel))
    score.tracks.extend(tracks.values())
    return score


def test_every_rule_of_the_definition_on_a_made_up_piece():
    bar = 4 * 480
    riff = [(0, 0, 240, 60, 100), (0, 240, 240, 64, 90), (0, 480, 960, 67, 90)]  # C E G in bar 1
    notes = [
        (0, o + k * bar, d, p, v) for k in (0, 1, 3, 20) for (_, o, d, p, v) in riff
    ]  # REPEAT 1, 2; 17 back
    notes += [
        (0, 2 * bar, 120, 60, 40),
        (0, 2 * bar, 120, 60, 127),
        (0, 2 * bar, 100, 60, 1),
    ]  # one pos+pitch
    notes += [(9, k * bar + 240 * i, 60, 36 + i % 3, 100 - i) for k in range(24) for i in range(8)]  # drums
    notes += [(2, 5 * bar + 7, 5000, 40, 64), (2, 6 * bar + 7, 100000, 40, 64)]  # off the grid; too long
    sigs = ((0, 4, 4), (9 * bar + 100, 3, 4), (15 * bar, 7, 8), (15 * bar, 5, 8), (19 * bar, 12, 7))
    tempos = ((0, 120.0), (3 * bar, 140.0), (3 * bar + 1, 90.0), (12 * bar, 300.0), (14 * bar, 20.0))
    score = _score(notes, sigs, tempos)
    ids = BarTokenizer().encode(score)
    assert ids.dtype == np.int64
    assert ids.tolist() == _reference(score)
    assert L.REPEAT + 0 in ids and L.REPEAT + 1 in ids  # the riff one and two bars back
    assert BarTokenizer().encode(_score([])).shape == (0,)


def test_bar_lines_run_by_run_equal_bar_by_bar():
    from overworld.tokenizers.bars_encode import bar_lines

    bar = 4 * 480
    sigs = (
        (0, 4, 4),
        (2 * bar + 100, 3, 4),
        (3 * bar, 7, 8),
        (3 * bar, 5, 8),
        (9 * bar, 6, 8),
        (9 * bar + 5, 2, 2),
    )
    grid = _score([(0, 0, 1, 60, 100)], sigs).resample(STEPS_PER_QUARTER, min_dur=1)
    for end, at_least in [(-1, 0), (-1, 3), (0, 0), (47, 0), (48, 0), (600, 0), (600, 40), (5000, 2)]:
        starts, metres = bar_lines(grid, end, at_least)
        assert (starts.tolist(), metres.tolist()) == _reference_bar_lines(grid, end, at_least), (
            end,
            at_least,
        )


def _real_files(count: int) -> list[tuple[str, bytes]]:
    from overworld.midi.wad import read_music_lumps

    files = (
        [(p.name, p.read_bytes()) for p in sorted(OPENMSX.glob("*.mid"))[:count]] if OPENMSX.exists() else []
    )
    if (DOOM / "freedoom2.wad").exists():
        files += [(name, body) for name, body in read_music_lumps(DOOM / "freedoom2.wad")[:count]]
    return files


def test_real_files_encode_to_the_definitions_ids():
    files = _real_files(4)
    if not files:
        pytest.skip("Debian packages openttd-openmsx / freedoom not installed")
    tok = BarTokenizer()
    for name, body in files:
        score = load_score(body)
        assert tok.encode(score).tolist() == _reference(score), name


def test_the_array_encoder_is_much_faster_than_the_definition():
    rng = np.random.default_rng(0)
    riffs = [
        [(int(rng.integers(4)) * 480, 240, int(rng.integers(40, 90)), 100) for _ in range(12)]
        for _ in range(6)
    ]
    notes = [
        (inst, k * 1920 + o, d, p, v)
        for k in range(300)
        for inst in range(4)
        for (o, d, p, v) in riffs[int(rng.integers(len(riffs)))]
    ]
    score = _score(notes, tempos=[(k * 1920, 100.0 + k % 7) for k in range(300)])
    tok = BarTokenizer()

    def best(fn) -> float:
        times = []
        for _ in range(3):
            start = time.process_time()  # CPU time: other programs on the machine do not count
            fn(score)
            times.append(time.process_time() - start)
        return min(times)

    ours, reference = best(tok.encode), best(_reference)
    assert tok.encode(score).tolist() == _reference(score)
    assert reference / ours >= 25, f"{reference / ours:.1f}x"  # the first encoder: 5-15x


def test_parts_whose_hashes_collide_are_told_apart_note_by_note(monkeypatch):
    import overworld.tokenizers.bars_encode as bars_encode

    bar = 4 * 480
    notes = [(0, k * bar, 240, 60 + k % 3, 100) for k in range(9)]  # one note a bar: equal lengths
    score = _score(notes)
    want = _reference(score)
    monkeypatch.setattr(bars_encode, "_HASH", np.uint64(0))  # every part of one length hashes alike
    assert BarTokenizer().encode(score).tolist() == want
    assert want.count(L.REPEAT + 2) == 6  # C C# D, then REPEAT 3 six times
