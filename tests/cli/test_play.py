"""``overworld play``: it records a WAV and a MIDI file, reads the intensity from stdin, plays into a
virtual MIDI port where the system has one, and refuses bad values in one line before the model loads."""

from __future__ import annotations

import io
import threading

import mido
import pytest
import soundfile

from live.tiny import saved_model
from overworld.cli import main
from overworld.live import LiveConfig, LiveMusic
from overworld.live.player import Controls


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return saved_model(tmp_path_factory.mktemp("bars"))


@pytest.fixture(autouse=True)
def one_thread(monkeypatch):
    monkeypatch.setenv("OVERWORLD_THREADS", "1")  # as a user's composer (tests/conftest.py sets OMP's 2)


def test_the_play_command_records_a_wav_and_a_midi_file(model_dir, tmp_path, capsys):
    wav, mid = tmp_path / "live.wav", tmp_path / "live.mid"
    flags = ["--model", str(model_dir), "--seed", "4", "--bpm", "160", "--key", "G major", "--pace", "fast"]
    assert main(["play", *flags, "--minutes", "0.1", "--out", str(wav), "--sample-rate", "8000"]) == 0
    audio, _ = soundfile.read(wav)
    assert len(audio) == 4 * 8000 * 6 // 4  # 4 bars of 1.5 s at 160 bpm
    assert main(["play", *flags, "--minutes", "0.05", "--out", str(mid)]) == 0
    assert 0 < mido.MidiFile(mid).length <= 3.0 + 1e-6  # 2 bars, notes closed at the last bar line
    err = capsys.readouterr().err
    assert "in G major at 160 bpm" in err and "played 4 bars" in err and "played 2 bars" in err
    assert "0 late, 0 fallback" in err


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--intensity", "1.5"], "between 0 (calm) and 1"),
        (["--out", "x.mp3"], "--out must end in .wav or .mid"),
        (["--out", "x.wav", "--pace", "fast"], "needs --minutes"),
        (["--minutes", "0"], "--minutes must be above 0"),
        (["--key", "H minor"], "tonic A-G"),
        (["--ahead", "0"], "ahead must be between 1 and 32"),
        (["--midi-out", "no such port"], "MIDI"),
    ],
)
def test_bad_values_are_one_line_before_the_model_loads(flags, message, capsys, tmp_path):
    flags = [f.replace("x.", f"{tmp_path}/x.") for f in flags]
    assert main(["play", "--model", str(tmp_path / "no-model"), *flags]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("overworld play: error:") and message in err and "\n" not in err
    assert "no-model" not in err  # refused before the model was looked for


def test_playing_to_the_sound_card_without_one_is_one_line(tmp_path, capsys):
    try:
        import sounddevice

        sounddevice.query_devices(kind="output")
        pytest.skip("this machine has a sound card")
    except (ImportError, OSError, Exception):
        pass
    assert main(["play", "--model", str(tmp_path / "no-model"), "--minutes", "0.1"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and any(w in err for w in ("sounddevice", "PortAudio", "sound card"))


def test_stdin_sets_steps_and_stops_the_intensity(model_dir, monkeypatch):
    from overworld.cli.play import read_controls
    from overworld.models.storage import load_model

    stream = LiveMusic(load_model(model_dir), LiveConfig(key="C major", intensity=0.5))
    controls, stop, said = Controls(stream), threading.Event(), []
    monkeypatch.setattr("sys.stdin", io.StringIO("0.8\n+\nloud\n1.5\n-\nq0.1\n"))
    read_controls(stream, controls, stop, said.append)
    assert [c.level for c in controls.report.changes] == [0.8, 0.9, 0.8]
    assert stop.is_set() and stream.intensity == 0.8
    assert sum("must be a number from 0" in s for s in said) == 2  # 'loud' and 1.5, and it played on


def test_a_virtual_midi_port_receives_the_bars(model_dir, capsys):
    rtmidi = pytest.importorskip("rtmidi", reason="python-rtmidi is not installed (pip install -e '.[live]')")
    try:
        port = rtmidi.MidiIn()
        port.open_virtual_port("overworld-test-in")
    except Exception as exc:  # no ALSA sequencer (/dev/snd/seq) in a container
        pytest.skip(f"no virtual MIDI port on this system: {exc}")
    got = []
    port.set_callback(lambda message, _: got.append(message[0]))
    assert (
        main(
            [
                "play",
                "--model",
                str(model_dir),
                "--bpm",
                "400",
                "--minutes",
                "0.02",
                "--midi-out",
                "overworld-test-in",
                "--seed",
                "1",
            ]
        )
        == 0
    )
    port.close_port()
    assert any(m[0] & 0xF0 == 0x90 for m in got) and any(m[0] & 0xF0 == 0x80 for m in got)
    assert "0 fallback" in capsys.readouterr().err
