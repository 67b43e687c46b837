"""Live music: bars composed ahead in a thread, one key/tempo/line-up, an intensity change heard from the
next bar handed out, a sliding model context, file sinks exact to the sample, and one-line CLI errors."""

from __future__ import annotations

import io
import threading
import time
import types

import mido
import numpy as np
import pytest
import soundfile
import torch

from overworld.cli import main
from overworld.config import ModelConfig, SampleConfig
from overworld.errors import ConfigError
from overworld.generation.intensity import Intensity
from overworld.live import LiveConfig, LiveMusic
from overworld.live.engine import BarEngine
from overworld.live.player import Controls, play
from overworld.live.sinks import BarAudio, MidiFileSink, WavSink
from overworld.midi.gm import DRUMS
from overworld.theory import parse_key
from overworld.tokenizers.bars import BarTokenizer
from overworld.tokenizers.bars import Layout as L

SAMPLING = SampleConfig(max_polyphony=4, max_instruments=(2, 4))  # a random model's parts stay small


def _lm():
    from overworld.models import build_model

    torch.manual_seed(0)
    config = ModelConfig(vocab_size=L.SIZE, embedding_size=32, sequence_length=256, num_blocks=2, num_heads=2,
                         feed_forward_dim=64, dropout=0.0)  # fmt: skip
    return build_model(config).eval()


@pytest.fixture(scope="module")
def bar_model():
    return types.SimpleNamespace(model=_lm(), tokenizer=BarTokenizer(), sampling=SAMPLING)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    from overworld.models.storage import save_model

    return save_model(
        tmp_path_factory.mktemp("bars"), _lm(), BarTokenizer(), {"data": "random"}, sampling=SAMPLING
    )


def _bars(stream: LiveMusic, n: int) -> list:
    return [stream.next(timeout=60) for _ in range(n)]


def _binned(velocity: int) -> int:
    return velocity // 8 * 8 + 4  # the bar tokens keep velocities in bins of 8, decoded at their middle


def _velocities(bar) -> set[int]:
    return {int(v) for a in bar.notes.values() for v in a[:, 3]}


def test_bars_come_in_order_in_one_key_tempo_and_metre(bar_model):
    config = LiveConfig(bpm=150, time_signature="3/4", key="D minor", intensity=0.6, context=128)
    with LiveMusic(bar_model, config, seed=3) as stream:
        bars = _bars(stream, 12)
    assert [b.index for b in bars] == list(range(12))
    assert [b.start for b in bars] == pytest.approx([i * 1.2 for i in range(12)])  # 3 beats at 150 bpm
    pitched = {int(p) % 12 for b in bars for i, a in b.notes.items() if i != DRUMS for p in a[:, 2]}
    assert pitched and pitched <= parse_key("D minor")
    assert all(a[:, 0].min() >= 0 and a[:, 0].max() < 3 * 480 for b in bars for a in b.notes.values())
    played = {i for b in bars for i in b.notes}
    assert played <= set(stream.lineup)  # the line-up picked at the start
    score = bars[5].score()
    assert [round(t.qpm, 3) for t in score.tempos] == [150.0]
    assert (score.time_signatures[0].numerator, score.time_signatures[0].denominator) == (3, 4)


def test_the_same_seed_gives_the_same_bars(bar_model):
    runs = []
    for _ in range(2):
        with LiveMusic(bar_model, LiveConfig(key="C major", context=128), seed=11) as stream:
            runs.append([b.ids for b in _bars(stream, 5)])
    assert runs[0] == runs[1]


