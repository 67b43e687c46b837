"""Where live bars go: audio rendered a bar at a time (:class:`BarAudio`) to a WAV file or the sound card,
or MIDI to a file or a port. Each sink takes bars in order (``write(bar)``) and is closed once; a file is
written beside its target and moved into place on close (nothing partial is left if it fails).

The sound card (``sounddevice``, which needs PortAudio: Debian ``libportaudio2``) and MIDI ports
(``python-rtmidi``) are optional: ``pip install -e '.[live]'`` in a clone. Both block in ``write`` while the
bar plays, which paces the stream.
"""

from __future__ import annotations

import contextlib
import heapq
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from overworld.errors import ConfigError
from overworld.live.bar import TPQ, Bar

__all__ = ["SINK_SUFFIXES", "BarAudio", "MidiFileSink", "MidiPortSink", "SoundCardSink", "WavSink",
           "check_midi_port", "check_sound_card", "raise_if_bad_out"]  # fmt: skip

SINK_SUFFIXES = (".wav", ".mid")
CHIP_GAIN = 0.3  # one fixed gain for every bar (a bar normalised alone would jump in loudness)
LIVE_EXTRA = "pip install -e '.[live]' in the overworld clone"


class BarAudio:
    """Audio of consecutive bars, each exactly its length in samples (rounded on a running clock), with
    the release tails of one bar mixed into the next."""

    def __init__(self, synth: str = "chiptune", sample_rate: int = 44100, soundfont: str = "") -> None:
        from overworld.render import SYNTHS

        if synth not in SYNTHS:
            raise ConfigError(f"synth must be one of {', '.join(SYNTHS)}, not {synth!r}")
        self.synth, self.sample_rate, self.soundfont = synth, int(sample_rate), soundfont
        self.channels = 1 if synth == "chiptune" else 2
        self.carry = np.zeros((0, self.channels), dtype=np.float32)
        self.seconds = 0.0  # music rendered so far

    def _render(self, bar: Bar) -> np.ndarray:
        from overworld.midi import in_seconds

        score = in_seconds(bar.score())
        if not any(len(t.notes) for t in score.tracks):
            return np.zeros((0, self.channels), dtype=np.float32)
        if self.synth == "chiptune":
            from overworld.render.chiptune import synthesize_tracks

            tracks, _ = synthesize_tracks(score, self.sample_rate, max_seconds=3600.0)
            return (tracks.sum(axis=0) * CHIP_GAIN)[:, None].astype(np.float32)
        from overworld.render.soundfont import synthesize

        return np.asarray(synthesize(score, self.sample_rate, self.soundfont or None), dtype=np.float32)

    def __call__(self, bar: Bar) -> np.ndarray:
        """``(samples, channels)`` float32 of ``bar``, in [-1, 1]."""
        sr = self.sample_rate
        n = round((self.seconds + bar.seconds) * sr) - round(self.seconds * sr)
        self.seconds += bar.seconds
        audio = self._render(bar)
        out = np.zeros((max(n, len(audio), len(self.carry)), self.channels), dtype=np.float32)
        out[: len(audio)] += audio
        out[: len(self.carry)] += self.carry
        self.carry = out[n:].copy()
        return np.clip(out[:n], -1.0, 1.0)


class WavSink:
    """A WAV file of the bars played, written as they come."""

    def __init__(self, path: str | Path, audio: BarAudio) -> None:
        import soundfile

        from overworld.atomic import temp_file_beside

        self.path, self.audio = Path(path), audio
        handle, self.temp = temp_file_beside(self.path)
        os.close(handle)
        self.file = soundfile.SoundFile(self.temp, "w", samplerate=audio.sample_rate,
                                        channels=audio.channels, format="WAV", subtype="PCM_16")  # fmt: skip

    def write(self, bar: Bar) -> None:
        self.file.write(self.audio(bar))

    def close(self, ok: bool = True) -> None:
        self.file.close()
        if ok:
            os.replace(self.temp, self.path)
        else:
            self.temp.unlink(missing_ok=True)


