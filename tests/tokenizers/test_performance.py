"""The performance vocabulary: layout, round trips on scores built in code, augmentation, save/load."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
import symusic

from overworld.tokenizers import load_tokenizer, make_tokenizer
from overworld.tokenizers import vocab as V


def notes_of(score):
    """(instrument, pitch, onset in 10 ms steps, velocity bin) of every note; drums are instrument 128."""
    out = []
    for t in score.tracks:
        for n in t.notes:
            out.append((128 if t.is_drum else t.program, n.pitch, round(n.time * 100), n.velocity // 4))
    return Counter(out)


def build(tracks, ttype="second"):
    score = symusic.Score(480, ttype=ttype)
    for program, drum, notes in tracks:
        t = symusic.Track(name="t", program=program, is_drum=drum, ttype=ttype)
        for start, dur, pitch, vel in notes:
            t.notes.append(symusic.Note(start, dur, pitch, vel, ttype))
        score.tracks.append(t)
    return score


def test_layout_is_contiguous_and_named():
    assert V.VOCAB_SIZE == 520
    assert V.describe_token(V.NOTE_ON_OFFSET + 60) == "NOTE_ON(60)"
    assert V.describe_token(V.TIME_SHIFT_OFFSET + 99) == "TIME_SHIFT(1000ms)"
    assert V.describe_token(V.INSTRUMENT_OFFSET + 128) == "INSTRUMENT(drums)"
    with pytest.raises(ValueError):
        V.describe_token(V.VOCAB_SIZE)


def test_round_trip_keeps_instrument_pitch_onset_and_velocity_bin(c_major_score):
    tok = make_tokenizer("performance")
    ids = tok.encode(c_major_score)
    back = tok.decode(ids)
    assert notes_of(back) == notes_of(c_major_score)
    assert {t.name for t in back.tracks} == {"Acoustic Grand Piano", "Drums"}
    assert [t.is_drum for t in back.tracks] == [False, True]  # drums distinct from program 0


def test_hard_cases_round_trip():
    tok = make_tokenizer("performance")
    score = build(
        [
            (33, False, [(0.0, 2.5, 40, 100), (3.7, 0.0, 41, 3)]),  # a note over 1 s, a zero-length note
            (
                80,
                False,
                [(0.0, 0.5, 72, 60), (0.25, 0.5, 72, 61), (12.34, 0.2, 127, 127)],
            ),  # overlap, 12 s gap
            (0, True, [(0.0, 0.1, 36, 120), (0.005, 0.1, 38, 90)]),  # drums, 5 ms apart
        ]
    )
    back = tok.decode(tok.encode(score))
    assert notes_of(back) == notes_of(score)
    durations = sorted(round(n.duration, 2) for t in back.tracks for n in t.notes if t.program == 33)
    assert durations == [0.01, 2.5]


def test_tempo_changes_are_honoured_in_ticks():
    tok = make_tokenizer("performance")
    score = build([(0, False, [(0, 480, 60, 80), (960, 480, 62, 80)])], ttype="tick")
    score.tempos.append(symusic.Tempo(time=0, qpm=120.0, ttype="tick"))
    score.tempos.append(symusic.Tempo(time=480, qpm=60.0, ttype="tick"))
    ids = tok.encode(score)
    assert tok.seconds(ids) == pytest.approx(0.5 + 1.0 + 1.0)  # beat 1 at 120 bpm, then 60 bpm


def test_note_off_belongs_to_the_current_instrument():
    tok = make_tokenizer("performance")
    INST, ON, OFF, TS = V.INSTRUMENT_OFFSET, V.NOTE_ON_OFFSET, V.NOTE_OFF_OFFSET, V.TIME_SHIFT_OFFSET
    ids = [INST + 5, ON + 60, INST + 9, ON + 60, TS + 9, OFF + 60, TS + 9, INST + 5, OFF + 60]
    score = tok.decode(ids)
    lengths = {t.program: round(t.notes[0].duration, 2) for t in score.tracks}
    assert lengths == {5: 0.2, 9: 0.1}


def test_orphan_note_off_is_ignored_and_open_notes_are_closed():
    tok = make_tokenizer("performance")
    ids = [V.NOTE_OFF_OFFSET + 50, V.NOTE_ON_OFFSET + 60, V.TIME_SHIFT_OFFSET + 49]
    score = tok.decode(ids)
    assert score.note_num() == 1 and score.tracks[0].notes[0].duration == pytest.approx(0.5)


def test_augment_transposes_pitched_notes_only_and_stretches_time(c_major_score):
    tok = make_tokenizer("performance")
    ids = tok.encode(c_major_score)
    up = tok.decode(tok.augment(ids, transpose=3))
    pitched = sorted(n.pitch for t in up.tracks if not t.is_drum for n in t.notes)
    drums = sorted(n.pitch for t in up.tracks if t.is_drum for n in t.notes)
    assert pitched == [p + 3 for p in [60, 62, 64, 65, 67, 69, 71, 72]]
    assert drums == [36] * 8
    slow = tok.augment(ids, stretch=1.1)
    assert tok.seconds(slow) == pytest.approx(tok.seconds(ids) * 1.1, abs=0.011)
    assert tok.count_notes(slow) == tok.count_notes(ids) == 16


def test_augment_drops_notes_pushed_out_of_range_on_and_off_together():
    tok = make_tokenizer("performance")
    score = build([(0, False, [(0, 0.5, 126, 80), (0.5, 0.5, 60, 80)])])
    ids = tok.augment(tok.encode(score), transpose=5)
    assert tok.count_notes(ids) == 1
    assert int(np.sum((ids >= V.NOTE_OFF_OFFSET) & (ids < V.VELOCITY_OFFSET))) == 1


def test_save_and_load_give_identical_ids(tmp_path, c_major_score):
    tok = make_tokenizer("performance", max_note_seconds=12)
    path = tok.save(tmp_path)
    again = load_tokenizer(path)
    assert again.to_dict() == tok.to_dict()
    assert np.array_equal(again.encode(c_major_score), tok.encode(c_major_score))
