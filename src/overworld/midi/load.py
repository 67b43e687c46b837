"""Safe loading of Standard MIDI Files into symusic Scores measured in seconds.

A cheap pass over the chunk structure in Python runs before symusic parses the events, and repairs or
rejects what symusic would choke on. Every rejection is a :class:`MidiError` with a one-line reason.

Repaired and kept:
- RIFF-wrapped RMID files: the ``data`` chunk is unwrapped.
- a chunk whose declared length runs past the end of the file (truncated downloads, absurd lengths): the
  length is clipped to the bytes that are there; symusic reads the events that are whole.
- SMPTE division (frames per second x ticks per frame): converted to ticks per quarter with a tempo of one
  beat a second, so times in seconds are exact.
- unknown chunks between tracks are skipped.

Rejected with a reason:
- empty files, files that are not MIDI (HTML saved as .mid...), a header chunk shorter than 6 bytes,
  format 2 (independent sequences, which have no shared time line) and unknown formats, division 0,
  more than 65,535 tracks (the most a header can count);
- tempo events of 0 microseconds per beat or faster than ``MAX_QPM`` beats a minute (1 us per beat would
  squeeze a whole piece into microseconds);
- pieces longer than ``max_seconds`` (giant delta times), and files with no notes at all;
- whatever symusic's parser refuses (running status with no status byte, data bytes over 127...): its
  message becomes the reason.

Notes with no note-off are dropped by symusic's parser, as in pretty_midi; a file whose only notes hang
is reported as having no notes. Native crashes and hangs are the business of the caller's worker
isolation (``overworld.data.prepare``), not of this module.
"""

from __future__ import annotations

import logging
import math
import struct
from pathlib import Path
from typing import Any

from overworld.errors import DataError, MidiError, one_line
from overworld.midi.modules import MODULE_SUFFIXES, is_module, load_module

__all__ = [
    "MAX_QPM",
    "MAX_TRACKS",
    "MIDI_SUFFIXES",
    "in_seconds",
    "load_folder",
    "load_score",
    "repair_smf",
    "smf_bytes",
]

log = logging.getLogger(__name__)

MIDI_SUFFIXES = (".mid", ".midi", ".kar", ".rmi", ".smf")  # what counts as a MIDI file by name

MAX_QPM = 2000.0
MAX_TRACKS = 0xFFFF  # the header's 16-bit track count
_TEMPO_1S = b"\x00\xff\x51\x03\x0f\x42\x40"  # delta 0, set tempo 1,000,000 us per beat


def _unwrap_riff(data: bytes) -> bytes:
    if len(data) < 12 or data[8:12] != b"RMID":
        raise MidiError("RIFF file that is not RMID (not a MIDI file)")
    pos = 12
    while pos + 8 <= len(data):
        cid, size = data[pos : pos + 4], struct.unpack_from("<I", data, pos + 4)[0]
        if cid == b"data":
            return data[pos + 8 : pos + 8 + size]
        pos += 8 + size + (size & 1)
    raise MidiError("RMID file with no data chunk")


def repair_smf(data: bytes) -> bytes:
    """Check and repair the chunk structure; return bytes symusic can parse, or raise MidiError."""
    if not data:
        raise MidiError("empty file")
    if data[:4] == b"RIFF":
        data = _unwrap_riff(data)
    if data[:4] != b"MThd":
        what = "an HTML page, " if data[:16].lstrip()[:1] == b"<" else ""
        raise MidiError(f"{what}not a MIDI file (starts with {data[:8]!r})")
    if len(data) < 14:
        raise MidiError(f"header cut short ({len(data)} bytes)")
    header_len = struct.unpack_from(">I", data, 4)[0]
    if header_len < 6:
        raise MidiError(f"header chunk of {header_len} bytes (needs 6)")
    fmt, ntracks, division = struct.unpack_from(">HHH", data, 8)
    if fmt == 2:
        raise MidiError("format 2 (independent sequences with no shared time line) is not supported")
    if fmt > 2:
        raise MidiError(f"unknown MIDI format {fmt}")
    tracks: list[bytes] = []
    smpte = bool(division & 0x8000)
    if division == 0:
        raise MidiError("division of 0 ticks per beat")
    if smpte:
        fps = 256 - (division >> 8)
        per_frame = division & 0xFF
        if fps not in (24, 25, 29, 30) or per_frame == 0:
            raise MidiError(f"SMPTE division with {fps} frames a second and {per_frame} ticks a frame")
        division = fps * per_frame  # ticks per second, and with one beat a second, ticks per beat
        if division > 0x7FFF:
            raise MidiError(f"SMPTE division of {division} ticks a second is too fine")
    pos = 8 + header_len
    while pos + 8 <= len(data) and len(tracks) < max(ntracks, 1) * 4:
        cid = data[pos : pos + 4]
        size = struct.unpack_from(">I", data, pos + 4)[0]
        body = data[pos + 8 : pos + 8 + size]  # clipped when the declared length runs past the end
        if cid == b"MTrk":
            tracks.append(body)
        pos += 8 + size
    if not tracks:
        raise MidiError("no track chunks")
    if len(tracks) > MAX_TRACKS:  # the header counts them in 16 bits
        raise MidiError(f"has {len(tracks):,} tracks; a MIDI file holds at most {MAX_TRACKS:,}")
    if smpte:
        tracks[0] = _TEMPO_1S + tracks[0]
    out = bytearray(b"MThd" + struct.pack(">IHHH", 6, 1 if len(tracks) > 1 else fmt, len(tracks), division))
    for body in tracks:
        if not body.endswith(b"\xff\x2f\x00"):
            body = body + b"\x00\xff\x2f\x00"  # a truncated track gets its end
        out += b"MTrk" + struct.pack(">I", len(body)) + body
    return bytes(out)


