"""Writing Standard MIDI Files: one track per instrument with its GM program and name, drums on channel
10, every note closed. Our own writer (a few dozen lines) so that channel assignment is ours: symusic
0.6 writes every track on channel 0.
"""

from __future__ import annotations

import os
import struct
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from overworld.midi.load import in_seconds

__all__ = ["score_to_smf", "write_score"]

TPQ = 480
_TICKS_PER_SECOND = TPQ * 2  # tempo 120: one beat is half a second
_PITCHED_CHANNELS = [c for c in range(16) if c != 9]


def _vlq(n: int) -> bytes:
    out = [n & 0x7F]
    n >>= 7
    while n:
        out.append(0x80 | (n & 0x7F))
        n >>= 7
    return bytes(reversed(out))


def _track_bytes(name: str, channel: int, program: int | None, notes: dict[str, np.ndarray]) -> bytes:
    body = bytearray()
    encoded = name.encode("latin-1", "replace")[:127]
    body += b"\x00\xff\x03" + _vlq(len(encoded)) + encoded
    if program is not None:
        body += bytes([0x00, 0xC0 | channel, program & 0x7F])
    on = np.rint(notes["time"].astype(np.float64) * _TICKS_PER_SECOND).astype(np.int64)
    off = np.rint((notes["time"] + notes["duration"]).astype(np.float64) * _TICKS_PER_SECOND).astype(np.int64)
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
    for t, k, p, v in zip(times[order].tolist(), kinds[order].tolist(), pitches[order].tolist(),
                          vels[order].tolist()):  # fmt: skip
        status = (0x90 if k else 0x80) | channel
        body += _vlq(t - last) + bytes([status, p, v if k else 64])
        last = t
    body += b"\x00\xff\x2f\x00"
    return b"MTrk" + struct.pack(">I", len(body)) + bytes(body)


def score_to_smf(score: Any) -> bytes:
    """The bytes of a format-1 SMF at 120 bpm: a tempo track, then one track per non-empty track of
    ``score``. Drums go to channel 10; pitched tracks take channels 1-9, 11-16 in turn (shared, each
    with its program change, when there are more than 15)."""
    score = in_seconds(score)
    tempo = b"\x00\xff\x51\x03\x07\xa1\x20" + b"\x00\xff\x58\x04\x04\x02\x18\x08" + b"\x00\xff\x2f\x00"
    chunks = [b"MTrk" + struct.pack(">I", len(tempo)) + tempo]
    pitched = 0
    for track in score.tracks:
        notes = track.notes.numpy()
        if len(notes["time"]) == 0:
            continue
        if track.is_drum:
            chunks.append(_track_bytes(track.name or "Drums", 9, None, notes))
        else:
            channel = _PITCHED_CHANNELS[pitched % len(_PITCHED_CHANNELS)]
            pitched += 1
            chunks.append(
                _track_bytes(track.name or f"Program {track.program}", channel, track.program, notes)
            )
    return b"MThd" + struct.pack(">IHHH", 6, 1, len(chunks), TPQ) + b"".join(chunks)


def write_score(score: Any, path: str | Path) -> Path:
    """Write ``score`` as a Standard MIDI File, atomically (temporary file, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = score_to_smf(score)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, 0o644)  # mkstemp makes it private; a MIDI file is for sharing
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
