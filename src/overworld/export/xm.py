"""A composed piece as a tracker module: FastTracker 2's XM, the format a game's module player
(libxmp, libopenmpt, BASS, FMOD, Unity's importer) and every tracker (OpenMPT, MilkyTracker) reads.

Why XM and not IT: XM's header has a restart position, so the loop is the module's own (IT has none and
loops with a jump effect); its linear frequency table puts every note at equal temperament; its
instruments carry a volume envelope with a sustain point (the chip's decay and release) and a keymap
(one drum instrument, a sample per drum key); and it is the simpler format to write exactly.

The layout:

* **grid**: the fewest rows a beat (a quarter note) of 4, 6 or 12 on which every onset and end of the
  piece lands (the bar tokens' grid is 12 a quarter: sixteenths and triplets, so 12 always does; a note
  off every grid, which composing never makes, is rounded to the nearest row); one pattern a bar
  (16 rows in 4/4 at 4 a beat), bars that are the same sharing a pattern;
* **tempo**: a row lasts speed x 2.5 / tempo seconds; the speed (ticks a row) is the one whose tempo
  comes nearest an integer within FT2's 32-255 (exact for every whole bpm: speed 6 at 4 rows a beat,
  2 at 12 rows a beat, doubled for slow pieces);
* **channels**: one per voice: each track gets as many channels as it has notes sounding at once (a
  drum hit sounds until the next on its channel, as on the chip's noise channel); a note ends with a key
  off (its release follows the envelope), at most 32 channels;
* **instruments**: the chiptune synth's waveforms (:func:`overworld.render.chiptune.one_cycle`: pulse
  at its duty, triangle, the Game Boy's wave, FM, the SNES-like tone) as looped one-cycle samples with
  the synth's decay and release as an envelope; the drums as one instrument whose keys play the noise
  channel's hits (:func:`~overworld.render.chiptune.drum_hit`); note names are MIDI pitches (C-4 is
  MIDI 60), a pitch outside the XM range (MIDI 12-107) moved by octaves into it;
* **loop**: the order list is the bars in order and the restart position the loop's first bar; with an
  ending after the loop, the loop's last row jumps back (effect B) and the ending's patterns follow,
  for a game to jump to.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from overworld.errors import ConfigError
from overworld.export.xm_bytes import KEY_OFF, Cell, Envelope, Instrument, Sample, encode

__all__ = ["MAX_CHANNELS", "Grid", "grid_for", "write_xm", "xm_note"]

MAX_CHANNELS = 32  # FastTracker 2's limit
ROWS_PER_BEAT = (4, 6, 12)
CYCLE = 64  # samples in one cycle of a pitched instrument
DRUM_RATE_NOTE = 12  # a drum sample plays at 8363 Hz x 2^(12/12) on its own key
EFFECT_JUMP = 0x0B


@dataclass(frozen=True)
class Grid:
    """Rows a beat, rows a bar, and the speed and tempo that give a row its length."""

    rows_per_beat: int
    rows_per_bar: int
    speed: int
    tempo: int

    def row_seconds(self) -> float:
        return self.speed * 2.5 / self.tempo


def _speed_tempo(bpm: float, rows_per_beat: int) -> tuple[int, int]:
    """(speed, tempo) with speed x 2.5 / tempo nearest 60 / (bpm x rows_per_beat)."""
    best = None
    for speed in range(1, 32):
        exact = speed * bpm * rows_per_beat / 24
        tempo = min(255, max(32, round(exact)))
        key = (abs(tempo - exact) / exact, abs(speed - 24 / rows_per_beat))
        if best is None or key < best[0]:
            best = (key, speed, tempo)
    assert best is not None
    return best[1], best[2]


def grid_for(piece: Any) -> Grid:
    """The grid of ``piece`` (see the module docstring)."""
    tpq = piece.score.ticks_per_quarter
    times = [t for track in piece.score.tracks for n in track.notes for t in (n.time, n.end)]
    rpb = next((r for r in ROWS_PER_BEAT if all(t * r % tpq == 0 for t in times)), ROWS_PER_BEAT[-1])
    speed, tempo = _speed_tempo(piece.bpm, rpb)
    return Grid(rpb, piece.bar_ticks * rpb // tpq, speed, tempo)


def xm_note(pitch: int) -> int:
    """The XM note (1-96) of a MIDI pitch, moved by octaves into MIDI 12-107."""
    while pitch < 12:
        pitch += 12
    while pitch > 107:
        pitch -= 12
    return pitch - 11


def _tuning(cycle: int) -> tuple[int, int]:
    """(relative note, finetune) that make a ``cycle``-sample loop sound MIDI 60 on C-4."""
    semitones = 12 * math.log2(261.6255653 * cycle / 8363)
    rel = math.floor(semitones)
    return rel, round((semitones - rel) * 128)


def _pitched_instrument(number: int, kind: str, duty: float, grid: Grid) -> Instrument:
    from overworld.render.chiptune import DECAY, GAIN, RELEASE, SUSTAIN, one_cycle

    rel, fine = _tuning(CYCLE)
    if fine > 127:
        rel, fine = rel + 1, fine - 128
    label = {"triangle": "tri"}.get(kind, kind) + (f"{round(duty * 100)}" if kind == "pulse" else "")
    wave = one_cycle(kind, duty, CYCLE) * (GAIN[kind] / max(GAIN.values()))
    tick = grid.row_seconds() / grid.speed
    decay, release = max(1, round(DECAY / tick)), max(1, round(RELEASE / tick))
    envelope = Envelope(((0, 64), (decay, round(64 * SUSTAIN)), (decay + release, 0)), sustain=1)
    name = f"chip {label} #{number}"
    return Instrument(name, (Sample(name, wave, True, rel, fine),), envelope=envelope)


def _drum_instrument(number: int, keys: list[int]) -> Instrument:
    from overworld.render.chiptune import GAIN, drum_hit

    rate = round(8363 * 2 ** (DRUM_RATE_NOTE / 12))
    keymap = [0] * 96
    samples = []
    for i, key in enumerate(keys):
        hit = drum_hit(key, rate) * (GAIN["noise"] / max(GAIN.values()))
        samples.append(Sample(f"noise key {key}", hit, False, DRUM_RATE_NOTE + 49 - xm_note(key), 0))
        keymap[xm_note(key) - 1] = i
    return Instrument(f"chip noise #{number}", tuple(samples), keymap=tuple(keymap))


@dataclass(frozen=True)
class _Note:
    on: int  # row
    off: int  # row the note ends (exclusive); a drum's is the next row: a new hit may take its channel
    note: int  # XM note
    volume: int
    instrument: int  # from 1
    drum: bool


def _track_notes(track: Any, instrument: int, grid: Grid, tpq: int, total: int) -> list[_Note]:
    rows = []
    for n in track.notes:
        on = round(n.time * grid.rows_per_beat / tpq)
        if on >= total or n.velocity <= 0:
            continue
        end = min(total, round(n.end * grid.rows_per_beat / tpq))
        off = on + 1 if track.is_drum else max(on + 1, end)
        volume = max(1, round(n.velocity / 127 * 64))
        rows.append(_Note(on, off, xm_note(int(n.pitch)), volume, instrument, bool(track.is_drum)))
    return sorted(rows, key=lambda r: (r.on, -r.note))


def _allocate(notes: list[_Note]) -> list[list[_Note]]:
    """The track's notes on as few channels as never sound two at once (the first free channel)."""
    channels: list[list[_Note]] = []
    for note in notes:
        free = next((c for c in channels if c[-1].off <= note.on), None)
        if free is None:
            channels.append(free := [])
        free.append(note)
    return channels


