"""The beat estimate finds the tempo and phase that music in seconds keeps, and writing with it puts the
notes on the MIDI file's beat grid."""

from __future__ import annotations

import numpy as np
import pytest
import symusic

from overworld.midi import write_score
from overworld.midi.tempo import MIN_FIT, align_to_beat, estimate_beat, with_beat

# one bar of a game-music groove, in sixteenths: kick/bass on beats, hats on eighths, a syncopated lead
PATTERN = [0, 2, 3, 4, 6, 8, 10, 11, 12, 14]


def _groove_onsets(qpm: float, offset: float, bars: int, jitter: float, seed: int = 0) -> np.ndarray:
    sixteenth = 60.0 / qpm / 4
    steps = np.array([bar * 16 + s for bar in range(bars) for s in PATTERN])
    noise = np.random.default_rng(seed).uniform(-jitter, jitter, len(steps))
    return offset + steps * sixteenth + noise


def _notes_per_onset(qpm: float, onsets: np.ndarray, offset: float) -> np.ndarray:
    """Two notes (kick and bass) on each beat, one elsewhere."""
    beats = (onsets - offset) / (60.0 / qpm)
    return np.where(np.abs(beats - np.rint(beats)) < 0.05, 2.0, 1.0)


@pytest.mark.parametrize("qpm,offset", [(137.0, 0.23), (92.5, 0.0), (171.0, 0.05)])
def test_estimate_finds_tempo_and_phase_of_a_jittered_groove(qpm, offset):
    onsets = _groove_onsets(qpm, offset, bars=12, jitter=0.004)
    grid = estimate_beat(onsets, _notes_per_onset(qpm, onsets, offset))
    assert grid is not None
    # a tempo and its double are both readings of the same music (half notes or quarters, quarters or
    # eighths): either is right, anything else is not
    octave = grid.qpm / qpm
    assert min(abs(octave - r) for r in (0.5, 1.0, 2.0)) < 0.001 * octave
    beat = grid.seconds_per_beat
    phase_error = (grid.offset - offset + beat / 2) % beat - beat / 2
    assert abs(phase_error) < 0.01
    assert grid.fit > 0.6 > MIN_FIT


def test_onsets_off_any_grid_fit_poorly_and_keep_no_tempo():
    onsets = np.sort(np.random.default_rng(1).uniform(0, 20, 200))
    grid = estimate_beat(onsets)
    assert grid is not None and grid.fit < MIN_FIT
    score = _score_in_seconds(onsets, 120.0, 0.0)
    assert len(align_to_beat(score).tempos) == 0  # no steady beat: no tempo is made up


def test_too_few_onsets_give_no_beat():
    assert estimate_beat([0.0, 0.5, 1.0]) is None


def _score_in_seconds(onsets: np.ndarray, qpm: float, offset: float) -> symusic.Score:
    score = symusic.Score(480, ttype="second")
    lead = symusic.Track(name="lead", program=80, ttype="second")
    bass = symusic.Track(name="bass", program=38, ttype="second")
    for i, (t, n) in enumerate(zip(onsets, _notes_per_onset(qpm, onsets, offset))):
        lead.notes.append(symusic.Note(float(t), 0.05, 60 + i % 5, 90, "second"))
        if n > 1:
            bass.notes.append(symusic.Note(float(t), 0.2, 36, 90, "second"))
    score.tracks.extend([lead, bass])
    return score


def test_written_with_its_beat_the_notes_sit_on_sixteenth_ticks(tmp_path):
    onsets = _groove_onsets(150.0, 0.13, bars=8, jitter=0.0)
    aligned = align_to_beat(_score_in_seconds(onsets, 150.0, 0.13))
    assert [round(float(t.qpm), 1) for t in aligned.tempos] == [150.0]
    back = symusic.Score(str(write_score(aligned, tmp_path / "g.mid")))
    ticks = np.array([n.time for n in back.tracks[0].notes]) * 480 // back.ticks_per_quarter
    assert np.all(ticks % 120 == 0)  # every onset on a sixteenth of the file's own grid
    assert ticks[0] == 0  # the groove's first beat is the file's first beat
    # the music itself is untouched: the same gaps between notes, in seconds
    seconds = np.array([n.time for n in back.to("second").tracks[0].notes])
    assert np.allclose(np.diff(seconds), np.diff(onsets), atol=1e-3)


@pytest.mark.parametrize("pickup", [0.0, 0.125, 1.3])
def test_with_beat_starts_the_first_note_within_a_beat_and_keeps_every_note(pickup):
    # the groove's beats at 1.3 s + k/2; a pickup note `pickup` seconds before the first beat
    onsets = _groove_onsets(120.0, 1.3, bars=4, jitter=0.0)
    score = _score_in_seconds(onsets, 120.0, 1.3)
    if pickup:
        score.tracks[0].notes.append(symusic.Note(1.3 - pickup, 0.05, 72, 90, "second"))
        score.tracks[0].notes.sort()
    grid = estimate_beat(onsets, _notes_per_onset(120.0, onsets, 1.3))
    out = with_beat(score, grid)
    assert out.note_num() == score.note_num()
    first = min(float(t.notes.numpy()["time"].min()) for t in out.tracks)
    assert first == pytest.approx((-pickup) % 0.5, abs=1e-6)  # leading silence over a beat goes


def test_a_score_with_a_tempo_is_left_as_it_is():
    score = _score_in_seconds(_groove_onsets(120.0, 0.0, bars=2, jitter=0.0), 120.0, 0.0)
    score.tempos.append(symusic.Tempo(0.0, 97.0, ttype="second"))
    assert align_to_beat(score) is score
