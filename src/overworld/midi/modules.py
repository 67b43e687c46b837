"""Tracker modules (MOD, XM, S3M, IT) as symusic Scores in ticks, one pattern row a sixteenth note.

libxmp (the ``libxmplite`` package, MIT) parses the four formats into one event model and plays the song.
:func:`load_module` runs its player frame by frame from the first position until the song loops back to a
position it has played or ends (pattern breaks, position jumps, pattern loops and row delays are the
player's business, as in any tracker), and reads each row's events off it:

- **pitch**: module key 60 (ProTracker C-2, S3M and XM C-4, IT C-5: the key that plays a sample at its own
  rate) is MIDI 60, plus an IT instrument's keyboard transpose; clamped to 0-127. The sample's tuning (XM
  relative note, S3M/IT C-speed) is not added: it tunes a recording, the pattern's note names are the music.
- **onset**: the note's row, or ``EDx``/``SDx`` frames into it.
- **end**: the next note on its channel, a key off / note cut / fade (``===``, ``^^^``, ``ECx``, ``Kxx``), the
  moment the player's channel falls silent (a one-shot sample ran out, a volume slide or an envelope reached
  0), or the end of the song. A note never heard (volume 0 throughout) is dropped.
- **velocity**: the note's volume (volume column, else ``Cxx``, else the sample's default volume when the row
  names an instrument, else the channel's last volume) times the instrument's and the sample's global volume
  (IT), as a fraction of full volume, scaled to 1-127.
- **time**: ``TICKS_PER_ROW`` = tpq / 4 ticks a row, and a tempo event wherever a row's length changes. A
  frame lasts 2.5 / bpm seconds (ProTracker timing) and a row ``speed`` frames (more under a row delay), so a
  row lasts speed x 2.5 / bpm seconds and qpm = 60 / (4 x row seconds), at least ``MIN_QPM`` (rows over
  3.75 s, such as speed FF, are shortened). With a 4/4 time signature a bar is 16 rows, the beat structure of
  most modules (4 rows a beat).
- **tracks**: one per (instrument, sample), with a GM program or drum key from :func:`gm_program_for`.

Damaged or unplayable modules raise :class:`MidiError` with a one-line reason; ``max_seconds`` and
``MAX_NOTES`` bound the work and the memory.
"""

from __future__ import annotations

import contextlib
import functools
import re
import statistics
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from overworld.errors import MidiError

__all__ = ["MAX_NOTES", "MIN_QPM", "MODULE_SUFFIXES", "TICKS_PER_ROW", "TPQ", "GmMapping", "gm_program_for", "is_module",
           "load_module"]  # fmt: skip

MODULE_SUFFIXES = (".mod", ".xm", ".s3m", ".it")  # what counts as a tracker module by name
TPQ = 480
TICKS_PER_ROW = TPQ // 4  # one row is a sixteenth note
MAX_NOTES = 500_000
MIN_QPM = 4.0  # a quarter of 15 s (a row of 3.75 s) at most: a MIDI tempo holds 16.7 s a quarter

_MOD_TAG = re.compile(rb"M\.K\.|[1-9]CHN|[0-3][0-9]CH")  # the ProTracker tags libxmp-lite reads
_XMP_ERRORS = {2: "internal error in libxmp", 3: "not a MOD, XM, S3M or IT module", 4: "damaged module (libxmp could not load it)",
               5: "cannot unpack the module", 6: "system error while loading"}  # fmt: skip
# libxmp's effect codes (effects.h) for what ends, delays or glides a note
_FX_TONEPORTA, _FX_TONE_VSLIDE, _FX_PER_TPORTA = 0x03, 0x05, 0x7A
_FX_VOLSET, _FX_EXTENDED, _FX_KEYOFF = 0x0C, 0x0E, 0x14
_EX_CUT, _EX_DELAY = 0x0C, 0x0D
_KEY_OFF = 0x81  # 0x81 key off, 0x82 cut, 0x83 fade

