"""Rendering: a C major scale sounds at its notes' frequencies, for as long as the MIDI; stealing; caps."""

from __future__ import annotations

import shutil
import struct

import numpy as np
import pytest
import symusic

from overworld.errors import OverworldError
from overworld.render import plot_curves, plot_pianoroll, render
from overworld.render.chiptune import ChipVoices, synthesize
from overworld.render.soundfont import find_soundfont

SCALE = [60, 62, 64, 65, 67, 69, 71, 72]
SR = 22050


def scale_score(program=80):
    """C major scale, C4 to C5, one note every half second, 0.45 s each."""
    score = symusic.Score(480, ttype="second")
    track = symusic.Track(name="lead", program=program, is_drum=False, ttype="second")
    for i, pitch in enumerate(SCALE):
        track.notes.append(symusic.Note(i * 0.5, 0.45, pitch, 100, "second"))
    score.tracks.append(track)
    return score


def peak_hz(segment, sr):
    spectrum = np.abs(np.fft.rfft(segment * np.hanning(len(segment)), n=1 << 16))
    freqs = np.fft.rfftfreq(1 << 16, 1 / sr)
    band = (freqs > 150) & (freqs < 1200)
    return freqs[band][np.argmax(spectrum[band])]


def has_soundfont():
    try:
        find_soundfont()
    except OverworldError:
        return False
    return shutil.which("fluidsynth") is not None


@pytest.mark.parametrize("synth,program", [("chiptune", 80), ("chiptune", 33), ("soundfont", 0)])
def test_scale_sounds_at_its_frequencies_for_as_long_as_the_midi(synth, program):
    if synth == "soundfont" and not has_soundfont():
        pytest.skip("no fluidsynth or SoundFont installed")
    audio = render(scale_score(program), synth=synth, sample_rate=SR)
    mono = audio if audio.ndim == 1 else audio.mean(axis=1)
    assert np.abs(mono).max() > 0.1 and np.abs(mono).max() <= 1.0
    sounding = np.flatnonzero(np.abs(mono) > 0.01)
    assert abs(sounding[-1] / SR - 4.0) < 0.5  # the MIDI lasts 3.95 s
    for i, pitch in enumerate(SCALE):
        segment = mono[int((i * 0.5 + 0.05) * SR) : int((i * 0.5 + 0.4) * SR)]
        expected = 440 * 2 ** ((pitch - 69) / 12)
        assert abs(peak_hz(segment, SR) - expected) / expected < 0.03, (synth, pitch)


def test_ten_simultaneous_notes_steal_voices_and_do_not_clip():
    score = symusic.Score(480, ttype="second")
    track = symusic.Track(name="pad", program=0, is_drum=False, ttype="second")
    for i in range(10):
        track.notes.append(symusic.Note(0.0, 1.0, 50 + 3 * i, 127, "second"))
    score.tracks.append(track)
    audio, report = synthesize(score, SR, voices=ChipVoices.nes())
    assert report.stolen == 8  # two pulse voices for ten notes
    assert np.abs(audio).max() <= 1.0
    audio, report = synthesize(score, SR)
    assert report.stolen == 4  # six pulse voices


def test_a_note_that_never_ends_renders_to_the_cap(tmp_path):
    score = symusic.Score(480, ttype="second")
    track = symusic.Track(name="drone", program=80, is_drum=False, ttype="second")
    track.notes.append(symusic.Note(0.0, 100000.0, 60, 100, "second"))  # 28 hours
    score.tracks.append(track)
    out = render(score, tmp_path / "drone.wav", synth="chiptune", sample_rate=8000, max_seconds=3.0)
    import soundfile

    info = soundfile.info(str(out))
    assert info.duration == pytest.approx(3.0, abs=0.01)


def test_drums_are_noise_and_formats_follow_the_extension(tmp_path, c_major_score):
    import soundfile

    for ext in (".wav", ".flac", ".ogg"):
        path = render(c_major_score, tmp_path / f"x{ext}", synth="chiptune", sample_rate=SR)
        assert soundfile.info(str(path)).format == {".wav": "WAV", ".flac": "FLAC", ".ogg": "OGG"}[ext]
    with pytest.raises(OverworldError, match=r"use \.wav"):
        render(c_major_score, tmp_path / "x.mp3", synth="chiptune")


def png_size(path):
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def test_plots_are_pngs_of_the_expected_size(tmp_path, c_major_score):
    assert png_size(plot_pianoroll(c_major_score, tmp_path / "roll.png", width=8, height=4, dpi=50)) == (
        400,
        200,
    )
    run = tmp_path / "run"
    run.mkdir()
    (run / "metrics.csv").write_text(
        "step,train_loss,train_accuracy,val_loss,val_accuracy\n1,5.0,0.1,,\n"
        "2,4.0,0.2,4.5,0.15\n3,3.5,0.3,,\n4,3.0,0.35,3.9,0.2\n"
    )
    assert png_size(plot_curves(run, tmp_path / "curves.png", width=10, height=4, dpi=40)) == (400, 160)


def test_overworld_render_renders_before_and_after_the_render_package_is_imported(tmp_path):
    import symusic

    import overworld
    import overworld.render as package

    score = symusic.Score(480)
    track = symusic.Track(program=80)
    track.notes.append(symusic.Note(0, 480, 69, 100))
    score.tracks.append(track)
    for n in range(2):  # the second call finds the package bound to overworld.render
        out = overworld.render(score, tmp_path / f"{n}.wav", synth="chiptune", sample_rate=8000)
        assert out.exists() and out.stat().st_size > 1000
    assert callable(package)