def test_an_intensity_change_is_heard_from_the_next_bar_handed_out(bar_model):
    config = LiveConfig(key="A minor", intensity=0.1, ahead=3, context=128)
    calm, loud = Intensity(0.1).velocities, Intensity(0.9).velocities
    with LiveMusic(bar_model, config, seed=5) as stream:
        before = _bars(stream, 3)
        assert stream.wait_ready(3, timeout=60) == 3  # three calm bars composed ahead...
        stream.set_intensity(0.9)
        after = _bars(stream, 4)  # ...are composed again
    assert [b.index for b in before + after] == list(range(7))
    assert all(b.intensity == 0.1 for b in before) and all(b.intensity == 0.9 for b in after)
    assert all(_binned(calm[0]) <= v <= _binned(calm[1]) for b in before for v in _velocities(b))
    assert all(_binned(loud[0]) <= v <= _binned(loud[1]) for b in after for v in _velocities(b))

    def notes(bars):
        return sum(len(a) for b in bars for a in b.notes.values())

    assert notes(after[:3]) > notes(before) > 0  # and denser


def test_keeping_the_bars_ahead_delays_the_change_by_them(bar_model):
    with LiveMusic(
        bar_model, LiveConfig(key="A minor", intensity=0.1, ahead=2, context=128), seed=5
    ) as stream:
        stream.next(timeout=60)
        assert stream.wait_ready(2, timeout=60) == 2
        stream.set_intensity(0.9, keep=None)
        assert [b.intensity for b in _bars(stream, 3)] == [0.1, 0.1, 0.9]


def test_a_bar_not_composed_again_in_time_is_the_one_composed_before(bar_model):
    with LiveMusic(
        bar_model, LiveConfig(key="A minor", intensity=0.1, ahead=2, context=128), seed=5
    ) as stream:
        stream.next(timeout=60)
        assert stream.wait_ready(2, timeout=60) == 2
        stream.set_intensity(0.9)
        now = stream.next(deadline=time.monotonic())  # needed at once: no time to compose it again
        rest = _bars(stream, 3)
    assert (now.index, now.intensity) == (1, 0.1)  # no gap: the calm bar composed before the change
    assert [b.index for b in rest] == [2, 3, 4] and all(b.intensity == 0.9 for b in rest)


def test_bad_intensity_is_refused(bar_model):
    with pytest.raises(ConfigError, match=r"between 0 \(calm\) and 1"):
        LiveConfig(intensity=1.5)
    stream = LiveMusic(bar_model, LiveConfig(key="C major"))
    with pytest.raises(ConfigError, match=r"between 0 \(calm\) and 1"):
        stream.set_intensity(-0.1)


def test_the_context_slides_and_the_music_goes_on(bar_model):
    settings = SampleConfig(
        max_polyphony=4, max_instruments=3, key="C major", time_signature="4/4", bpm=120.0
    )
    engine = BarEngine(bar_model, settings, seed=2, context=64)
    longest = 0
    for _ in range(12):
        bar = engine.next_bar(0.4)
        longest = max(longest, len(bar))
        assert engine.fed <= 64 + longest + 1  # the cache is rebuilt from the last bars once past 64 tokens
    assert engine.count == 12 and bar[0] == L.BAR and engine.first == 0
    engine.rewind(9)  # forget 3 bars: the next one is bar 10 again
    engine.next_bar(0.4)
    assert engine.count == 10


def test_a_wav_sink_is_exact_to_the_sample_and_a_midi_sink_holds_every_bar(bar_model, tmp_path):
    config = LiveConfig(bpm=140, key="E minor", context=128)
    with LiveMusic(bar_model, config, seed=1) as stream:
        report = play(stream, WavSink(tmp_path / "a.wav", BarAudio("chiptune", 8000)), minutes=0.1)
    audio, rate = soundfile.read(tmp_path / "a.wav")
    assert report.bars == 4 and rate == 8000  # 6 s of bars of 12/7 s
    assert len(audio) == round(4 * config.bar_seconds * 8000) and np.abs(audio).max() > 0.01
    with LiveMusic(bar_model, config, seed=1) as stream:
        bars = [stream.next(timeout=60) for _ in range(4)]
    sink = MidiFileSink(tmp_path / "a.mid")
    for bar in bars:
        sink.write(bar)
    sink.close()
    midi = mido.MidiFile(tmp_path / "a.mid")
    notes = sum(msg.type == "note_on" and msg.velocity > 0 for t in midi.tracks for msg in t)
    assert notes == sum(len(a) for b in bars for a in b.notes.values()) > 0
    assert [m.tempo for t in midi.tracks for m in t if m.type == "set_tempo"] == [mido.bpm2tempo(140)]


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