# The structures of libxmp 4's public xmp.h (MIT), which libxmplite's own declarations leave out.
_CDEF = """
struct xmp_channel { int pan; int vol; int flg; };
struct xmp_pattern { int rows; int index[1]; };
struct xmp_event { unsigned char note, ins, vol, fxt, fxp, f2t, f2p, _flag; };
struct xmp_track { int rows; struct xmp_event event[1]; };
struct xmp_envelope { int flg, npt, scl, sus, sue, lps, lpe; short data[64]; };
struct xmp_subinstrument { int vol, gvl, pan, xpo, fin, vwf, vde, vra, vsw, rvv, sid, nna, dct, dca, ifc, ifr; };
struct xmp_keymap { unsigned char ins; signed char xpo; };
struct xmp_instrument { char name[32]; int vol; int nsm; int rls; struct xmp_envelope aei, pei, fei;
    struct xmp_keymap map[121]; struct xmp_subinstrument *sub; void *extra; };
struct xmp_sample { char name[32]; int len, lps, lpe, flg; unsigned char *data; };
struct xmp_module { char name[64]; char type[64]; int pat, trk, chn, ins, smp, spd, bpm, len, rst, gvl;
    struct xmp_pattern **xxp; struct xmp_track **xxt; struct xmp_instrument *xxi; struct xmp_sample *xxs;
    struct xmp_channel xxc[64]; unsigned char xxo[256]; };
"""


def is_module(data: bytes) -> bool:
    """Whether ``data`` starts like an XM, IT, S3M or tagged ProTracker module."""
    return (
        data[:17] == b"Extended Module: "
        or data[:4] == b"IMPM"
        or data[44:48] == b"SCRM"
        or _MOD_TAG.fullmatch(data[1080:1084]) is not None
    )


# ---------------------------------------------------------------------------------------------------------
# GM mapping: a named heuristic over an instrument's name and how it is played


class GmMapping(NamedTuple):
    program: int  # GM program 0-127 (0 for drums)
    is_drum: bool
    drum_key: int | None  # the GM drum key every note of a drum track gets
    reason: str  # which rule decided, for reports


# word prefixes -> GM drum key, first match wins; "bassdrum" and "hihat" are checked on the joined name
_DRUM_WORDS: tuple[tuple[tuple[str, ...], int], ...] = (
    (("kick", "bd", "bassdrum", "bdrum", "kik"), 36), (("rim",), 37), (("snare", "snr", "sd", "sn"), 38),
    (("clap",), 39), (("crash",), 49), (("splash",), 55), (("china",), 52), (("ride",), 51),
    (("hihat", "hat", "hh"), 42), (("cymbal", "cym"), 49), (("tom",), 45), (("conga",), 63), (("bongo",), 60),
    (("timbale",), 65), (("tamb",), 54), (("shaker", "maraca"), 70), (("cowbell",), 56), (("clave",), 75),
    (("triangle",), 81), (("woodblock", "block"), 76), (("perc", "drum", "beat"), -1),
)  # fmt: skip
# word prefixes -> GM program, first match wins (specific before generic, bass before the synth words)
_PITCHED_WORDS: tuple[tuple[tuple[str, ...], int], ...] = (
    (("bassoon",), 70), (("contrabass",), 43), (("synbass", "synthbass", "sbass"), 38), (("slap",), 36),
    (("fretless",), 35), (("bass",), 33), (("epiano", "rhodes", "ep"), 4), (("harpsi",), 6), (("clav",), 7),
    (("piano", "pno"), 0), (("celesta",), 8), (("glock",), 9), (("musicbox",), 10), (("vibra",), 11),
    (("marimba",), 12), (("xylo",), 13), (("bell",), 14), (("accord",), 21), (("harmonica",), 22),
    (("organ", "org"), 16), (("distort", "overdrive", "dist"), 30), (("guitar", "gtr", "guit"), 25),
    (("violin", "fiddle"), 40), (("viola",), 41), (("cello",), 42), (("pizz",), 45), (("harp",), 46),
    (("timpani",), 47), (("string", "str", "orchestra"), 48), (("choir", "aah", "ooh", "voice", "vox", "vocal"), 52),
    (("orchhit",), 55), (("trumpet", "tpt"), 56), (("trombone",), 57), (("tuba",), 58), (("horn",), 60),
    (("brass",), 61), (("sax",), 65), (("oboe",), 68), (("clarinet",), 71), (("piccolo",), 72),
    (("flute", "flt"), 73), (("recorder",), 74), (("panflute",), 75), (("whistle",), 78), (("ocarina",), 79),
    (("sitar",), 104), (("banjo",), 105), (("koto",), 107), (("kalimba",), 108), (("bagpipe",), 109),
    (("pad", "sweep"), 89), (("square", "sqr", "pulse", "chip", "sine"), 80), (("saw", "lead", "synth", "syn"), 81),
)  # fmt: skip


