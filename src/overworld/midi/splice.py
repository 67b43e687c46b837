"""Rewriting the notes of one span of a Standard MIDI File and keeping every other event as it was.

``infill`` changes the notes that start inside a span of bars; everything else in the file must come out
as it went in: control changes (volume, pan, reverb, RPNs), pitch bends, aftertouch, program changes,
system exclusive, every meta event (track names in their own bytes, text, lyrics, markers, key and time
signatures, the tempo map), the resolution, and every note outside the span. A symusic Score keeps notes,
tempos and signatures only, so this works on the file's events:

* each track's events are read with running status written out (meta and sysex events byte for byte);
* the notes of the rewritten instruments that start inside the span are dropped: the note-on and the
  note-off that ends it, paired first in, first out per channel and pitch within a track, as symusic pairs
  them; a note's instrument is its channel's program in its track at its onset (channel 10: drums, 128);
* the new notes go to the track and channel where their instrument plays at the span's start (the one with
  most of its notes), a new track on a free channel where it plays nowhere; a new note that would start
  while a kept note of its pitch sounds on that channel is left out, one that would overlap the next is
  shortened to end where it begins;
* at one tick, new note-offs come before the file's events and new note-ons after them.
"""

from __future__ import annotations

import struct
from collections import defaultdict, deque
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

import numpy as np

from overworld.errors import MidiError

__all__ = ["fit_notes", "read_events", "splice_notes"]

DRUMS = 128
Event = tuple[int, bytes]  # (absolute tick, the event's bytes from its status byte)
_END = b"\xff\x2f\x00"


def vlq(n: int) -> bytes:
    """A MIDI variable-length quantity (7 bits a byte, most significant first; at most 0x0FFFFFFF)."""
    out = [n & 0x7F]
    n >>= 7
    while n:
        out.append(0x80 | (n & 0x7F))
        n >>= 7
    return bytes(reversed(out))


def _read_vlq(data: bytes, pos: int) -> tuple[int, int]:
    value = 0
    for _ in range(4):
        if pos >= len(data):
            raise MidiError("a track ends inside a variable-length number")
        byte = data[pos]
        pos += 1
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            return value, pos
    raise MidiError("a variable-length number longer than 4 bytes")


def _sized(body: bytes, pos: int, head: int) -> int:
    """The end of a meta (``head`` 2) or sysex (``head`` 1) event at ``pos``."""
    length, start = _read_vlq(body, pos + head)
    return start + length


def read_events(body: bytes) -> list[Event]:
    """The events of one ``MTrk`` body up to its end-of-track (which is the last event), at absolute ticks;
    a channel event always carries its status byte. An event cut short by the end of the data ends the
    track there, as symusic reads it."""
    events: list[Event] = []
    pos = tick = running = 0
    while pos < len(body):
        delta, pos = _read_vlq(body, pos)
        tick += delta
        if pos >= len(body):
            break
        status = body[pos]
        if status in (0xFF, 0xF0, 0xF7):
            end = _sized(body, pos, 2 if status == 0xFF else 1)
            if end > len(body):
                break
            events.append((tick, body[pos:end]))
            running = running if status == 0xFF else 0
            pos = end
            if events[-1][1][:2] == _END[:2]:
                return events
            continue
        if status & 0x80:
            if status > 0xEF:
                raise MidiError(f"system message 0x{status:02X} inside a track")
            running, pos = status, pos + 1
        elif not running:
            raise MidiError("running status with no status byte")
        size = 1 if running & 0xF0 in (0xC0, 0xD0) else 2
        if pos + size > len(body):
            break
        events.append((tick, bytes([running]) + body[pos : pos + size]))
        pos += size
    events.append((events[-1][0] if events else 0, _END))
    return events


@dataclass
class _Track:
    """One track's events and what splicing needs to know of its notes."""

    events: list[Event]
    drop: set[int] = field(default_factory=set)  # indices of the events taken out
    kept: dict[tuple[int, int], list[tuple[int, int]]] = field(default_factory=dict)  # (ch, pitch) -> spans
    plays: dict[tuple[int, int], int] = field(default_factory=lambda: defaultdict(int))  # (inst, ch) -> notes
    channels: set[int] = field(default_factory=set)


def _scan(events: list[Event], span: tuple[int, int], only: Collection[int]) -> _Track:
    """Pair the notes of one track, mark those to drop, and note the kept ones and who plays where."""
    track, start, end = _Track(events), span[0], span[1]
    program = [0] * 16
    at_start = [0] * 16  # each channel's program at the span's start
    open_notes: dict[tuple[int, int], deque] = defaultdict(deque)
    played: list[tuple[int, int]] = []  # (instrument, channel) of each note
    for i, (tick, data) in enumerate(events):
        kind, ch = data[0] & 0xF0, data[0] & 0x0F
        if data[0] >= 0xF0:
            continue
        track.channels.add(ch)
        if kind == 0xC0:
            program[ch] = data[1]
            at_start[ch] = data[1] if tick <= start else at_start[ch]
        elif kind == 0x90 and data[2]:
            inst = DRUMS if ch == 9 else program[ch]
            open_notes[ch, data[1]].append((i, tick, inst))
            played.append((inst, ch))
        elif kind in (0x80, 0x90) and open_notes[ch, data[1]]:
            on, onset, inst = open_notes[ch, data[1]].popleft()
            if start <= onset < end and (not only or inst in only):
                track.drop.update((on, i))
            elif onset < end and tick > start:
                track.kept.setdefault((ch, data[1]), []).append((onset, tick))
    for rest in open_notes.values():  # notes never ended: symusic has no such notes
        track.drop.update(
            on for on, onset, inst in rest if start <= onset < end and (not only or inst in only)
        )
    for inst, ch in played:  # where a new note of ``inst`` would sound as ``inst``
        track.plays[inst, ch] += inst == (DRUMS if ch == 9 else at_start[ch])
    return track