class MidiFileSink:
    """A MIDI file of the bars played, at the stream's exact tempo and metre, written on close (notes still
    ringing at the last bar line end there)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.bars: list[Bar] = []

    def write(self, bar: Bar) -> None:
        self.bars.append(bar)

    def close(self, ok: bool = True) -> None:
        from overworld.atomic import temp_file_beside
        from overworld.generation.arrangement import Arrangement
        from overworld.midi import write_score

        if not ok or not self.bars:
            return
        first = self.bars[0]
        piece = Arrangement(TPQ, first.bar_ticks)
        for i, bar in enumerate(self.bars):
            piece = piece.place(Arrangement(TPQ, bar.bar_ticks, dict(bar.notes)), i)
        num, den = (int(x) for x in first.time_signature.split("/"))
        handle, temp = temp_file_beside(self.path)
        os.close(handle)
        try:
            write_score(
                piece.closed(len(self.bars)).score(first.bpm, num, den), temp
            )  # ends at the last bar line
            os.replace(temp, self.path)
        finally:
            temp.unlink(missing_ok=True)


def check_sound_card() -> Any:
    """The ``sounddevice`` module, or a one-line :class:`ConfigError` saying what to install."""
    try:
        import sounddevice
    except ImportError:
        raise ConfigError(f"playing to the sound card needs sounddevice: {LIVE_EXTRA}") from None
    except OSError:  # the module is there, the PortAudio library is not
        raise ConfigError("sounddevice needs the PortAudio library: apt-get install libportaudio2") from None
    try:
        sounddevice.query_devices(kind="output")
    except Exception as exc:  # PortAudioError and ValueError both mean: nothing to play on
        raise ConfigError(f"no sound card to play on ({exc}); record with --out FILE.wav instead") from None
    return sounddevice


class SoundCardSink:
    """The default sound card; ``write`` blocks until the bar is nearly played."""

    def __init__(self, audio: BarAudio) -> None:
        sounddevice = check_sound_card()
        self.audio = audio
        self.stream = sounddevice.OutputStream(samplerate=audio.sample_rate, channels=audio.channels,
                                               dtype="float32", latency="high")  # fmt: skip
        self.stream.start()

    def write(self, bar: Bar) -> None:
        self.stream.write(np.ascontiguousarray(self.audio(bar)))

    def close(self, ok: bool = True) -> None:
        self.stream.stop()
        self.stream.close()


@contextlib.contextmanager
def _quiet_c_stderr() -> Iterator[None]:
    """Silence what C libraries write to file descriptor 2 for the block (Python's errors still raise)."""
    try:
        saved = os.dup(2)
    except OSError:
        yield
        return
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def check_midi_port(name: str) -> str:
    """The output port whose name is or contains ``name``, or a one-line :class:`ConfigError` that lists
    the ports there are."""
    try:
        import rtmidi
    except ImportError:
        raise ConfigError(f"--midi-out (MIDI to a port) needs python-rtmidi: {LIVE_EXTRA}") from None
    try:
        with _quiet_c_stderr():  # ALSA writes its own complaint to fd 2 before rtmidi raises
            ports = rtmidi.MidiOut().get_ports()
    except Exception as exc:  # no MIDI system at all (no ALSA sequencer in a container)
        raise ConfigError(f"no MIDI system to send to ({exc})") from None
    found = [p for p in ports if p == name] or [p for p in ports if name.lower() in p.lower()]
    if len(found) != 1:
        known = "; ".join(ports) or "none"
        what = "matches several" if found else "is not"
        raise ConfigError(f"MIDI port {name!r} {what} an output port; the ports are: {known}")
    return found[0]


class MidiPortSink:
    """A MIDI output port: each instrument on its own channel (drums on channel 10) with its program;
    ``write`` sends the bar's notes in time, blocking while it plays."""

    def __init__(self, name: str) -> None:
        import rtmidi

        port = check_midi_port(name)
        self.out = rtmidi.MidiOut()
        self.out.open_port(self.out.get_ports().index(port))
        self.channels: dict[int, int] = {}
        self.offs: list[tuple[float, int, int]] = []  # (time, channel, pitch) of notes still sounding
        self.t0: float | None = None

    def _channel(self, inst: int) -> int:
        if inst == 128:
            return 9
        if inst not in self.channels:
            free = [c for c in range(16) if c != 9 and c not in self.channels.values()]
            self.channels[inst] = free[0] if free else len(self.channels) % 15
            self.out.send_message([0xC0 | self.channels[inst], inst])
        return self.channels[inst]

    def write(self, bar: Bar) -> None:
        self.t0 = time.monotonic() - bar.start if self.t0 is None else self.t0
        seconds = bar.seconds / bar.bar_ticks  # per tick
        ons = []
        for inst, a in bar.notes.items():
            ch = self._channel(inst)
            for onset, dur, pitch, vel in a.tolist():
                ons.append((bar.start + onset * seconds, ch, pitch, vel))
                heapq.heappush(self.offs, (bar.start + (onset + dur) * seconds, ch, pitch))
        events = sorted([(t, 1, ch, p, v) for t, ch, p, v in ons])
        end = bar.start + bar.seconds
        for t, _, ch, p, v in events:
            self._offs_until(t)
            self._wait(t)
            self.out.send_message([0x90 | ch, p, v])
        self._offs_until(end)
        self._wait(end)

    def _offs_until(self, t: float) -> None:
        while self.offs and self.offs[0][0] <= t:
            when, ch, p = heapq.heappop(self.offs)
            self._wait(when)
            self.out.send_message([0x80 | ch, p, 0])

    def _wait(self, t: float) -> None:
        left = (self.t0 or 0.0) + t - time.monotonic()
        if left > 0:
            time.sleep(left)

    def close(self, ok: bool = True) -> None:
        for _, ch, p in self.offs:
            self.out.send_message([0x80 | ch, p, 0])
        self.out.close_port()


def raise_if_bad_out(path: str) -> Path:
    """``path`` as a file sink, or a one-line error naming it."""
    out = Path(path)
    if out.suffix.lower() not in SINK_SUFFIXES:
        raise ConfigError(f"--out must end in {' or '.join(SINK_SUFFIXES)}, not {path!r}")
    if not out.parent.is_dir():
        raise ConfigError(f"no folder {str(out.parent)!r} to write {out.name} into")
    return out