def _key_offs(channel: list[_Note], total: int, loop_start: int | None) -> list[int]:
    """Rows where a key off ends a pitched note of ``channel`` (none where the next note starts); a note
    ending with a looped piece is released on the loop's first row, unless a note sounds across it."""
    offs = []
    for i, note in enumerate(channel):
        nxt = channel[i + 1].on if i + 1 < len(channel) else None
        if note.drum or note.off == nxt:
            continue
        if note.off < total:
            offs.append(note.off)
        elif loop_start is not None and not any(
            n.on < loop_start < n.off or n.on == loop_start for n in channel
        ):
            offs.append(loop_start)
    return offs


def _cells(channels: list[list[_Note]], total: int, loop_start: int | None) -> list[list[Cell]]:
    """``total`` rows of cells, one column per channel."""
    width = max(2, len(channels) + len(channels) % 2)  # FT2 wants an even number of channels
    rows = [[Cell()] * width for _ in range(total)]
    for c, channel in enumerate(channels):
        for row in _key_offs(channel, total, loop_start):
            rows[row][c] = Cell(note=KEY_OFF)
        for note in channel:
            rows[note.on][c] = Cell(note.note, note.instrument, note.volume)
    return rows


def _instruments(piece: Any, grid: Grid, console: Any) -> tuple[list[Instrument], list[list[_Note]]]:
    """The instruments and the channels of every track, in track order."""
    from overworld.render.chiptune import voice_for

    voice = console.voice if console is not None else voice_for
    tpq, total = piece.score.ticks_per_quarter, piece.bars * grid.rows_per_bar
    instruments: list[Instrument] = []
    channels: list[list[_Note]] = []
    for track in (t for t in piece.score.tracks if len(t.notes)):
        if track.is_drum:
            keys = sorted({int(n.pitch) for n in track.notes})
            for group in range(0, len(keys), 16):  # an XM instrument holds 16 samples
                part = track.copy()
                part.notes = [n for n in track.notes if int(n.pitch) in keys[group : group + 16]]
                instruments.append(_drum_instrument(len(instruments) + 1, keys[group : group + 16]))
                channels += _allocate(_track_notes(part, len(instruments), grid, tpq, total))
            continue
        kind, duty = voice(int(track.program), False)
        instruments.append(_pitched_instrument(len(instruments) + 1, kind, duty, grid))
        channels += _allocate(_track_notes(track, len(instruments), grid, tpq, total))
    if len(channels) > MAX_CHANNELS:
        raise ConfigError(f"the piece needs {len(channels)} channels at once; an XM holds {MAX_CHANNELS}")
    return instruments, channels


