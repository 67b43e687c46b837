"""Builds raw MIDI bytes for every class of bad input prepare must survive; each file named for its case.

``write_all(folder)`` writes them beside a few good files and returns {name: expected outcome}, where the
outcome is "ok" (kept, perhaps repaired) or a fragment of the failure reason.
"""

from __future__ import annotations

import struct
from pathlib import Path

from overworld.midi.write import vlq

__all__ = ["CASES", "good_midi", "smf", "track", "vlq", "write_all"]


def track(events: bytes, declared: int | None = None) -> bytes:
    return b"MTrk" + struct.pack(">I", len(events) if declared is None else declared) + events


def smf(tracks: list[bytes], fmt: int = 1, division: int = 480, header_len: int = 6) -> bytes:
    header = struct.pack(">HHH", fmt, len(tracks), division) + b"\0" * (header_len - 6)
    return b"MThd" + struct.pack(">I", header_len) + header + b"".join(tracks)


TEMPO_120 = b"\x00\xff\x51\x03\x07\xa1\x20"
END = b"\x00\xff\x2f\x00"


def notes(pitches=(60, 64, 67), length=480, channel=0) -> bytes:
    """C major arpeggio: each note one beat long, one after another."""
    out = bytes([0x00, 0xC0 | channel, 0])
    for p in pitches:
        out += b"\x00" + bytes([0x90 | channel, p, 90]) + vlq(length) + bytes([0x80 | channel, p, 0])
    return out


def good_midi(pitches=(60, 64, 67)) -> bytes:
    return smf([track(TEMPO_120 + notes(pitches) + END)])


def _many_events(n: int) -> bytes:
    body = bytearray(b"\x00\xc0\x00")
    for i in range(n // 2):
        p = 36 + i % 48
        body += bytes([0x00, 0x90, p, 80, 0x01, 0x80, p, 0])
    return smf([track(TEMPO_120 + bytes(body) + END)])


def _rmid() -> bytes:
    data = good_midi((62, 65, 69))
    payload = b"RMID" + b"data" + struct.pack("<I", len(data)) + data
    return b"RIFF" + struct.pack("<I", len(payload)) + payload


def _smpte() -> bytes:
    division = ((256 - 25) << 8) | 40  # 25 fps, 40 ticks per frame: 1000 ticks a second
    return smf([track(notes((60, 62, 64), length=1000) + END)], division=division)


CASES: dict[str, tuple[bytes, str]] = {
    "empty.mid": (b"", "empty"),
    "html_saved_as.mid": (b"<!DOCTYPE html><html><body>404 Not Found</body></html>", "HTML page"),
    "truncated_track.mid": (good_midi()[:-9], "ok"),
    "huge_chunk_length.mid": (smf([track(TEMPO_120 + notes() + END, declared=0x7FFFFFF0)]), "ok"),
    "header_only.mid": (smf([]), "no track chunks"),
    "running_status_without_status.mid": (smf([track(b"\x00\x3c\x40" + END)]), "running status"),
    "data_byte_over_127.mid": (smf([track(b"\x00\x90\xbc\xc8" + END)]), "pitch=188"),
    "zero_tempo.mid": (
        smf([track(b"\x00\xff\x51\x03\x00\x00\x00" + notes() + END)]),
        "tempo of 0 microseconds",
    ),
    "one_microsecond_tempo.mid": (
        smf([track(b"\x00\xff\x51\x03\x00\x00\x01" + notes() + END)]),
        "tempo of 1 microseconds",
    ),
    "zero_division.mid": (smf([track(TEMPO_120 + notes() + END)], division=0), "division"),
    "smpte_division.mid": (_smpte(), "ok"),
    "giant_delta_time.mid": (
        smf([track(TEMPO_120 + b"\x00\x90\x3c\x40" + vlq(0x0FFFFFFF) + b"\x80\x3c\x00" + END)]),
        "hour limit",
    ),
    "hanging_note.mid": (smf([track(TEMPO_120 + b"\x00\x90\x3c\x40\x83\x60\x90\x40\x40" + END)]), "no notes"),
    "rmid_riff_wrapped.mid": (_rmid(), "ok"),
    "format_2.mid": (smf([track(TEMPO_120 + notes() + END)], fmt=2), "format 2"),
    "unknown_format_7.mid": (smf([track(TEMPO_120 + notes() + END)], fmt=7), "format 7"),
    "hundreds_of_thousands_of_events.mid": (_many_events(300_000), "ok"),
    "bad_header_length.mid": (smf([track(TEMPO_120 + notes() + END)], header_len=2), "header"),
}


def write_all(folder: Path) -> dict[str, str]:
    """Write every pathological case and three good files; return {file name: expected outcome}."""
    folder.mkdir(parents=True, exist_ok=True)
    expected = {}
    for name, (data, outcome) in CASES.items():
        (folder / name).write_bytes(data)
        expected[name] = outcome
    for i, chord in enumerate([(60, 64, 67), (62, 65, 69), (57, 60, 64)]):
        (folder / f"good_{i}.mid").write_bytes(good_midi(chord))
        expected[f"good_{i}.mid"] = "ok"
    return expected
