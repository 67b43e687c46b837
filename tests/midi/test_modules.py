"""Tracker modules: a ProTracker module built here plays into the notes, times, velocities and instruments its
pattern says; damaged modules are one-line MidiErrors; prepare takes modules beside MIDI files."""

from __future__ import annotations

import json
import struct
import sys
from pathlib import Path

import pytest

from overworld.config import DataConfig
from overworld.data.prepare import find_midi_files, prepare
from overworld.errors import MidiError
from overworld.midi import load_score, write_score
from overworld.midi.modules import TICKS_PER_ROW, TPQ, gm_program_for, is_module, load_module

sys.path.insert(0, str(Path(__file__).parent))
from pathological import good_midi

# ProTracker periods: C-1 856, C-2 428 (module key 60, MIDI 60), D-2 381, G-2 285, C-3 214
C1, C2, D2, G2, C3 = 856, 428, 381, 285, 214
# (name, length in words, default volume, loop start, loop length in words; a loop of 1 word: no loop)
BASS = ("bass", 64, 64, 0, 64)  # looped: sounds until something stops it
KICK = ("kick", 100, 48, 0, 1)  # one-shot of 200 samples: about 24 ms at C-2


def protracker_module(cells, samples=(BASS, KICK), orders=(0,)) -> bytes:
    """A 4-channel M.K. module; ``cells`` {pattern: [(row, channel, sample, period, effect, param)]}."""
    out = bytearray(b"test module".ljust(20, b"\0"))
    for i in range(31):
        name, words, volume, loop_start, loop_len = samples[i] if i < len(samples) else ("", 0, 0, 0, 1)
        out += name.encode().ljust(22, b"\0") + struct.pack(">HBBHH", words, 0, volume, loop_start, loop_len)
    out += bytes([len(orders), 127]) + bytes(orders).ljust(128, b"\0") + b"M.K."
    for pattern in range(max(orders) + 1):
        rows = [[b"\0\0\0\0"] * 4 for _ in range(64)]
        for row, ch, smp, period, fx, param in cells.get(pattern, ()):
            rows[row][ch] = bytes([(smp & 0xF0) | period >> 8, period & 0xFF, (smp & 0x0F) << 4 | fx, param])
        out += b"".join(b"".join(r) for r in rows)
    for _name, words, *_ in samples:
        out += bytes(2 * words)
    return bytes(out)


# Speed 3 at 125 bpm: a row lasts 3 x 2.5 / 125 = 0.06 s; from row 16, 150 bpm: 0.05 s. The song breaks back
# to its start after row 31, so it is 32 rows long: 16 x 0.06 + 16 x 0.05 = 1.76 s.
SONG = {
    0: [
        (0, 0, 1, C2, 0xF, 3),  # bass C-2, speed 3
        (0, 1, 2, C2, 0xC, 32),  # kick at volume 32
        (4, 0, 1, C1, 0, 0),  # bass C-1 ends the C-2
        (8, 0, 1, C3, 0xE, 0xC1),  # bass C-3, cut after 1 of the row's 3 frames
        (12, 0, 1, G2, 0xC, 48),  # bass G-2 at volume 48 ...
        (16, 1, 2, C2, 0xF, 150),  # kick at its default volume 48; tempo 150 bpm
        (20, 0, 0, 0, 0xC, 0),  # ... silenced by volume 0 on row 20
        (24, 2, 1, D2, 0xE, 0xD1),  # bass D-2 on channel 2, delayed 1 frame; sounds to the end
        (31, 3, 0, 0, 0xD, 0),  # pattern break: back to the start, the song's end
    ]
}
ROW_S = 0.06
ROW_S_150 = 0.05


def _notes(track):
    return [(n.time, n.duration, n.pitch, n.velocity) for n in track.notes]