def _place(tracks: list[_Track], inst: int) -> tuple[int, int] | None:
    """The (track, channel) where ``inst`` plays at the span's start with the most notes, else None."""
    best = max(
        ((n, -t, ch) for t, tr in enumerate(tracks) for (i, ch), n in tr.plays.items() if i == inst and n),
        default=None,
    )
    return None if best is None else (-best[1], best[2])


def fit_notes(rows: np.ndarray, kept: Mapping[int, list[tuple[int, int]]]) -> np.ndarray:
    """The rows ``(tick, duration, pitch, velocity)`` that can sound beside the kept notes ``kept``
    (pitch -> ``(onset, end)`` ticks): none starting while a kept note of its pitch sounds, each ending
    by the next onset of its pitch (kept or new); sorted by pitch, then tick."""
    rows = np.asarray(rows, dtype=np.int64).reshape(-1, 4)
    rows = rows[np.lexsort((rows[:, 0], rows[:, 2]))]
    out = []
    for n, (tick, duration, pitch, velocity) in enumerate(rows.tolist()):
        spans = kept.get(pitch, [])
        if any(s <= tick < e for s, e in spans):
            continue
        later = [s for s, _ in spans if s > tick]
        if n + 1 < len(rows) and rows[n + 1, 2] == pitch:
            later.append(int(rows[n + 1, 0]))
        end = min([tick + max(1, duration), *later])
        if end > tick:
            out.append((tick, end - tick, pitch, min(127, max(1, velocity))))
    return np.array(out, dtype=np.int64).reshape(-1, 4)


def _note_events(
    rows: np.ndarray, ch: int, kept: Mapping[tuple[int, int], list]
) -> list[tuple[int, int, bytes]]:
    """``(tick, order, bytes)`` of the new notes ``rows`` on channel ``ch`` (see :func:`fit_notes`)."""
    out = []
    for tick, duration, pitch, velocity in fit_notes(
        rows, {p: v for (c, p), v in kept.items() if c == ch}
    ).tolist():
        out += [
            (tick + duration, 0, bytes([0x80 | ch, pitch, 64])),
            (tick, 2, bytes([0x90 | ch, pitch, velocity])),
        ]
    return out


def _chunk(events: list[tuple[int, int, bytes]]) -> bytes:
    body, last = bytearray(), 0
    ends = [t for t, _, data in events if data == _END]
    events = [e for e in events if e[2] != _END]
    events.sort(key=lambda e: (e[0], e[1]))  # stable: the file's own order within its ticks
    finish = max([*ends, events[-1][0] if events else 0])
    for tick, _, data in [*events, (finish, 3, _END)]:
        body += vlq(tick - last) + data
        last = tick
    return b"MTrk" + struct.pack(">I", len(body)) + bytes(body)


def _new_track(inst: int, ch: int, rows: np.ndarray) -> list[tuple[int, int, bytes]]:
    from overworld.midi.gm import instrument_name

    name = instrument_name(inst).encode("utf-8")[:127]
    head = [(0, 1, b"\xff\x03" + vlq(len(name)) + name)]
    if inst != DRUMS:
        head.append((0, 1, bytes([0xC0 | ch, inst])))
    return head + _note_events(rows, ch, {})


def splice_notes(
    data: bytes, span: tuple[int, int], notes: Mapping[int, np.ndarray], instruments: Collection[int] = ()
) -> tuple[bytes, int]:
    """The SMF ``data`` (as :func:`overworld.midi.load.repair_smf` returns it) with the notes of
    ``instruments`` (GM programs, 128 drums; empty: all) that start in ``span`` (ticks, end excluded)
    replaced by ``notes``: instrument -> rows ``(tick, duration, pitch, velocity)`` in the file's ticks.
    Returns the new file's bytes and how many new notes it holds (see the module docstring)."""
    fmt, _, division = struct.unpack_from(">HHH", data, 8)
    bodies, pos = [], 8 + struct.unpack_from(">I", data, 4)[0]
    while pos + 8 <= len(data):
        size = struct.unpack_from(">I", data, pos + 4)[0]
        if data[pos : pos + 4] == b"MTrk":
            bodies.append(data[pos + 8 : pos + 8 + size])
        pos += 8 + size
    tracks = [_scan(read_events(b), span, set(instruments)) for b in bodies]
    merged = [[(t, 1, d) for i, (t, d) in enumerate(tr.events) if i not in tr.drop] for tr in tracks]
    free = [c for c in range(16) if c != 9 and not any(c in tr.channels for tr in tracks)]
    for inst, rows in sorted(notes.items()):
        rows = np.asarray(rows, dtype=np.int64).reshape(-1, 4)
        where = _place(tracks, inst)
        if where is not None:
            merged[where[0]] += _note_events(rows, where[1], tracks[where[0]].kept)
        elif inst == DRUMS or free:
            merged.append(_new_track(inst, 9 if inst == DRUMS else free.pop(0), rows))
    written = sum(1 for events in merged for _, order, d in events if order == 2 and d[0] & 0xF0 == 0x90)
    chunks = [_chunk(events) for events in merged]
    head = b"MThd" + struct.pack(">IHHH", 6, 1 if len(chunks) > 1 else fmt, len(chunks), division)
    return head + b"".join(chunks), written
