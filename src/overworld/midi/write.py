"""Writing Standard MIDI Files: one track per instrument with its GM program and name, drums on channel
10, every note closed, and the score's tempo map and time signatures (120 bpm, 4/4 when it has none), so
that a DAW's bar lines fall where the music's do.

Why our own writer (a few dozen lines) and not symusic's ``Score.dump_midi``: measured on symusic 0.6.0
(tests/midi/test_write_vs_symusic.py), dump_midi gets channels, programs, names, the tempo map, time
signatures and drums on channel 10 right, but it numbers channels by track index, so a drum track in the
middle of 15 pitched ones puts two programs on one channel (one instrument is lost), and it writes a
zero-length note as NOTE_ON/NOTE_OFF on one tick and a velocity-0 note as a note-off, which players never
sound. Here the pitched tracks alone take channels 1-9, 11-16 in turn, a note lasts at least one tick and
has velocity 1 or more, empty tracks are left out, and the tempo track always states its tempo and meter.
Past 15 pitched instruments both writers must share channels (MIDI has 16).
"""

from __future__ import annotations

import os
import struct
from pathlib import Path
from typing import Any

import numpy as np

from overworld.midi.splice import vlq  # the primitive lives beside its reader, _read_vlq

__all__ = ["score_to_smf", "text_bytes", "vlq", "write_bytes", "write_score", "write_spliced"]

TPQ = 480
_PITCHED_CHANNELS = [c for c in range(16) if c != 9]
Markers = tuple[tuple[int, str], ...]  # (tick, text)
Controls = tuple[tuple[int, int, int, int], ...]  # (tick, channel, controller, value)


def text_bytes(text: str, limit: int = 127) -> bytes:
    """``text`` in UTF-8, at most ``limit`` bytes, never cut inside a character (a track named "Spår 1"
    stays "Spår 1" in any reader that takes UTF-8, as DAWs and mido do)."""
    return text.encode("utf-8")[:limit].decode("utf-8", "ignore").encode("utf-8")


def _track_bytes(
    name: str, channel: int, program: int | None, notes: dict[str, np.ndarray], scale: float
) -> bytes:
    body = bytearray()
    encoded = text_bytes(name)
    body += b"\x00\xff\x03" + vlq(len(encoded)) + encoded
    if program is not None:
        body += bytes([0x00, 0xC0 | channel, program & 0x7F])
    on = np.rint(notes["time"].astype(np.float64) * scale).astype(np.int64)  # to ticks
    off = np.rint(notes["time"].astype(np.float64) * scale + notes["duration"].astype(np.float64) * scale)
    off = off.astype(np.int64)
    off = np.maximum(off, on + 1)
    pitch = notes["pitch"].astype(np.int64) & 0x7F
    vel = np.clip(notes["velocity"].astype(np.int64), 1, 127)
    n = len(on)
    times = np.concatenate([off, on])
    kinds = np.concatenate([np.zeros(n, np.int64), np.ones(n, np.int64)])  # offs first at equal times
    pitches = np.concatenate([pitch, pitch])
    vels = np.concatenate([np.zeros(n, np.int64), vel])
    order = np.lexsort((pitches, kinds, times))
    last = 0
    for t, k, p, v in zip(
        times[order].tolist(), kinds[order].tolist(), pitches[order].tolist(), vels[order].tolist()
    ):
        status = (0x90 if k else 0x80) | channel
        body += vlq(t - last) + bytes([status, p, v if k else 64])
        last = t
    body += b"\x00\xff\x2f\x00"
    return b"MTrk" + struct.pack(">I", len(body)) + bytes(body)


