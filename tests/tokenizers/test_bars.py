"""The bar tokenizer: exact round trips on its grid, one token for a repeated part, bars from the metre."""

from __future__ import annotations

import numpy as np
import pytest
import symusic

from overworld.tokenizers import load_tokenizer, make_tokenizer
from overworld.tokenizers.bars import DURATIONS, BarTokenizer, describe_token
from overworld.tokenizers.bars import Layout as L

TPQ = 480


def _score(bars: list[list[tuple[int, int, int]]], *, sig=(4, 4), qpm=120.0, drums=None) -> symusic.Score:
    """A piano part from ``bars``: each bar a list of (sixteenth, pitch, sixteenths long)."""
    score = symusic.Score(TPQ)
    score.time_signatures.append(symusic.TimeSignature(0, *sig))
    score.tempos.append(symusic.Tempo(0, qpm))
    bar_ticks = sig[0] * 4 * TPQ // sig[1]
    track = symusic.Track(program=0)
    for b, notes in enumerate(bars):
        for six, pitch, length in notes:
            track.notes.append(symusic.Note(b * bar_ticks + six * TPQ // 4, length * TPQ // 4, pitch, 100))
    score.tracks.append(track)
    if drums:
        kit = symusic.Track(is_drum=True)
        for b in range(len(bars)):
            for six in drums:
                kit.notes.append(symusic.Note(b * bar_ticks + six * TPQ // 4, TPQ // 4, 36, 90))
        score.tracks.append(kit)
    return score


def _notes(score: symusic.Score) -> list[tuple]:
    return sorted(
        (t.is_drum, t.program, n.time, n.duration, n.pitch, n.velocity // 8)
        for t in score.tracks
        for n in t.notes
    )


def test_round_trip_keeps_every_note_on_the_grid():
    rng = np.random.default_rng(0)
    bars = [
        [
            (int(s), int(p), int(d))
            for s, p, d in zip(rng.integers(0, 16, 6), rng.integers(40, 90, 6), rng.choice([1, 2, 4], 6))
        ]
        for _ in range(8)
    ]
    score = _score(bars, drums=[0, 4, 8, 12])
    tok = BarTokenizer()
    back = tok.decode(tok.encode(score))
    # duplicates at one position and pitch collapse to one note, so compare sets
    assert set(_notes(back)) == set(_notes(score))
    assert back.tempos[0].qpm == pytest.approx(120.0, rel=0.04)


def test_a_repeated_bar_is_one_token_per_part():
    riff = [(0, 60, 2), (4, 64, 2), (8, 67, 2), (12, 72, 4)]
    tok = BarTokenizer()
    ids = tok.encode(_score([riff, riff, riff, [(0, 48, 16)], riff], drums=[0, 8]))
    names = [describe_token(int(t)) for t in ids]
    assert names.count("REPEAT(1)") == 2 + 4  # piano bars 2, 3; drums bars 2-5
    assert "REPEAT(2)" in names  # the riff in bar 5 repeats the nearest riff, bar 3
    back = tok.decode(ids)
    assert len(back.tracks[0].notes) == 4 * 4 + 1


def test_bars_follow_the_time_signature():
    waltz = [[(0, 50, 4), (4, 54, 4), (8, 57, 4)]] * 4  # three beats a bar
    tok = BarTokenizer()
    ids = tok.encode(_score(waltz, sig=(3, 4)))
    assert int((ids == L.BAR).sum()) == 4
    assert "TIMESIG(3/4)" in [describe_token(int(t)) for t in ids]
    assert tok.seconds(ids) == pytest.approx(4 * 3 * 0.5, rel=0.05)  # four bars of three beats at 120


def test_augment_transposes_pitched_parts_and_leaves_drums():
    tok = BarTokenizer()
    ids = tok.encode(_score([[(0, 60, 4)], [(0, 62, 4)]], drums=[0]))
    up = tok.decode(tok.augment(ids, transpose=3))
    piano = [n.pitch for t in up.tracks if not t.is_drum for n in t.notes]
    kit = [n.pitch for t in up.tracks if t.is_drum for n in t.notes]
    assert piano == [63, 65] and kit == [36, 36]
    assert tok.augment(ids, stretch=1.0).tolist() == ids.tolist()


def test_long_notes_take_the_longest_duration_bin_and_registry_rebuilds_it():
    tok = make_tokenizer("bars")
    ids = tok.encode(_score([[(0, 60, 64)]]))  # four bars long
    assert describe_token(int(ids[-1])) == f"DUR({DURATIONS[-1]})"
    again = load_tokenizer(tok.to_dict())
    assert isinstance(again, BarTokenizer) and again.vocab_size == tok.vocab_size == L.SIZE