def in_seconds(score: Any) -> Any:
    """``score`` with times in seconds (converted through its tempo map when it is in ticks or quarters)."""
    if str(score.ttype).lower().endswith("second"):  # symusic names the type symusic.core.Second
        return score
    return score.to("second")


def _read(source: str | Path | bytes) -> tuple[bytes, str]:
    """The bytes of ``source`` (a path or bytes) and its suffix ("" for bytes)."""
    if isinstance(source, bytes | bytearray | memoryview):
        return bytes(source), ""
    try:
        return Path(source).read_bytes(), Path(source).suffix.lower()
    except OSError as exc:
        raise MidiError(f"cannot read: {exc.strerror or exc}") from exc


def _is_module(data: bytes, suffix: str) -> bool:
    return data[:4] != b"MThd" and (is_module(data) or suffix in MODULE_SUFFIXES)


def smf_bytes(source: str | Path | bytes) -> bytes | None:
    """The Standard MIDI File ``source`` (a path or bytes) as :func:`load_score` parses it (after
    :func:`repair_smf`), every event as in the file; None for a tracker module. Raises MidiError."""
    data, suffix = _read(source)
    return None if _is_module(data, suffix) else repair_smf(data)


def load_score(source: str | Path | bytes, *, max_seconds: float = 3600.0, ttype: str = "second") -> Any:
    """Load a MIDI file (path or bytes) as a symusic Score in seconds, or raise MidiError with the reason.
    A tracker module (MOD, XM, S3M, IT: known by its content, or by a path's suffix) is played by
    :func:`overworld.midi.modules.load_module`.

    ``ttype="tick"`` returns it in the file's own ticks instead (bars and beats sit on them; checked alike).
    """
    import symusic

    if ttype not in ("second", "tick"):
        raise ValueError(f"ttype must be 'second' or 'tick', not {ttype!r}")

    data, suffix = _read(source)
    if _is_module(data, suffix):
        module = load_module(data, max_seconds=max_seconds)  # in ticks, a row a sixteenth
        return in_seconds(module) if ttype == "second" else module
    fixed = repair_smf(data)
    try:
        score = symusic.Score.from_midi(fixed)
    except Exception as exc:  # symusic raises RuntimeError / ValueError with its parser's message
        reason = str(exc).replace("MiniMidi: ", "").replace(": iostream error", "").splitlines()[0]
        raise MidiError(f"unreadable MIDI events: {reason}") from exc
    for tempo in score.tempos:
        qpm = float(tempo.qpm)
        if not math.isfinite(qpm) or qpm > MAX_QPM:
            us = tempo.mspq
            raise MidiError(f"tempo of {us} microseconds per beat ({qpm:.0f} beats a minute)")
    if score.note_num() == 0:
        raise MidiError("no notes")
    seconds = score.to("second")
    end = float(seconds.end())
    if not math.isfinite(end):
        raise MidiError("times are not finite")
    if end > max_seconds:
        raise MidiError(f"lasts {end / 3600:.1f} hours, more than the {max_seconds / 3600:g} hour limit")
    return seconds if ttype == "second" else score


def load_folder(
    folder: str | Path, ttype: str = "second"
) -> tuple[list[tuple[Path, Any]], list[tuple[Path, str]]]:
    """The MIDI files and tracker modules of ``folder`` (searched recursively) as ``(path, score)`` pairs in seconds (or in
    their own ticks with ``ttype="tick"``), and the files that could not be read as ``(path, reason)``.
    Raises :class:`DataError` if the folder holds no MIDI file."""
    root = Path(folder)
    if not root.is_dir():
        raise DataError(f"folder {root} does not exist")
    suffixes = (*MIDI_SUFFIXES, *MODULE_SUFFIXES)
    paths = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in suffixes)
    if not paths:
        raise DataError(f"{root} holds no MIDI files or tracker modules")
    scores, skipped = [], []
    for path in paths:
        try:
            scores.append((path, load_score(path, ttype=ttype)))
        except (MidiError, OSError, ValueError, RuntimeError) as exc:  # one bad file never stops the set
            reason = one_line(exc)
            log.warning("skipping %s: %s", path, reason)
            skipped.append((path, reason))
    return scores, skipped
