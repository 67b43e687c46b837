"""Stems sum to the mix, share one length, and a loop folds its tails onto its start; console voices; Vorbis
loop comments that libsndfile and our reader read back."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile
import symusic

from overworld.errors import ConfigError
from overworld.render.audio import CEILING, TARGET_LUFS, loudness, write_audio
from overworld.render.chiptune import synthesize_tracks
from overworld.render.consoles import CONSOLES, console
from overworld.render.stems import fold_loop, render_stems, seam
from overworld.render.vorbis_comments import add_comments, read_comments

SR = 8000


def _score(bpm: float = 120.0) -> symusic.Score:
    """Two bars at 120 bpm: a square lead, a bass and a kick; the lead's last note rings to the bar line."""
    score = symusic.Score(480)
    score.tempos.append(symusic.Tempo(0, bpm))
    lead, bass, kit = (
        symusic.Track(name="Lead 1 (square)", program=80),
        symusic.Track(program=38),
        symusic.Track(is_drum=True),
    )
    for beat in range(8):
        lead.notes.append(symusic.Note(beat * 480, 480, 62 + beat % 5, 100))  # D4 and up, one a beat
        kit.notes.append(symusic.Note(beat * 480, 120, 36, 110))
    bass.notes.append(symusic.Note(0, 3840, 38, 90))  # D2 held both bars
    score.tracks.extend([lead, bass, kit])
    return score


def test_stems_have_one_length_and_sum_to_the_mix():
    stems = render_stems(_score(), sample_rate=SR)
    assert stems.audio.shape[0] == 3 and stems.names == ("01-lead-1-square", "02-synth-bass-1", "03-drums")
    assert np.abs(stems.audio.sum(axis=0) - stems.mix).max() < 1e-6
    # one shared gain, the mix's: at the target loudness, or at the ceiling when the target would clip
    peak, level = np.abs(stems.mix).max(), loudness(stems.mix, SR)
    assert peak <= CEILING + 1e-6 and (abs(level - TARGET_LUFS) < 0.1 or peak > CEILING - 1e-3)


def test_a_loop_is_exactly_its_length_and_its_tails_wrap_onto_the_start():
    length = 2 * 2 * SR  # two 4/4 bars at 120 bpm: 4 s
    free = render_stems(_score(), sample_rate=SR)
    loop = render_stems(_score(), sample_rate=SR, length=length, loop_start=0)
    assert loop.audio.shape[1] == length
    raw = free.audio / free.gain
    tail = raw[:, length:]
    assert np.abs(tail).max() > 0  # release tails past the loop's end...
    start = loop.audio[:, : tail.shape[1]] / loop.gain
    np.testing.assert_allclose(start, raw[:, : tail.shape[1]] + tail, atol=1e-5)  # ...land on its start
    joint = seam(loop.mix)
    assert joint.clickless and joint.jump <= 3 * joint.mean_step  # the jump back is an ordinary step


def test_fold_wraps_round_a_loop_shorter_than_the_tail():
    audio = np.ones(10)
    assert fold_loop(audio, 6, 4).tolist() == [1, 1, 1, 1, 3, 3]  # samples 6-9 land on 4, 5, 4, 5


def test_console_voices_limit_the_chip():
    nes = console("nes")
    assert nes.instruments == (38, 80, 81, 128) and nes.polyphony == 4
    chord = symusic.Score(480)
    chord.tempos.append(symusic.Tempo(0, 120.0))
    track = symusic.Track(program=80)
    for pitch in (60, 64, 67):  # a triad on a chip with two pulse channels
        track.notes.append(symusic.Note(0, 960, pitch, 100))
    chord.tracks.append(track)
    _, report = synthesize_tracks(chord.to("second"), SR, voices=nes.voices, voice=nes.voice)
    assert report.stolen == 1
    _, free = synthesize_tracks(chord.to("second"), SR)
    assert free.stolen == 0


@pytest.mark.parametrize("name", list(CONSOLES))
def test_every_console_renders_its_line_up(name):
    machine = CONSOLES[name]
    score = symusic.Score(480)
    score.tempos.append(symusic.Tempo(0, 120.0))
    for program in machine.instruments:
        track = symusic.Track(program=0 if program == 128 else program, is_drum=program == 128)
        track.notes.append(symusic.Note(0, 480, 38 if program == 128 else 60, 100))
        score.tracks.append(track)
    stems = render_stems(score, sample_rate=SR, console=machine)
    assert len(stems.names) == len(machine.instruments) and np.all(np.abs(stems.audio).max(axis=1) > 0)


def test_a_consoles_stems_are_named_by_its_channels():
    machine = CONSOLES["nes"]
    score = symusic.Score(480)
    for program, is_drum in ((80, False), (81, False), (38, False), (0, True)):
        track = symusic.Track(program=program, is_drum=is_drum)
        track.notes.append(symusic.Note(0, 480, 40 if is_drum else 60, 100))
        score.tracks.append(track)
    stems = render_stems(score, sample_rate=SR, console=machine)
    assert stems.names == ("pulse-1", "pulse-2", "triangle", "noise")  # not 01-lead-1-square ...
    assert CONSOLES["gameboy"].channels[38] == "wave" and CONSOLES["snes"].channels[33] == "sample-2"


def test_an_unknown_console_lists_the_known_ones():
    with pytest.raises(ConfigError, match="nes, gameboy, snes, genesis"):
        console("atari")


@pytest.mark.parametrize("comment_bytes", [10, 70_000])  # the second rewrites the header onto more pages
def test_loop_comments_are_written_into_ogg_and_read_back(tmp_path, comment_bytes):
    audio = (0.3 * np.sin(np.arange(3 * SR) * 0.05)).astype(np.float32)
    path = write_audio(tmp_path / "loop.ogg", audio, SR)
    add_comments(path, {"LOOPSTART": 800, "LOOPLENGTH": 16000, "TITLE": "x" * comment_bytes})
    comments = read_comments(path)
    assert comments["LOOPSTART"] == "800" and comments["LOOPLENGTH"] == "16000"
    assert len(comments["TITLE"]) == comment_bytes
    back, rate = soundfile.read(path, dtype="float32")  # libsndfile checks every page's CRC
    assert rate == SR and len(back) == len(audio)
