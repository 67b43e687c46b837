"""The bar encoder's short ways (one metre, one tempo, one sort, hashes side by side) write exactly the ids
of the note-by-note definition in ``test_bars_speed.py``."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np

from overworld.tokenizers.bars import N_TEMPOS, TEMPO_MAX, TEMPO_MIN, BarTokenizer, Layout, tempo_bin

sys.path.insert(0, str(Path(__file__).parent))
from test_bars_speed import _reference, _score

L = Layout
BAR = 4 * 480  # ticks in a 4/4 bar at 480 a quarter


def test_tempo_bins_are_those_of_the_clipped_formula():
    ratio = (TEMPO_MAX / TEMPO_MIN) ** (1 / (N_TEMPOS - 1))
    edges = [TEMPO_MIN * ratio ** (b + 0.5) for b in range(N_TEMPOS)]  # halfway between two bins
    qpms = [0.0, -5.0, math.nan, 1e-9, 1.0, 39.9, 40.0, 120.0, 250.0, 250.1, 2000.0, 1e9, *edges]
    qpms += [np.nextafter(e, 0) for e in edges] + [np.nextafter(e, 1e9) for e in edges]
    qpms += np.random.default_rng(0).uniform(1, 400, 2000).tolist()

    def clipped(q: float) -> int:  # the formula as first written, with numpy's clip
        return int(np.clip(round(math.log(q / TEMPO_MIN) / math.log(ratio)), 0, N_TEMPOS - 1))

    for q in qpms:
        assert tempo_bin(q) == (clipped(q) if q > 0 else clipped(120.0)), q
        assert type(tempo_bin(q)) is int


def test_two_instruments_with_the_same_notes_never_repeat_each_other(monkeypatch):
    import overworld.tokenizers.bars_encode as bars_encode

    riff = [(0, 240, 60, 100), (480, 240, 64, 90)]
    notes = [(t, k * BAR + o, d, p, v) for k in range(6) for t in (0, 1, 2) for (o, d, p, v) in riff]
    notes += [(1, 7 * BAR, 240, 61, 100)]  # bar 7: the second instrument alone, then the riff again
    notes += [(t, 8 * BAR + o, d, p, v) for t in (0, 1) for (o, d, p, v) in riff]
    score = _score(notes)
    want = _reference(score)
    assert BarTokenizer().encode(score).tolist() == want
    assert want.count(L.REPEAT + 0) == 15 and want.count(L.REPEAT + 2) == 2  # bar 8: riffs 3 bars back
    monkeypatch.setattr(bars_encode, "_HASH", np.uint64(0))
    monkeypatch.setattr(bars_encode, "_SALT", np.uint64(0))  # every part of one length hashes alike
    assert BarTokenizer().encode(score).tolist() == want


def test_one_metre_and_one_tempo_take_the_short_ways():
    notes = [(0, k * 3 * 480 + 480 * (k % 3), 240, 60 + k % 5, 80) for k in range(20)]
    for sigs, tempos in [
        (((0, 3, 4),), ((2 * BAR, 150.0),)),  # one tempo from bar 2: 120 before it
        (((0, 3, 4),), ()),  # no tempo: 120 throughout
        ((), ((0, 90.0), (0, 90.0), (BAR, 90.01))),  # no metre (4/4); tempos of one bin
        (((0, 3, 4), (BAR, 3, 4)), ((BAR, 60.0), (BAR, 200.0))),  # a metre given twice; tempos at one tick
    ]:
        score = _score(notes, sigs, tempos)
        assert BarTokenizer().encode(score).tolist() == _reference(score), (sigs, tempos)


def test_made_up_pieces_encode_to_the_definitions_ids():
    rng = np.random.default_rng(25)
    pieces = 0
    for _ in range(40):
        riffs = [
            [
                (
                    int(rng.integers(8)) * 240,
                    int(rng.integers(1, 2000)),
                    int(rng.integers(30, 90)),
                    int(rng.integers(0, 128)),
                )
                for _ in range(int(rng.integers(1, 5)))
            ]
            for _ in range(3)
        ]
        notes = [
            (int(t), k * BAR + o, d, p, v)
            for k in range(int(rng.integers(1, 30)))
            for t in rng.choice([0, 1, 9], int(rng.integers(1, 4)), replace=False)
            for (o, d, p, v) in riffs[int(rng.integers(3))]
        ]
        sigs = [(0, 4, 4)] + [
            (int(rng.integers(0, 30 * BAR)), int(n), 4) for n in rng.integers(2, 7, rng.integers(0, 3))
        ]
        tempos = [
            (int(rng.integers(0, 30 * BAR)), float(rng.uniform(30, 300))) for _ in range(rng.integers(0, 4))
        ]
        score = _score(notes, sigs, tempos)
        assert BarTokenizer().encode(score).tolist() == _reference(score)
        pieces += 1
    assert pieces == 40