def _words(name: str) -> list[str]:
    split = re.sub(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", " ", name)  # CamelCase -> Camel Case
    return re.findall(r"[a-z]+", split.lower())


def _word_matches(word: str, kw: str) -> bool:
    """Two-letter keywords match a whole word ("bd", "sd"), three-letter ones a short word ("tom1" and "toms"
    but not "tomatoes"), longer ones any word they begin ("snaredrum", "strings")."""
    if len(kw) <= 2:
        return word == kw
    return word.startswith(kw) and (len(kw) > 3 or len(word) <= 5)


def _match(words: list[str], table: tuple[tuple[tuple[str, ...], int], ...]) -> tuple[str, int] | None:
    joined = "".join(words)  # "bass drum" -> "bassdrum"
    for keywords, value in table:
        for kw in keywords:
            if any(_word_matches(w, kw) for w in words) or (len(kw) >= 5 and kw in joined):
                return kw, value
    return None


def _drum_key(words: list[str], key: int, median_pitch: float) -> int:
    if key == 42 and ("open" in words or "oh" in words):
        return 46  # open hi-hat
    if key == 45:  # toms: low, high or mid
        return 41 if {"lo", "low", "floor"} & set(words) else 48 if {"hi", "high"} & set(words) else 45
    if key == -1:  # a drum, but which: by register
        return 36 if median_pitch < 48 else 42 if median_pitch >= 72 else 38
    return key


def gm_program_for(name: str, pitches: Sequence[int], durations: Sequence[float]) -> GmMapping:
    """The GM program (or drum key) for a module instrument, from its name and how it is played.

    In order: (1) a drum word in the name (kick/bd 36, snare/sd 38, hat/hh 42, open hat 46, crash/cymbal 49,
    ride 51, tom 41/45/48, clap 39, ...; "drum", "perc": by register) makes a drum; (2) an instrument word
    (bass 33, synth bass 38, piano 0, organ 16, guitar 25, strings 48, choir 52, brass 61, flute 73, lead 81,
    pad 89, ...) names the program; (3) a sample played at one or two pitches with short notes (median
    under 0.5 s) is a drum, by register: median pitch under 48 a kick, 72 and up a closed hi-hat, else a
    snare; (4) otherwise by register: median pitch under 48 Synth Bass 1 (38), 72 and up Lead 1 square (80),
    between Pad 2 warm (89) when notes are long (median 1 s and up), else Lead 2 sawtooth (81).
    ``durations`` are in seconds.
    """
    words = _words(name)
    median_pitch = statistics.median(pitches) if len(pitches) else 60.0
    drum = _match(words, _DRUM_WORDS)
    if drum is not None:
        return GmMapping(0, True, _drum_key(words, drum[1], median_pitch), f"drum name ({drum[0]})")
    pitched = _match(words, _PITCHED_WORDS)
    if pitched is not None:
        return GmMapping(pitched[1], False, None, f"instrument name ({pitched[0]})")
    median_duration = statistics.median(durations) if len(durations) else 0.0
    if len(pitches) and len(set(pitches)) <= 2 and median_duration < 0.5:
        key = _drum_key(words, -1, median_pitch)
        return GmMapping(0, True, key, "one or two pitches, short notes")
    if median_pitch < 48:
        return GmMapping(38, False, None, "low register")
    if median_pitch >= 72:
        return GmMapping(80, False, None, "high register")
    if median_duration >= 1.0:
        return GmMapping(89, False, None, "middle register, long notes")
    return GmMapping(81, False, None, "middle register")


# ---------------------------------------------------------------------------------------------------------
# Playing the module: libxmp's player, one frame at a time


@functools.cache
def _struct_ffi() -> Any:
    import cffi

    ffi = cffi.FFI()
    ffi.cdef(_CDEF)
    return ffi


@contextlib.contextmanager
def _player(data: bytes) -> Iterator[tuple[Any, Any, Any, Any]]:
    """(libxmp lib, its ffi, the context, the module struct) for a loaded module whose player is started."""
    try:
        from libxmplite import ffi, lib
    except ImportError as exc:
        raise MidiError("reading tracker modules needs libxmplite (pip install libxmplite)") from exc
    if lib.xmp_vercode >> 16 != 4:
        raise MidiError(f"libxmp {ffi.string(lib.xmp_version).decode()} is not libxmp 4")
    ctx = lib.xmp_create_context()
    try:
        rc = lib.xmp_load_module_from_memory(ctx, data, len(data))
        if rc != 0:
            raise MidiError(_XMP_ERRORS.get(-rc, f"libxmp error {rc}"))
        try:
            info = ffi.new("struct xmp_module_info *")
            lib.xmp_get_module_info(ctx, info)
            mod = _struct_ffi().cast("struct xmp_module *", int(ffi.cast("uintptr_t", info.mod)))
            if not 0 < mod.chn <= 64 or mod.len <= 0 or info.vol_base <= 0:
                raise MidiError(f"module with {mod.chn} channels and {mod.len} positions")
            if lib.xmp_start_player(ctx, lib.XMP_MIN_SRATE, lib.XMP_FORMAT_MONO | lib.XMP_FORMAT_8BIT) != 0:
                raise MidiError("libxmp could not start playing the module")
            yield lib, ffi, ctx, (mod, int(info.vol_base))
        finally:
            lib.xmp_end_player(ctx)
            lib.xmp_release_module(ctx)
    finally:
        lib.xmp_free_context(ctx)


@dataclass(frozen=True)
class _Patch:
    track: tuple[int, int]  # (instrument, sample)
    transpose: int  # the instrument's keyboard transpose for this key
    volume: int  # the sample's default volume
    gain: float  # instrument global volume x sample global volume, 1.0 at full


class _Instruments:
    """Names and key maps of the module's instruments, read from libxmp's structures as notes need them."""

    def __init__(self, mod: Any) -> None:
        self.mod = mod
        self.ffi = _struct_ffi()
        self._cache: dict[tuple[int, int], _Patch | None] = {}

    def patch(self, ins: int, key: int) -> _Patch | None:
        """What key ``key`` of instrument ``ins`` (from 0) plays, or None for silence."""
        if (ins, key) not in self._cache:
            self._cache[ins, key] = self._read(ins, key)
        return self._cache[ins, key]

    def _read(self, ins: int, key: int) -> _Patch | None:
        if not 0 <= ins < self.mod.ins or not 0 <= key < 121:
            return None
        xxi = self.mod.xxi[ins]
        entry = xxi.map[key]
        if entry.ins >= xxi.nsm or xxi.sub == self.ffi.NULL:
            return None
        sub = xxi.sub[entry.ins]
        gain = max(0, min(xxi.vol, 64)) / 64 * max(0, min(sub.gvl, 64)) / 64
        return _Patch((ins, int(sub.sid)), int(entry.xpo), int(sub.vol), gain)

    def name(self, track: tuple[int, int]) -> str:
        ins, sid = track
        names = [self.ffi.string(self.mod.xxi[ins].name)]
        if 0 <= sid < self.mod.smp:
            names.append(self.ffi.string(self.mod.xxs[sid].name))
        text = [" ".join(n.decode("latin-1").replace("\x00", " ").split()) for n in names]
        text = [t for t in dict.fromkeys(text) if t.isprintable() and t]
        return " / ".join(text) or f"instrument {ins + 1}"


@dataclass
class _Voice:
    start: tuple[int, int]  # (row, frame)
    pitch: int
    velocity: int
    track: tuple[int, int]
    heard: bool = False


_Note = tuple[tuple[int, int], tuple[int, int], int, int, tuple[int, int]]


@dataclass
class _Song:
    """What the player played: notes as ((row, frame), (row, frame), pitch, velocity, track), row lengths."""

    notes: list[_Note] = field(default_factory=list)
    row_frames: list[int] = field(default_factory=list)
    row_seconds: list[float] = field(default_factory=list)


@dataclass
class _RowPlan:
    """One channel's events on one row: a note to start and / or a moment the sounding note stops."""

    on_frame: int | None = None
    patch: _Patch | None = None
    pitch: int = 0
    velocity: int = 0
    off_frame: int | None = None


class _Channels:
    """Per module channel: the instrument and volume last set, and the note sounding."""

    def __init__(self, chn: int, instruments: _Instruments, vol_base: int, song: _Song) -> None:
        self.instruments, self.vol_base, self.song = instruments, vol_base, song
        self.ins = [-1] * chn
        self.volume = [float(vol_base)] * chn
        self.voices: list[_Voice | None] = [None] * chn

    def plan(self, ch: int, ev: Any, speed: int) -> _RowPlan | None:
        """Read one channel's event on a new row into what happens when in that row."""
        note, effects = ev.note, ((ev.fxt, ev.fxp), (ev.f2t, ev.f2p))
        if not (note or ev.ins or ev.vol or ev.fxt or ev.f2t):
            return None
        plan, delay, volume, porta = _RowPlan(), 0, None, False
        for fxt, fxp in effects:
            if fxt == _FX_EXTENDED and fxp >> 4 == _EX_DELAY:
                delay = fxp & 0x0F
            elif fxt == _FX_EXTENDED and fxp >> 4 == _EX_CUT and (fxp & 0x0F) < speed:
                plan.off_frame = fxp & 0x0F
            elif fxt == _FX_KEYOFF and fxp < speed:
                plan.off_frame = fxp
            elif fxt == _FX_VOLSET:
                volume = min(fxp, self.vol_base)
            porta = porta or fxt in (_FX_TONEPORTA, _FX_TONE_VSLIDE, _FX_PER_TPORTA)
        if ev.ins:
            self.ins[ch] = ev.ins - 1
        voice = self.voices[ch]
        key = note - 1 if 0 < note < _KEY_OFF else voice.pitch if voice else 60
        patch = self.instruments.patch(self.ins[ch], key)
        if ev.vol:
            volume = min(ev.vol - 1, self.vol_base)
        if volume is None and ev.ins and patch is not None and not porta:
            volume = min(patch.volume, self.vol_base)
        if volume is not None:
            self.volume[ch] = float(volume)
        if note >= _KEY_OFF:
            plan.off_frame = delay if plan.off_frame is None else min(plan.off_frame, delay)
        elif note and patch is not None and delay < speed:
            plan.on_frame, plan.patch = delay, patch
            plan.pitch = max(0, min(127, key + patch.transpose))
            level = self.volume[ch] / self.vol_base * patch.gain
            plan.velocity = max(1, min(127, round(127 * level)))
        return plan

    def start(self, ch: int, plan: _RowPlan, at: tuple[int, int]) -> None:
        self.stop(ch, at)
        assert plan.patch is not None
        self.voices[ch] = _Voice(at, plan.pitch, plan.velocity, plan.patch.track)

    def stop(self, ch: int, at: tuple[int, int]) -> None:
        voice = self.voices[ch]
        if voice is not None and voice.heard and at > voice.start:
            self.song.notes.append((voice.start, at, voice.pitch, voice.velocity, voice.track))
            if len(self.song.notes) > MAX_NOTES:
                raise MidiError(f"more than {MAX_NOTES} notes")
        self.voices[ch] = None

    def listen(self, ch: int, volume: int, at: tuple[int, int]) -> None:
        """The player's channel volume this frame: a note heard and then silent has ended."""
        voice = self.voices[ch]
        if voice is not None and at >= voice.start:
            if volume > 0:
                voice.heard = True
            elif voice.heard:
                self.stop(ch, at)


def _play(data: bytes, max_seconds: float) -> tuple[_Song, dict[tuple[int, int], str]]:
    """Play the module from its first position to its first loop (or end); collect notes, row lengths and
    the names of the (instrument, sample) pairs that played."""
    song = _Song()
    with _player(data) as (lib, ffi, ctx, (mod, vol_base)):
        instruments = _Instruments(mod)
        channels = _Channels(mod.chn, instruments, vol_base, song)
        fi = ffi.new("struct xmp_frame_info *")
        plans: dict[int, _RowPlan] = {}
        seconds, row, frame = 0.0, -1, 0
        while lib.xmp_play_frame(ctx) == 0:
            lib.xmp_get_frame_info(ctx, fi)
            if fi.loop_count > 0:
                break
            if fi.frame == 0:  # a new row
                row, frame = row + 1, 0
                song.row_frames.append(0)
                song.row_seconds.append(0.0)
                events = fi.channel_info
                plans = {
                    ch: p for ch in range(mod.chn) if (p := channels.plan(ch, events[ch].event, fi.speed))
                }
            at = (row, frame)
            for ch, plan in plans.items():
                if plan.on_frame == frame:
                    channels.start(ch, plan, at)
                if plan.off_frame == frame:
                    channels.stop(ch, at)
            for ch in range(mod.chn):
                channels.listen(ch, fi.channel_info[ch].volume, at)
            frame_seconds = 2.5 / max(int(fi.bpm), 1)
            song.row_frames[row] += 1
            song.row_seconds[row] += frame_seconds
            seconds += frame_seconds
            frame += 1
            if seconds > max_seconds:
                raise MidiError(f"plays longer than the {max_seconds / 60:g} minute limit before it loops")
        for ch in range(mod.chn):
            channels.stop(ch, (row + 1, 0))
        names = {track: instruments.name(track) for track in {n[4] for n in song.notes}}
    return song, names


# ---------------------------------------------------------------------------------------------------------
# From what was played to a symusic Score


def _timeline(song: _Song) -> tuple[list[int], list[float]]:
    """Tick and second at the start of every row, and at the end of the song."""
    ticks, starts, t = [], [], 0.0
    for r, length in enumerate(song.row_seconds):
        ticks.append(r * TICKS_PER_ROW)
        starts.append(t)
        t += length
    ticks.append(len(song.row_seconds) * TICKS_PER_ROW)
    starts.append(t)
    return ticks, starts


def _to_score(song: _Song, names: dict[tuple[int, int], str]) -> Any:
    import numpy as np
    import symusic

    row_ticks, row_starts = _timeline(song)
    n_rows = len(song.row_frames)

    def tick(at: tuple[int, int]) -> int:
        row, frame = at
        return row_ticks[row] + (frame * TICKS_PER_ROW // song.row_frames[row] if row < n_rows else 0)

    def second(at: tuple[int, int]) -> float:
        row, frame = at
        return row_starts[row] + (frame / song.row_frames[row] * song.row_seconds[row] if row < n_rows else 0)

    by_track: dict[tuple[int, int], list[tuple[int, int, int, int, float]]] = {}
    for start, end, pitch, velocity, track in song.notes:
        t0, t1 = tick(start), tick(end)
        if t1 > t0:
            by_track.setdefault(track, []).append((t0, t1 - t0, pitch, velocity, second(end) - second(start)))
    score = symusic.Score(TPQ)
    score.time_signatures.append(symusic.TimeSignature(0, 4, 4))
    last_qpm, end = 0.0, max((t0 + d for rows in by_track.values() for t0, d, *_ in rows), default=0)
    for r, length in enumerate(song.row_seconds):
        if row_ticks[r] >= end:  # rows after the last note (silence, or speed FF to stop) need no tempo
            break
        qpm = max(MIN_QPM, 60.0 / (4 * length))
        if abs(qpm - last_qpm) > 1e-6 * qpm:
            score.tempos.append(symusic.Tempo(row_ticks[r], qpm=qpm))
            last_qpm = qpm
    for track_id in sorted(by_track):
        rows = sorted(by_track[track_id])
        name = names[track_id]
        mapping = gm_program_for(name, [r[2] for r in rows], [r[4] for r in rows])
        track = symusic.Track(name=name, program=mapping.program, is_drum=mapping.is_drum)
        cols = np.array([r[:4] for r in rows], dtype=np.int64).T
        pitches = np.full_like(cols[2], mapping.drum_key) if mapping.is_drum else cols[2]
        track.notes = symusic.Note.from_numpy(cols[0], cols[1], pitches, cols[3])
        score.tracks.append(track)
    return score


def load_module(source: str | Path | bytes, *, max_seconds: float = 3600.0) -> Any:
    """Play a MOD, XM, S3M or IT module (path or bytes) to its first loop as a symusic Score in ticks
    (``TPQ`` a quarter, a row a sixteenth, a tempo map that keeps seconds right), or raise MidiError."""
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
    else:
        try:
            data = Path(source).read_bytes()
        except OSError as exc:
            raise MidiError(f"cannot read: {exc.strerror or exc}") from exc
    if not data:
        raise MidiError("empty file")
    song, names = _play(data, max_seconds)
    if not song.notes:
        raise MidiError("no notes")
    return _to_score(song, names)