@pytest.mark.parametrize("flags, message", [
    (["--intensity", "1.5"], "between 0 (calm) and 1"),
    (["--out", "x.mp3"], "--out must end in .wav or .mid"),
    (["--out", "x.wav", "--pace", "fast"], "needs --minutes"),
    (["--minutes", "0"], "--minutes must be above 0"),
    (["--key", "H minor"], "tonic A-G"),
    (["--ahead", "0"], "ahead must be between 1 and 32"),
    (["--midi-out", "no such port"], "MIDI"),
])  # fmt: skip
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


def test_stdin_sets_steps_and_stops_the_intensity(bar_model, monkeypatch):
    from overworld.cli.play import read_controls

    stream = LiveMusic(bar_model, LiveConfig(key="C major", intensity=0.5))
    controls, stop, said = Controls(stream), threading.Event(), []
    monkeypatch.setattr("sys.stdin", io.StringIO("0.8\n+\nloud\n1.5\n-\nq0.1\n"))
    read_controls(stream, controls, stop, said.append)
    assert [c.level for c in controls.report.changes] == [0.8, 0.9, 0.8]
    assert stop.is_set() and stream.intensity == 0.8
    assert sum("must be a number from 0" in s for s in said) == 2  # 'loud' and 1.5, and it played on


def test_a_virtual_midi_port_receives_the_bars(model_dir):
    rtmidi = pytest.importorskip("rtmidi", reason="python-rtmidi is not installed (pip install -e '.[live]')")
    try:
        port = rtmidi.MidiIn()
        port.open_virtual_port("overworld-test-in")
    except Exception as exc:  # no ALSA sequencer (/dev/snd/seq) in a container
        pytest.skip(f"no virtual MIDI port on this system: {exc}")
    got = []
    port.set_callback(lambda message, _: got.append(message[0]))
    assert main(["play", "--model", str(model_dir), "--bpm", "400", "--minutes", "0.02", "--midi-out",
                 "overworld-test-in", "--seed", "1"]) == 0  # fmt: skip
    port.close_port()
    assert any(m[0] & 0xF0 == 0x90 for m in got) and any(m[0] & 0xF0 == 0x80 for m in got)


def test_live_music_goes_round_its_arrangement_plan(tmp_path):
    import json

    from overworld.live.engine import standalone
    from overworld.tokenizers.bars_plan import Plan, plan_of

    plan = Plan(tuple(((33, 0), (DRUMS, 0)) if b % 4 == 0 else ((33, 1), (80, 0)) if b % 2 else ((33, 2),)
                      for b in range(8)), registers=((33, 40.0, 36, 45), (80, 74.0, 70, 79)))  # fmt: skip
    (tmp_path / "plans.json").write_text(json.dumps({"plans": [plan.to_dict()]}))
    model = types.SimpleNamespace(model=_lm(), tokenizer=BarTokenizer(), path=tmp_path,
                                  sampling=SampleConfig(max_polyphony=4, plan=True, time_signature="4/4"))  # fmt: skip
    engine = BarEngine(model, model.sampling, seed=1, context=64)  # a small window: the grammar is rebuilt
    bars = [engine.next_bar(None) for _ in range(12)]
    assert all(bars)
    parts = [{inst for inst, _ in p} for p in plan_of(standalone(bars)).bars]
    assert parts == [
        {inst for inst, _ in plan.bars[b % 8]} for b in range(12)
    ]  # round and round, bar for bar