def _patterns(rows: list[list[Cell]], grid: Grid, bars: int) -> tuple[list[list[list[Cell]]], list[int]]:
    """One pattern a bar, bars with the same cells sharing one; returns (patterns, order list)."""
    patterns: list[list[list[Cell]]] = []
    index: dict[tuple, int] = {}
    orders = []
    for bar in range(bars):
        cells = rows[bar * grid.rows_per_bar : (bar + 1) * grid.rows_per_bar]
        key = tuple(tuple(r) for r in cells)
        if key not in index:
            index[key] = len(patterns)
            patterns.append(cells)
        orders.append(index[key])
    return patterns, orders


def write_xm(piece: Any, path: str | Path, *, console: Any = None) -> dict[str, Any]:
    """Write ``piece`` (a :class:`~overworld.generation.compose.Composition`) as an XM module at
    ``path`` (see the module docstring); ``console`` chooses each instrument's waveform as it does the
    synth's. Returns the layout for piece.json."""
    grid = grid_for(piece)
    total = piece.bars * grid.rows_per_bar
    loop_start = piece.loop[0] * grid.rows_per_bar if piece.loop else None
    instruments, channels = _instruments(piece, grid, console)
    rows = _cells(channels, total, loop_start)
    if piece.loop is not None and piece.loop[1] < piece.bars:  # an ending follows: the loop jumps back
        last = rows[piece.loop[1] * grid.rows_per_bar - 1]
        last[0] = Cell(last[0].note, last[0].instrument, last[0].volume, EFFECT_JUMP, piece.loop[0])
    patterns, orders = _patterns(rows, grid, piece.bars)
    restart = piece.loop[0] if piece.loop else 0
    data = encode(
        name=f"overworld {piece.seed}",
        channels=len(rows[0]),
        speed=grid.speed,
        tempo=grid.tempo,
        orders=orders,
        restart=restart,
        patterns=patterns,
        instruments=instruments,
    )
    Path(path).write_bytes(data)
    return {
        "file": Path(path).name,
        "rows_per_beat": grid.rows_per_beat,
        "rows_per_bar": grid.rows_per_bar,
        "speed": grid.speed,
        "tempo": grid.tempo,
        "row_seconds": grid.row_seconds(),
        "channels": len(rows[0]),
        "patterns": len(patterns),
        "restart_position": restart,
        "tempo_error": grid.row_seconds() * grid.rows_per_beat * piece.bpm / 60 - 1,
    }