def _tempo_track(
    score: Any, scale: float, markers: Markers = (), controls: Controls = (), end_tick: int | None = None
) -> bytes:
    """The first track: the tempo map and time signatures of ``score`` (times times ``scale`` are ticks),
    120 bpm and 4/4 at time 0 when it has none; then ``markers`` ``(tick, text)`` (meta 0x06) and
    ``controls`` ``(tick, channel, controller, value)``, and its end at ``end_tick`` when given."""
    events = []  # (tick, order, bytes): at equal ticks, time signatures before tempos, markers, controls
    for tick, text in markers:
        encoded = text_bytes(text)
        events.append((int(tick), 2, b"\xff\x06" + vlq(len(encoded)) + encoded))
    for tick, channel, controller, value in controls:
        events.append((int(tick), 3, bytes([0xB0 | (channel & 0x0F), controller & 0x7F, value & 0x7F])))
    for ts in score.time_signatures:
        num, den = int(ts.numerator), int(ts.denominator)
        if 1 <= num <= 255 and den >= 1 and den & (den - 1) == 0:
            meta = b"\xff\x58\x04" + bytes([num, den.bit_length() - 1, 24, 8])
            events.append((max(0, round(float(ts.time) * scale)), 0, meta))
    if not any(tick == 0 for tick, _, _ in events):
        events.append((0, 0, b"\xff\x58\x04\x04\x02\x18\x08"))
    for tempo in score.tempos:
        qpm = float(tempo.qpm)
        if qpm > 0:
            mspq = min(0xFFFFFF, max(1, round(60_000_000 / qpm)))
            events.append(
                (max(0, round(float(tempo.time) * scale)), 1, b"\xff\x51\x03" + mspq.to_bytes(3, "big"))
            )
    if not any(order == 1 and tick == 0 for tick, order, _ in events):
        events.append((0, 1, b"\xff\x51\x03\x07\xa1\x20"))  # 500,000 us a quarter: 120 bpm
    body = bytearray()
    last = 0
    for tick, _, meta in sorted(events, key=lambda e: (e[0], e[1])):
        body += vlq(tick - last) + meta
        last = tick
    body += vlq(max(0, end_tick - last) if end_tick is not None else 0) + b"\xff\x2f\x00"
    return b"MTrk" + struct.pack(">I", len(body)) + bytes(body)


def score_to_smf(
    score: Any, *, markers: Markers = (), controls: Controls = (), end_tick: int | None = None
) -> bytes:
    """The bytes of a format-1 SMF: a tempo track (the score's tempo map and time signatures), then one
    track per non-empty track of ``score``. Drums go to channel 10; pitched tracks take channels 1-9,
    11-16 in turn (shared, each with its program change, when there are more than 15). A score in ticks
    keeps its resolution and every tick; others are written at 480 ticks a quarter.

    The tempo track also carries ``markers`` ``(tick, text)`` (meta 0x06: ``loopStart``/``loopEnd``) and
    ``controls`` ``(tick, channel 0-15, controller, value)`` (RPG Maker's loop start is controller 111),
    in the written file's ticks, and ends at ``end_tick`` when given (so the file is exactly that long
    when no note ends later)."""
    kind = str(score.ttype).lower()  # symusic names them symusic.core.Tick, .Quarter, .Second
    if kind.endswith("tick"):
        tpq, scale = int(score.ticks_per_quarter), 1.0
    else:
        if not kind.endswith("quarter"):
            score = score.to("quarter")  # seconds go through the score's own tempo map
        tpq, scale = TPQ, float(TPQ)
    chunks = [_tempo_track(score, scale, markers, controls, end_tick)]
    pitched = 0
    for track in score.tracks:
        notes = track.notes.numpy()
        if len(notes["time"]) == 0:
            continue
        if track.is_drum:
            chunks.append(_track_bytes(track.name or "Drums", 9, None, notes, scale))
        else:
            channel = _PITCHED_CHANNELS[pitched % len(_PITCHED_CHANNELS)]
            pitched += 1
            chunks.append(
                _track_bytes(track.name or f"Program {track.program}", channel, track.program, notes, scale)
            )
    return b"MThd" + struct.pack(">IHHH", 6, 1, len(chunks), tpq) + b"".join(chunks)


def write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (a temporary file beside it, then a rename): a full disk or
    an interruption leaves the old file or none, never part of one."""
    from overworld.atomic import temp_file_beside

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = temp_file_beside(path)  # the mode any new file of the user's gets (their umask)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_score(score: Any, path: str | Path, **extra: Any) -> Path:
    """Write ``score`` as a Standard MIDI File, atomically (:func:`write_bytes`); ``extra``:
    :func:`score_to_smf`'s markers, controls and end_tick."""
    return write_bytes(path, score_to_smf(score, **extra))


def write_spliced(
    path: str | Path, original: bytes, span: tuple[int, int], notes: Any, instruments: tuple[int, ...] = ()
) -> tuple[Path, int]:
    """Write the MIDI file ``original`` (bytes as :func:`overworld.midi.load.smf_bytes` gives them) with
    the notes of ``instruments`` (empty: all) that start in ``span`` replaced by ``notes`` (instrument ->
    rows ``(tick, duration, pitch, velocity)``), every other event as it was
    (:func:`overworld.midi.splice.splice_notes`), atomically; returns the path and the notes written."""
    from overworld.midi.splice import splice_notes

    data, written = splice_notes(original, span, notes, instruments)
    return write_bytes(path, data), written
