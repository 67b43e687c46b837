"""Loop points inside a WAV file: the RIFF ``smpl`` chunk (the sampler chunk of the Multimedia
Programming Interface and Data Specifications 1.0), which Godot's WAV importer, samplers and many audio
middlewares read.

One forward loop is written, its start the first sample of the loop and its end the last one played
(inclusive, as the specification says), both in sample frames; :func:`read_loop` gives them back as
``(start, end)`` with ``end`` exclusive, as the rest of overworld counts. The chunk is appended after the
audio (a RIFF reader skips chunks it does not know), and the RIFF size is updated.
"""

from __future__ import annotations

import struct
from pathlib import Path

from overworld.errors import OverworldError

__all__ = ["add_loop", "read_loop"]

_LOOP_FORWARD = 0


def _chunks(data: bytes) -> dict[bytes, tuple[int, int]]:
    """``{chunk id: (offset of its data, size)}`` of a RIFF WAVE file."""
    if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise OverworldError("not a RIFF WAVE file")
    found, at = {}, 12
    while at + 8 <= len(data):
        cid, size = data[at : at + 4], struct.unpack_from("<I", data, at + 4)[0]
        found.setdefault(cid, (at + 8, size))
        at += 8 + size + (size & 1)
    return found


def add_loop(path: str | Path, start: int, end: int) -> Path:
    """Give the WAV file at ``path`` one forward loop from sample ``start`` to ``end`` (exclusive)."""
    path = Path(path)
    data = bytearray(path.read_bytes())
    chunks = _chunks(bytes(data))
    if b"smpl" in chunks:
        raise OverworldError(f"{path.name} already has a smpl chunk")
    fmt_at, _ = chunks[b"fmt "]
    rate = struct.unpack_from("<I", data, fmt_at + 4)[0]
    if not 0 <= start < end:
        raise OverworldError(f"a loop from sample {start} to {end} is empty")
    period = round(1e9 / rate)  # nanoseconds a sample
    header = struct.pack("<9I", 0, 0, period, 60, 0, 0, 0, 1, 0)
    loop = struct.pack("<6I", 0, _LOOP_FORWARD, start, end - 1, 0, 0)
    body = header + loop
    if len(data) & 1:
        data += b"\x00"
    data += b"smpl" + struct.pack("<I", len(body)) + body
    struct.pack_into("<I", data, 4, len(data) - 8)
    path.write_bytes(bytes(data))
    return path


def read_loop(path: str | Path) -> tuple[int, int] | None:
    """The first loop of a WAV file's ``smpl`` chunk as ``(start, end)``, ``end`` exclusive; None
    without one."""
    data = Path(path).read_bytes()
    chunks = _chunks(data)
    if b"smpl" not in chunks:
        return None
    at, size = chunks[b"smpl"]
    if size < 36 + 24 or struct.unpack_from("<I", data, at + 28)[0] < 1:
        return None
    _cue, _kind, start, last = struct.unpack_from("<4I", data, at + 36)
    return start, last + 1
