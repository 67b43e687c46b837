"""The bytes of a FastTracker 2 Extended Module (XM 1.04), as FT2 writes them and every player reads them:
the header, packed patterns, and instruments with 16-bit delta-coded samples. The musical layout is
:mod:`overworld.export.xm`'s; this module only encodes it."""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

import numpy as np

__all__ = ["KEY_OFF", "Cell", "Envelope", "Instrument", "Sample", "encode"]

KEY_OFF = 97  # the note that releases a channel's note
_HEADER_SIZE = 276  # from the header-size field to the end of the order table
_INSTRUMENT_SIZE = 263  # FT2's instrument header, with its padding
_SAMPLE_HEADER_SIZE = 40


@dataclass(frozen=True)
class Cell:
    """One channel on one row: ``note`` 1-96 (C-0 to B-7) or :data:`KEY_OFF`, ``instrument`` from 1,
    ``volume`` 0-64 (None: none), an effect and its parameter."""

    note: int = 0
    instrument: int = 0
    volume: int | None = None
    effect: int = 0
    param: int = 0

    def pack(self) -> bytes:
        fields = (
            self.note,
            self.instrument,
            None if self.volume is None else 0x10 + self.volume,
            self.effect,
            self.param,
        )
        flags, body = 0x80, bytearray()
        for bit, value in enumerate(fields):
            if value:
                flags |= 1 << bit
                body.append(value)
        return bytes([flags]) + bytes(body)


@dataclass(frozen=True)
class Sample:
    """A 16-bit sample in [-1, 1]; ``loop`` forward over all of it, or one-shot; tuned by
    ``relative_note`` (semitones) and ``finetune`` (1/128 semitone) from C-4 = 8363 Hz."""

    name: str
    data: np.ndarray
    loop: bool
    relative_note: int
    finetune: int
    volume: int = 64


@dataclass(frozen=True)
class Envelope:
    """A volume envelope: ``(tick, level 0-64)`` points, the point held while the key is down."""

    points: tuple[tuple[int, int], ...]
    sustain: int


@dataclass(frozen=True)
class Instrument:
    name: str
    samples: tuple[Sample, ...]
    keymap: tuple[int, ...] = field(default=(0,) * 96)  # the sample (index) each note 1-96 plays
    envelope: Envelope | None = None


def _text(text: str, size: int) -> bytes:
    return text.encode("ascii", "replace")[:size].ljust(size, b"\x00")


def _pattern(rows: list[list[Cell]]) -> bytes:
    data = b"".join(cell.pack() for row in rows for cell in row)
    return struct.pack("<IBHH", 9, 0, len(rows), len(data)) + data


def _pcm(sample: Sample) -> bytes:
    values = np.round(np.clip(sample.data, -1.0, 1.0) * 32767).astype(np.int64)
    deltas = np.diff(values, prepend=0).astype(np.int16)  # wraps round as FT2's decoder expects
    return deltas.astype("<i2").tobytes()


def _sample_header(sample: Sample) -> bytes:
    size = 2 * len(sample.data)
    kind = (1 if sample.loop else 0) | 0x10  # forward loop, 16 bit
    return struct.pack(
        "<IIIBbBBbB",
        size,
        0,
        size if sample.loop else 0,
        sample.volume,
        sample.finetune,
        kind,
        128,
        sample.relative_note,
        0,
    ) + _text(sample.name, 22)


def _envelope_bytes(env: Envelope | None) -> bytes:
    points = list(env.points if env else ())
    table = b"".join(struct.pack("<HH", x, y) for x, y in points).ljust(48, b"\x00")
    flags = 0b11 if env else 0  # on, with a sustain point
    counts = struct.pack("<BBBBBBBBBB", len(points), 0, env.sustain if env else 0, 0, 0, 0, 0, 0, flags, 0)
    return table + b"\x00" * 48 + counts


def _instrument(ins: Instrument) -> bytes:
    head = _text(ins.name, 22) + struct.pack("<BH", 0, len(ins.samples))
    body = struct.pack("<I", _SAMPLE_HEADER_SIZE) + bytes(ins.keymap) + _envelope_bytes(ins.envelope)
    body += struct.pack("<BBBBHH", 0, 0, 0, 0, 0, 0)  # no vibrato, no fadeout
    header = (struct.pack("<I", _INSTRUMENT_SIZE) + head + body).ljust(_INSTRUMENT_SIZE, b"\x00")
    return header + b"".join(_sample_header(s) for s in ins.samples) + b"".join(_pcm(s) for s in ins.samples)


def encode(
    *,
    name: str,
    channels: int,
    speed: int,
    tempo: int,
    orders: list[int],
    restart: int,
    patterns: list[list[list[Cell]]],
    instruments: list[Instrument],
) -> bytes:
    """The XM file: ``patterns`` as rows of ``channels`` cells, played in ``orders``, restarting at
    order ``restart``; the linear frequency table; ``speed`` ticks a row at ``tempo`` (BPM: a tick lasts
    2.5 / tempo seconds)."""
    head = (
        b"Extended Module: " + _text(name, 20) + b"\x1a" + _text("overworld", 20) + struct.pack("<H", 0x0104)
    )
    head += struct.pack(
        "<IHHHHHHHH",
        _HEADER_SIZE,
        len(orders),
        restart,
        channels,
        len(patterns),
        len(instruments),
        1,
        speed,
        tempo,
    )
    head += bytes(orders).ljust(256, b"\x00")
    return head + b"".join(_pattern(p) for p in patterns) + b"".join(_instrument(i) for i in instruments)
