"""Every class of bad MIDI input gets a one-line reason or a documented repair; writing gives proper SMF."""

from __future__ import annotations

import struct

import mido
import numpy as np
import pytest
import symusic

from overworld.errors import MidiError
from overworld.midi import load_score, write_score
from overworld.midi.load import repair_smf

from .pathological import CASES, good_midi


@pytest.mark.parametrize("name", sorted(CASES))
def test_each_pathological_case_is_kept_or_reported(name):
    data, outcome = CASES[name]
    if outcome == "ok":
        score = load_score(data)
        assert score.note_num() > 0
        assert str(score.ttype).lower().endswith("second")
    else:
        with pytest.raises(MidiError) as info:
            load_score(data)
        assert outcome in str(info.value)
        assert "\n" not in str(info.value)  # one line


def test_more_tracks_than_a_header_can_count_is_a_real_reason():
    # a header claiming 65,535 tracks, then 65,536 empty ones (12 bytes each, under 1 MB): the repair pass
    # used to leak struct's "'H' format requires 0 <= number <= 65535"
    empty = b"MTrk" + struct.pack(">I", 4) + b"\x00\xff\x2f\x00"
    data = b"MThd" + struct.pack(">IHHH", 6, 1, 0xFFFF, 480) + empty * 0x10000
    with pytest.raises(MidiError, match=r"^has 65,536 tracks; a MIDI file holds at most 65,535$"):
        load_score(data)


def test_smpte_division_keeps_real_seconds():
    # 25 fps x 40 ticks per frame = 1000 ticks a second; each note lasts 1000 ticks
    score = load_score(CASES["smpte_division.mid"][0])
    starts = sorted(n.time for t in score.tracks for n in t.notes)
    assert starts == pytest.approx([0.0, 1.0, 2.0], abs=1e-3)


def test_rmid_unwraps_to_the_same_notes_as_the_plain_file():
    wrapped = load_score(CASES["rmid_riff_wrapped.mid"][0])
    plain = load_score(good_midi((62, 65, 69)))
    assert [n.pitch for n in wrapped.tracks[0].notes] == [n.pitch for n in plain.tracks[0].notes]


def test_truncated_track_keeps_the_whole_events():
    score = load_score(CASES["truncated_track.mid"][0])
    assert [n.pitch for t in score.tracks for n in t.notes] == [60, 64]  # the third note was cut off


def test_repair_is_cheap_and_idempotent():
    data = good_midi()
    once = repair_smf(data)
    assert repair_smf(once) == once


def test_tempo_map_gives_real_seconds(tmp_path):
    # one beat at 120 bpm (0.5 s) then a tempo change to 60 bpm: the second note starts at 0.5 s, the third at 1.5 s
    from .pathological import smf, track, vlq

    events = b"\x00\xff\x51\x03\x07\xa1\x20" + b"\x00\xc0\x00"
    events += b"\x00\x90\x3c\x50" + vlq(480) + b"\x80\x3c\x00"
    events += b"\x00\xff\x51\x03\x0f\x42\x40"
    events += (
        b"\x00\x90\x3e\x50" + vlq(480) + b"\x80\x3e\x00" + b"\x00\x90\x40\x50" + vlq(480) + b"\x80\x40\x00"
    )
    score = load_score(smf([track(events + b"\x00\xff\x2f\x00")]))
    starts = [round(n.time, 3) for n in score.tracks[0].notes]
    assert starts == [0.0, 0.5, 1.5]


def _score_with(programs, drums=True):
    score = symusic.Score(480, ttype="second")
    for i, program in enumerate(programs):
        t = symusic.Track(name=f"p{program}", program=program, is_drum=False, ttype="second")
        t.notes.append(symusic.Note(i * 0.1, 0.5, 60 + i % 12, 90, "second"))
        score.tracks.append(t)
    if drums:
        d = symusic.Track(name="Drums", program=0, is_drum=True, ttype="second")
        d.notes.append(symusic.Note(0.0, 0.1, 36, 100, "second"))
        score.tracks.append(d)
    return score


def test_write_puts_drums_on_channel_10_and_closes_every_note(tmp_path):
    path = write_score(_score_with([0, 33, 80]), tmp_path / "x.mid")
    mid = mido.MidiFile(path)
    channels = {}
    for tr in mid.tracks:
        chans = {m.channel for m in tr if hasattr(m, "channel")}
        if chans:
            channels[tr.name] = chans
        sounding = set()
        for m in tr:
            if m.type == "note_on" and m.velocity > 0:
                sounding.add((m.channel, m.note))
            elif m.type in ("note_off", "note_on"):
                sounding.discard((m.channel, m.note))
        assert not sounding
    assert channels["Drums"] == {9}
    assert all(9 not in c for name, c in channels.items() if name != "Drums")
    programs = [m.program for tr in mid.tracks for m in tr if m.type == "program_change"]
    assert programs == [0, 33, 80]


def test_write_with_more_than_15_pitched_instruments_never_uses_channel_10(tmp_path):
    path = write_score(_score_with(list(range(20))), tmp_path / "many.mid")
    mid = mido.MidiFile(path)
    pitched = [m.channel for tr in mid.tracks if tr.name != "Drums" for m in tr if hasattr(m, "channel")]
    assert 9 not in pitched and len(set(pitched)) == 15
    back = load_score(path)
    assert sorted(t.program for t in back.tracks if not t.is_drum) == list(range(20))
    assert np.isclose(back.end(), 1.9 + 0.5, atol=0.01)


def test_write_keeps_the_tempo_map_and_time_signatures_so_bars_line_up(tmp_path):
    # 3/4 at 150 bpm, then 90 bpm from beat 2: the file must say so, and the notes keep their seconds
    score = symusic.Score(480)
    t = symusic.Track(name="p", program=5)
    for beat in range(4):
        t.notes.append(symusic.Note(beat * 480, 240, 60 + beat, 90))
    score.tracks.append(t)
    score.tempos.append(symusic.Tempo(0, 150.0))
    score.tempos.append(symusic.Tempo(960, 90.0))
    score.time_signatures.append(symusic.TimeSignature(0, 3, 4))
    path = write_score(score.to("second"), tmp_path / "tempo.mid")
    back = symusic.Score(str(path))
    assert [round(float(x.qpm), 2) for x in back.tempos] == [150.0, 90.0]
    assert [x.time * 480 // back.ticks_per_quarter for x in back.tempos] == [0, 960]
    assert [(x.numerator, x.denominator) for x in back.time_signatures] == [(3, 4)]
    assert [n.time * 480 // back.ticks_per_quarter for n in back.tracks[0].notes] == [0, 480, 960, 1440]
    seconds = [round(n.time, 4) for n in load_score(path).tracks[0].notes]
    assert seconds == [0.0, 0.4, 0.8, round(0.8 + 60 / 90, 4)]


def test_write_without_a_tempo_says_120_bpm_and_4_4(tmp_path):
    mid = mido.MidiFile(write_score(_score_with([0], drums=False), tmp_path / "plain.mid"))
    metas = [m for m in mid.tracks[0] if m.is_meta]
    assert [m.tempo for m in metas if m.type == "set_tempo"] == [500_000]
    assert [(m.numerator, m.denominator) for m in metas if m.type == "time_signature"] == [(4, 4)]