def test_a_module_plays_its_pattern_in_ticks_with_a_tempo_map():
    score = load_module(protracker_module(SONG))
    assert score.tpq == TPQ and TICKS_PER_ROW == TPQ // 4 and str(score.ttype).endswith("Tick")
    assert [(t.time, round(t.qpm, 3)) for t in score.tempos] == [
        (0, 250.0),
        (16 * 120, 300.0),
    ]  # 60 / (4 row)
    assert [(ts.time, ts.numerator, ts.denominator) for ts in score.time_signatures] == [(0, 4, 4)]
    bass, kick = score.tracks
    assert (bass.name, bass.program, bass.is_drum) == ("bass", 33, False)  # Electric Bass (finger)
    assert (kick.name, kick.is_drum) == ("kick", True)
    assert _notes(bass) == [
        (0, 480, 60, 127),  # C-2 for 4 rows, full default volume
        (480, 480, 48, 127),  # C-1 until the next note
        (960, 40, 72, 127),  # C-3 cut one frame (a third of a row) in
        (1440, 960, 67, 95),  # G-2 at 48/64 of full volume, until row 20
        (24 * 120 + 40, 8 * 120 - 40, 62, 127),  # D-2 a frame into row 24, to the end of the song
    ]
    # the kick is a GM kick (36); the one-shot sample runs out within its row
    assert [(n.time, n.pitch, n.velocity) for n in kick.notes] == [(0, 36, 64), (1920, 36, 95)]
    assert all(0 < n.duration < TICKS_PER_ROW for n in kick.notes)


def test_load_score_reads_a_module_in_seconds_by_content_or_by_name(tmp_path):
    data = protracker_module(SONG)
    (tmp_path / "song.MOD").write_bytes(data)
    for source in (data, tmp_path / "song.MOD", str(tmp_path / "song.MOD")):
        score = load_score(source)
        bass = score.tracks[0]
        starts = [n.time for n in bass.notes]
        expected = [0, 4 * ROW_S, 8 * ROW_S, 12 * ROW_S, 16 * ROW_S + 8 * ROW_S_150 + ROW_S_150 / 3]
        assert starts == pytest.approx(expected, abs=1e-4)
        ends = [n.time + n.duration for n in bass.notes]
        assert ends[3] == pytest.approx(16 * ROW_S + 4 * ROW_S_150, abs=1e-4)  # G-2 silenced on row 20
        assert ends[4] == pytest.approx(1.76, abs=1e-4) and score.end() == pytest.approx(1.76, abs=1e-4)
    assert str(load_score(data, ttype="tick").ttype).endswith("Tick")


def test_the_round_trip_through_midi_keeps_the_notes(tmp_path):
    score = load_score(protracker_module(SONG))
    back = load_score(write_score(score, tmp_path / "song.mid"))
    for a, b in zip(score.tracks, back.tracks, strict=True):
        assert (a.program, a.is_drum) == (b.program, b.is_drum)
        assert [(n.pitch, n.velocity) for n in a.notes] == [(n.pitch, n.velocity) for n in b.notes]
        assert [n.time for n in a.notes] == pytest.approx([n.time for n in b.notes], abs=2e-3)
        assert [n.duration for n in a.notes] == pytest.approx([n.duration for n in b.notes], abs=2e-3)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty file"),
        (b"x" * 3000, "not a MOD, XM, S3M or IT module"),
        (protracker_module(SONG)[:600], "not a MOD, XM, S3M or IT module"),  # cut inside the sample table
        (b"Extended Module: " + bytes(100), "damaged module"),
        (b"IMPM" + b"\xff" * 200, "damaged module"),
        (protracker_module({}), "no notes"),
        (protracker_module(SONG)[:1084], "no notes"),  # the header and no pattern
    ],
    ids=[
        "empty",
        "garbage",
        "cut_in_sample_table",
        "xm_header_only",
        "it_header_only",
        "no_notes",
        "no_patterns",
    ],
)
def test_damaged_modules_raise_a_one_line_midi_error(data, reason):
    with pytest.raises(MidiError, match=reason) as info:
        load_module(data)
    assert "\n" not in str(info.value)


