"""Levels and lengths of rendered audio: a render ends at the music's end plus at most 2 s of release,
both synths come out at one loudness (ITU-R BS.1770), and a decoded OGG never goes above full scale."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import soundfile
import symusic

from overworld.errors import OverworldError
from overworld.render import render
from overworld.render.audio import CEILING, TARGET_LUFS, loudness, write_audio
from overworld.render.soundfont import find_soundfont
from overworld.render.stems import render_stems

SR = 22050
SYNTHS = ["chiptune", "soundfont"]


def has_soundfont() -> bool:
    try:
        find_soundfont()
    except OverworldError:
        return False
    return shutil.which("fluidsynth") is not None


def ten_seconds() -> symusic.Score:
    """A piano lead (a note every half second), a bass (a note every 2 s) and a kit: the last note ends
    at 9.95 s."""
    score = symusic.Score(480, ttype="second")
    lead = symusic.Track(name="lead", program=0, is_drum=False, ttype="second")
    bass = symusic.Track(name="bass", program=33, is_drum=False, ttype="second")
    kit = symusic.Track(name="drums", program=0, is_drum=True, ttype="second")
    for i in range(20):
        lead.notes.append(symusic.Note(i * 0.5, 0.45, 60 + (i * 5) % 12, 90, "second"))
        kit.notes.append(symusic.Note(i * 0.5, 0.1, 36 if i % 2 == 0 else 38, 100, "second"))
    for i in range(5):
        bass.notes.append(symusic.Note(i * 2.0, 1.9, 36 + (i * 7) % 12, 90, "second"))
    score.tracks.extend([lead, bass, kit])
    return score


def noise_hits() -> symusic.Score:
    """Loud snare and hi-hat hits, 0.1 s apart: the chip's noise, which the Vorbis encoder overshoots."""
    score = symusic.Score(480, ttype="second")
    kit = symusic.Track(name="drums", program=0, is_drum=True, ttype="second")
    for i in range(40):
        kit.notes.append(symusic.Note(i * 0.1, 0.09, (38, 42, 36, 49)[i % 4], 127, "second"))
    score.tracks.append(kit)
    return score


def needs(synth: str) -> None:
    if synth == "soundfont" and not has_soundfont():
        pytest.skip("no fluidsynth or SoundFont installed")


@pytest.mark.parametrize("synth", SYNTHS)
def test_a_render_ends_within_two_seconds_of_the_last_note(synth):
    needs(synth)
    audio = render(ten_seconds(), synth=synth, sample_rate=SR)
    assert 9.95 <= len(audio) / SR <= 9.95 + 2.0


def test_both_synths_reach_one_loudness_without_going_over_the_ceiling():
    needs("soundfont")
    levels = {}
    for synth in SYNTHS:
        audio = render(ten_seconds(), synth=synth, sample_rate=SR)
        levels[synth] = loudness(audio, SR)
        assert np.abs(audio).max() <= CEILING + 1e-6
    assert abs(levels["chiptune"] - TARGET_LUFS) < 1.0, levels
    assert abs(levels["soundfont"] - TARGET_LUFS) < 1.0, levels
    assert abs(levels["chiptune"] - levels["soundfont"]) < 1.0, levels


def test_a_loud_piece_is_turned_down_and_a_quiet_one_up_to_the_target():
    """The same piece at velocity 127 and at 20 comes out at the same loudness."""
    levels = []
    for velocity in (127, 20):
        score = ten_seconds()
        for track in score.tracks:
            for note in track.notes:
                note.velocity = velocity
        levels.append(loudness(render(score, synth="chiptune", sample_rate=SR), SR))
    assert levels[0] == pytest.approx(TARGET_LUFS, abs=1.0) and levels[1] == pytest.approx(levels[0], abs=1.0)


@pytest.mark.parametrize("synth", SYNTHS)
def test_a_decoded_ogg_never_goes_above_full_scale(tmp_path, synth):
    needs(synth)
    for name, score in (("noise", noise_hits()), ("piece", ten_seconds())):
        path = render(score, tmp_path / f"{name}.ogg", synth=synth, sample_rate=SR)
        decoded, _ = soundfile.read(str(path), dtype="float32")
        assert np.abs(decoded).max() <= 1.0, (synth, name)


def test_write_audio_keeps_even_a_full_scale_noise_burst_inside_full_scale_in_ogg(tmp_path):
    rng = np.random.default_rng(0)
    burst = np.sign(rng.standard_normal(SR)).astype(np.float32)  # +-1, the worst case for the encoder
    decoded, _ = soundfile.read(str(write_audio(tmp_path / "burst.ogg", burst, SR)), dtype="float32")
    assert np.abs(decoded).max() <= 1.0


def test_stems_share_the_mixes_loudness_gain_and_still_sum_to_it():
    stems = render_stems(ten_seconds(), sample_rate=SR)
    mix = stems.mix
    assert loudness(mix, SR) == pytest.approx(TARGET_LUFS, abs=1.0)
    assert np.abs(mix).max() <= CEILING + 1e-6
    assert np.abs(stems.audio.sum(axis=0) - mix).max() < 1e-3
    assert 9.95 <= stems.audio.shape[1] / SR <= 9.95 + 2.0


def test_a_loop_keeps_its_exact_length():
    length = round(9.0 * SR)  # shorter than the music: cut, never trimmed or padded otherwise
    stems = render_stems(ten_seconds(), sample_rate=SR, length=length, loop_start=0)
    assert stems.audio.shape[1] == length
