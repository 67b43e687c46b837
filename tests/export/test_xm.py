"""compose --format xm: the module played by two real players. libxmp (through overworld's own module
loader) gives back every note of the MIDI at its row and pitch; openmpt123 renders it exactly the piece's
length and repeats exactly the loop."""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
import types

import pytest
import soundfile
import symusic

from overworld.export.xm import grid_for, write_xm, xm_note
from overworld.midi.modules import TICKS_PER_ROW, load_module


def _expected(piece) -> dict[int, list[tuple[int, int]]]:
    """(row, pitch) of every note, by instrument number (the score's tracks with notes, in order)."""
    grid = grid_for(piece)
    tracks = [t for t in piece.score.tracks if len(t.notes)]
    return {
        i: sorted(
            (n.time * grid.rows_per_beat // piece.score.ticks_per_quarter, xm_note(n.pitch) + 11)
            for n in track.notes
        )
        for i, track in enumerate(tracks, start=1)
    }


def _played(path) -> dict[int, list[tuple[int, int]]]:
    """(row, pitch) of every note libxmp plays, by the instrument number in its name (``chip tri #2``)."""
    out: dict[int, list[tuple[int, int]]] = {}
    for track in load_module(path).tracks:
        number = int(re.search(r"#(\d+)", track.name).group(1))
        out.setdefault(number, []).extend((n.time // TICKS_PER_ROW, n.pitch) for n in track.notes)
    return {k: sorted(v) for k, v in out.items()}


def test_libxmp_plays_every_note_of_the_midi_at_its_row_and_pitch(packs):
    for piece, folder in packs:  # 10 seeds
        assert _played(folder / "piece.xm") == _expected(piece), piece.seed
        assert sum(len(t.notes) for t in piece.score.tracks) > 0


def test_the_loop_is_the_restart_position(packs):
    for piece, folder in packs:
        data = (folder / "piece.xm").read_bytes()
        length, restart = struct.unpack_from("<HH", data, 64)
        assert (length, restart) == (piece.bars, piece.loop[0])  # one order a bar; the loop's first bar


def _render(path, repeat: int) -> int:
    subprocess.run(
        [
            "openmpt123",
            "--quiet",
            "--render",
            "--force",
            "--samplerate",
            "44100",
            "--channels",
            "1",
            "--repeat",
            str(repeat),
            "--ctl",
            "play.at_end=stop",
            str(path),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return soundfile.info(f"{path}.wav").frames


@pytest.mark.skipif(
    shutil.which("openmpt123") is None, reason="needs openmpt123 (apt-get install openmpt123)"
)
def test_openmpt_renders_the_pieces_length_and_repeats_the_loop(packs, tmp_path):
    for piece, folder in packs:  # 150 bpm: a tick is 735 samples at 44.1 kHz, so lengths are exact
        path = tmp_path / f"{piece.seed}.xm"
        shutil.copy(folder / "piece.xm", path)
        bar = round(piece.bar_seconds * 44100)
        assert _render(path, 0) == piece.bars * bar  # once through: the whole piece
        # each further repeat adds exactly the loop (libopenmpt ends a repeated render on the first row
        # of the song, so the difference of two repeat counts is what a repeat adds)
        assert _render(path, 2) - _render(path, 1) == (piece.loop[1] - piece.loop[0]) * bar


def _piece(notes, bpm=150.0):
    score = symusic.Score(480)
    track = symusic.Track(program=80)
    for time, duration, pitch in notes:
        track.notes.append(symusic.Note(time, duration, pitch, 100))
    score.tracks.append(track)
    return types.SimpleNamespace(score=score, bpm=bpm, bars=1, bar_ticks=1920, loop=None, seed=0)


def test_the_grid_is_the_fewest_rows_a_beat_that_hold_every_note():
    sixteenths = grid_for(_piece([(0, 120, 60), (360, 120, 62)]))
    assert (sixteenths.rows_per_beat, sixteenths.rows_per_bar, sixteenths.speed, sixteenths.tempo) == (
        4,
        16,
        6,
        150,
    )
    triplets = grid_for(_piece([(0, 160, 60), (160, 160, 62)]))  # eighth-note triplets: 6 rows a beat
    assert (triplets.rows_per_beat, triplets.speed, triplets.tempo) == (6, 4, 150)
    finest = grid_for(_piece([(0, 40, 60), (40, 80, 62)]))  # one step of the bar grid: 12 rows a beat
    assert (finest.rows_per_beat, finest.speed, finest.tempo) == (12, 2, 150)
    slow = grid_for(_piece([(0, 480, 60)], bpm=20.0))  # tempo 20 is under FT2's 32: a longer speed
    assert slow.tempo >= 32 and abs(slow.row_seconds() - 60 / 20 / 4) < 1e-9


def test_pitches_outside_the_xm_range_move_by_octaves(tmp_path):
    piece = _piece([(0, 480, 5), (480, 480, 60), (960, 480, 120)])
    write_xm(piece, tmp_path / "p.xm")
    assert [n.pitch for n in load_module(tmp_path / "p.xm").tracks[0].notes] == [17, 60, 108 - 12]