def test_a_module_longer_than_max_seconds_is_rejected():
    with pytest.raises(MidiError, match="longer than"):
        load_module(protracker_module(SONG), max_seconds=1.0)


def test_modules_are_known_by_their_signatures():
    assert is_module(protracker_module(SONG))
    assert is_module(b"Extended Module: x") and is_module(b"IMPM" + bytes(60))
    assert is_module(bytes(44) + b"SCRM")
    assert not is_module(good_midi((60,))) and not is_module(b"x" * 2000)


@pytest.mark.parametrize(
    ("name", "pitches", "durations", "expected"),
    [
        ("kick", [60], [0.1], (0, True, 36)),
        ("MiniBassDrum", [60, 62], [0.1, 0.1], (0, True, 36)),  # a bass drum, not a bass
        ("707 snaredrum", [60], [0.1], (0, True, 38)),
        ("closed hihat", [72], [0.05], (0, True, 42)),
        ("open hat", [72], [0.05], (0, True, 46)),
        ("CrashCymbal", [60], [1.0], (0, True, 49)),
        ("tom low", [50], [0.2], (0, True, 41)),
        ("drums", [40, 40, 41], [0.1] * 3, (0, True, 36)),  # a drum by name, a kick by register
        ("ChipBass.looped", [36, 40, 43], [0.2] * 3, (33, False, None)),
        ("Bassoon", [50, 52], [0.5, 0.5], (70, False, None)),
        ("string-piano:timelord", [60, 64, 67], [1.0] * 3, (0, False, None)),
        ("deep-strings", [48, 55], [2.0, 2.0], (48, False, None)),
        ("I Have No Tomatoes", [60, 64, 67, 72], [0.3] * 4, (81, False, None)),  # no tom in "tomatoes"
        ("", [60, 60, 60, 60], [0.1] * 4, (0, True, 38)),  # one pitch, short notes: a drum
        ("", [72, 72], [0.05, 0.05], (0, True, 42)),  # ... high: a hi-hat
        ("", [36, 38, 40, 43], [0.2] * 4, (38, False, None)),  # low: Synth Bass 1
        ("", [74, 76, 79, 81], [0.2] * 4, (80, False, None)),  # high: Lead 1 (square)
        ("by somebody", [60, 64, 67], [2.0] * 3, (89, False, None)),  # middle, long: Pad 2 (warm)
        ("", [60, 64, 67], [0.2] * 3, (81, False, None)),  # middle, short: Lead 2 (sawtooth)
    ],
)
def test_gm_program_for(name, pitches, durations, expected):
    mapping = gm_program_for(name, pitches, durations)
    assert (mapping.program, mapping.is_drum, mapping.drum_key) == expected and mapping.reason


def test_prepare_takes_modules_beside_midi_files_and_reports_a_bad_one(tmp_path):
    folder = tmp_path / "in"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / "song.MOD").write_bytes(protracker_module(SONG))
    (folder / "broken.xm").write_bytes(b"Extended Module: " + bytes(100))
    (folder / "tune.mid").write_bytes(good_midi((60, 64, 67)))
    (folder / "notes.txt").write_text("not music")
    assert [Path(p).name for p, _ in find_midi_files([folder])] == ["broken.xm", "song.MOD", "tune.mid"]
    report = prepare([folder], tmp_path / "out", DataConfig(workers=1))
    assert report.files_ok == 2 and report.files_failed == 1
    assert report.failures == [
        {"path": str(folder / "broken.xm"), "reason": "damaged module (libxmp could not load it)"}
    ]
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    by_name = {Path(f["path"]).name: f for f in manifest["files"]}
    assert set(by_name) == {"song.MOD", "tune.mid"}
    assert by_name["song.MOD"]["notes"] == 7 and by_name["song.MOD"]["seconds"] == pytest.approx(
        1.76, abs=1e-3
    )
