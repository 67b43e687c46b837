"""Playing a live stream into a sink: file sinks exact to the sample, every bar in the MIDI file, and the
report's bar lines, fallbacks and intensity changes heard at the next bar line."""

from __future__ import annotations

import threading
import time

import mido
import numpy as np
import pytest
import soundfile

from overworld.live import LiveConfig, LiveMusic
from overworld.live.player import Change, Controls, PlayReport, play
from overworld.live.sinks import BarAudio, MidiFileSink, WavSink


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


class _Changing:
    """A sink that changes the intensity ``after`` seconds into writing bar ``at`` (as a player would,
    while it plays)."""

    def __init__(self, controls: Controls, at: int, level: float, after: float) -> None:
        self.controls, self.at, self.level, self.after, self.bars = controls, at, level, after, []

    def write(self, bar) -> None:
        self.bars.append(bar)
        if bar.index == self.at and self.after:
            threading.Timer(self.after, self.controls.set_intensity, (self.level,)).start()
        elif bar.index == self.at:
            self.controls.set_intensity(self.level)

    def close(self, ok: bool = True) -> None:
        pass


@pytest.mark.parametrize("realtime", [False, True])
def test_a_change_while_a_bar_plays_is_heard_at_the_next_bar_line(bar_model, realtime):
    # bars of 0.6 s, taken 0.1 s before their bar lines in real time
    config = LiveConfig(bpm=400, key="E minor", intensity=0.2, context=128)
    with LiveMusic(bar_model, config, seed=2) as stream:
        assert stream.wait_ready(4, timeout=60) == 4
        controls = Controls(stream)
        sink = _Changing(controls, 1, 0.9, 0.3 if realtime else 0.0)  # realtime: 0.2 s into bar 1
        report = play(stream, sink, minutes=5 * 0.6 / 60, realtime=realtime, lead=0.1, controls=controls)
    assert [b.intensity for b in sink.bars] == [0.2, 0.2, 0.9, 0.9, 0.9]
    (change,) = report.changes
    assert (change.playing, change.heard_bar, report.next_line(change)) == (1, 2, 2)
    assert report.on_time() == (1, 1) and report.fallbacks == report.late == 0
    assert len(report.lines) == len(report.ahead) == report.bars == 5
    if realtime:  # bar lines 0.6 s apart on the wall clock; the change was heard at the next one
        assert np.diff(report.lines) == pytest.approx([0.6] * 4, abs=0.05)
        assert 0 < change.latency <= 0.6 + 0.05


def test_changes_overtaken_before_a_bar_line_are_not_counted():
    report = PlayReport(lines=[10.0, 12.0, 14.0])
    report.changes = [Change(10.5, 0.8, 0, heard_bar=1, heard_at=12.0),  # heard at the next line
                      Change(12.5, 0.2, 1),  # overtaken by the next change before bar 2's line
                      Change(13.0, 0.8, 1, heard_bar=2, heard_at=14.0),
                      Change(14.5, 0.2, 2)]  # no bar line after it: playing stopped  # fmt: skip
    assert [report.next_line(c) for c in report.changes] == [1, 2, 2, None]
    assert report.on_time() == (2, 2)
    report.changes[2].heard_bar = 3  # heard a bar late
    assert report.on_time() == (1, 2)


class _Sink:
    def __init__(self) -> None:
        self.bars = []

    def write(self, bar) -> None:
        self.bars.append(bar)

    def close(self, ok: bool = True) -> None:
        pass


def test_a_slow_composer_queues_the_last_phrase_again_before_the_bars_ahead_run_out(bar_model, monkeypatch):
    from overworld.live.engine import BarEngine

    next_bar = BarEngine.next_bar

    def slow(engine, level, cancel=lambda: False):
        time.sleep(0.8)  # each bar takes 0.8 s to compose: slower than the 0.6 s it plays
        return next_bar(engine, level, cancel)

    monkeypatch.setattr(BarEngine, "next_bar", slow)
    sink = _Sink()
    with LiveMusic(bar_model, LiveConfig(bpm=400, key="A minor", ahead=4, context=128), seed=5) as stream:
        assert stream.wait_ready(4, timeout=60) == 4
        report = play(stream, sink, minutes=14 * 0.6 / 60, realtime=True, lead=0.1)
        stats = stream.stats()
    composed = [b.composed for b in sink.bars]
    repeats = [i for i, b in enumerate(sink.bars) if b.fallback]
    assert report.fallbacks == stats.fallbacks == len(repeats) >= 4 and report.late == 0
    first = repeats[0]  # a whole phrase again, in order: the 4 bars before it
    assert composed[first : first + 4] == composed[first - 4 : first]
    assert min(report.ahead[1:]) >= 2  # at every bar line, 2 bars or more were ready
    assert [b.index for b in sink.bars] == list(range(14))


def test_a_change_after_the_next_bar_was_taken_is_too_late_for_it():
    report = PlayReport(lines=[10.0, 12.0, 14.0], taken=[9.9, 11.9, 13.9])  # taken 0.1 s before the lines
    report.changes = [Change(11.95, 0.8, 1, heard_bar=2, heard_at=14.0), Change(12.5, 0.2, 1)]
    assert report.too_late() == 1 and report.on_time() == (
        0,
        2,
    )  # the first heard a bar late, the second not yet
