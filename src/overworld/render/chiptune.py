"""A built-in chiptune synthesizer, numpy only, that always works: NES-style voices and their cousins.

Voices: pulse waves (duty 12.5%, 25% or 50%), triangle, and LFSR noise for drums, plus the Game Boy's
4-bit wave channel (``wave``), a two-operator FM voice (``fm``, the Mega Drive's YM2612) and a soft
sampled-instrument tone (``sample``, the SNES's S-DSP); each kind is one function in :data:`OSCILLATORS`.
Each General MIDI program maps to a voice kind and duty (``voice_for``, or a console's own map: see
:mod:`overworld.render.consoles`); drums map to noise with a period and length per drum (kicks low and
short, cymbals bright and long). Each kind has a fixed number of voices (``ChipVoices``, 6 pulse +
2 triangle + 2 noise by default; ``ChipVoices.nes()`` is the console's 2 + 1 + 1); when more notes sound
than a kind has voices, the note that started first is cut (stolen), across all tracks, as on the chip.
Envelopes: 4 ms attack, decay to 70% over 80 ms, 40 ms release. Every note segment is rendered as one
vectorised numpy expression; there is no per-sample Python loop. :func:`synthesize_tracks` keeps each
track's audio apart and unscaled (stems); :func:`synthesize` is their normalised sum.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

__all__ = [
    "OSCILLATORS",
    "ChipReport",
    "ChipVoices",
    "drum_hit",
    "one_cycle",
    "synthesize",
    "synthesize_tracks",
    "voice_for",
]

ATTACK, DECAY, SUSTAIN, RELEASE = 0.004, 0.08, 0.7, 0.04
GAIN = {"pulse": 0.22, "triangle": 0.35, "noise": 0.18, "wave": 0.3, "fm": 0.3, "sample": 0.3}


@dataclass(frozen=True)
class ChipVoices:
    """How many notes each voice kind can sound at once."""

    pulse: int = 6
    triangle: int = 2
    noise: int = 2
    wave: int = 0
    fm: int = 0
    sample: int = 0

    def limits(self) -> dict[str, int]:
        """``{kind: voices}`` for every kind."""
        return {f.name: int(getattr(self, f.name)) for f in fields(self)}

    @classmethod
    def nes(cls) -> ChipVoices:
        """The NES APU: two pulse channels, one triangle, one noise."""
        return cls(pulse=2, triangle=1, noise=1)


@dataclass(frozen=True)
class ChipReport:
    notes: int
    stolen: int  # notes cut short because a newer note needed their voice
    seconds: float
    clipped_to_cap: bool


def voice_for(program: int, is_drum: bool) -> tuple[str, float]:
    """(voice kind, pulse duty) for a GM program; drums are noise."""
    if is_drum:
        return "noise", 0.0
    if 32 <= program <= 39 or program in (43, 58, 70, 87):  # basses, contrabass, tuba, bassoon, bass+lead
        return "triangle", 0.0
    if 80 <= program <= 87:  # synth leads: square is 50%, the others thinner
        return "pulse", 0.5 if program == 80 else 0.25
    if 24 <= program <= 31 or 104 <= program <= 111:  # guitars, ethnic plucks
        return "pulse", 0.125
    if 16 <= program <= 23 or 40 <= program <= 55 or 64 <= program <= 79 or 88 <= program <= 95:
        return "pulse", 0.5  # organs, strings, ensembles, reeds, pipes, pads
    return "pulse", 0.25  # pianos, chromatic percussion, brass, the rest


def _drum_sound(pitch: int) -> tuple[float, float, bool]:
    """(noise clock in Hz, length in s, short LFSR mode) of a GM drum key."""
    if pitch in (35, 36):  # kicks
        return 1800.0, 0.12, False
    if pitch in (38, 40, 37, 39):  # snares, stick, clap
        return 9000.0, 0.16, False
    if pitch in (42, 44, 46):  # hi-hats
        return 44000.0, 0.05 if pitch != 46 else 0.25, False
    if pitch in (49, 51, 52, 55, 57, 59):  # cymbals
        return 30000.0, 0.6, False
    if 41 <= pitch <= 50:  # toms: tonal (short LFSR)
        return 800.0 + 60.0 * (pitch - 41), 0.18, True
    return 12000.0, 0.1, False


def _lfsr(short: bool) -> np.ndarray:
    """The NES noise channel's 15-bit LFSR output (period 32767, or 93 in short mode) as +-1."""
    tap = 6 if short else 1
    reg, out = 1, []
    for _ in range(93 if short else 32767):
        bit = (reg ^ (reg >> tap)) & 1
        reg = (reg >> 1) | (bit << 14)
        out.append(1.0 if reg & 1 else -1.0)
    return np.array(out, dtype=np.float32)


_NOISE = {False: None, True: None}


def _noise_table(short: bool) -> np.ndarray:
    if _NOISE[short] is None:
        _NOISE[short] = _lfsr(short)
    return _NOISE[short]


_ENV_CACHE: dict[int, np.ndarray] = {}


def _envelope(n: int, held: int, sr: int) -> np.ndarray:
    """Attack-decay-sustain for ``held`` samples, then a linear release, ``n`` samples in all."""
    head = _ENV_CACHE.get(sr)
    if head is None:  # attack and decay reach the sustain level within ATTACK + DECAY seconds
        t = np.arange(int((ATTACK + DECAY) * sr) + 1, dtype=np.float32) / sr
        head = np.minimum(t / ATTACK, 1.0) * np.where(
            t < ATTACK, 1.0, np.maximum(SUSTAIN, 1.0 - (1.0 - SUSTAIN) * (t - ATTACK) / DECAY)
        )
        _ENV_CACHE[sr] = head = head.astype(np.float32)
    env = np.full(n, SUSTAIN, dtype=np.float32)
    k = min(len(head), n)
    env[:k] = head[:k]
    if n > held:
        level = env[held - 1] if held > 0 else 0.0
        env[held:] = level * np.maximum(0.0, 1.0 - np.arange(n - held, dtype=np.float32) / (RELEASE * sr))
    return env


Voice = Callable[[int, bool], tuple[str, float]]  # (GM program, is drum) -> (kind, pulse duty)


def _pulse(steps: np.ndarray, pitch: int, duty: float, sr: int) -> np.ndarray:
    """Starts in the middle of its high part, so after whole cycles (a note held to a bar line, where
    pitch and tempo divide evenly) it is mid-plateau, not on an edge: a loop point falls between edges."""
    phase = (steps * (_hz(pitch) / sr) + duty / 2) % 1.0
    return np.where(phase < duty, np.float32(1.0), np.float32(-1.0))


def _triangle(steps: np.ndarray, pitch: int, duty: float, sr: int) -> np.ndarray:
    phase = (steps * (_hz(pitch) / sr)) % 1.0
    return (4.0 * np.abs(phase - 0.5) - 1.0).astype(np.float32)


def _noise(steps: np.ndarray, pitch: int, duty: float, sr: int) -> np.ndarray:
    clock, _length, short = _drum_sound(pitch)
    table = _noise_table(short)
    return table[(steps * (clock / sr)).astype(np.int64) % len(table)]


# the Game Boy wave channel plays 32 four-bit samples; this table is a soft sawtooth-sine blend
_WAVE_TABLE = (
    np.round(
        7.5 + 7.5 * (0.6 * np.sin(2 * np.pi * np.arange(32) / 32) + 0.4 * (1 - 2 * np.arange(32) / 32))
    ).astype(np.float32)
    / 7.5
    - 1.0
)


def _wave(steps: np.ndarray, pitch: int, duty: float, sr: int) -> np.ndarray:
    phase = (steps * (_hz(pitch) / sr)) % 1.0
    return _WAVE_TABLE[(phase * 32).astype(np.int64) % 32]


def _fm(steps: np.ndarray, pitch: int, duty: float, sr: int) -> np.ndarray:
    """Two operators: a sine carrier phase-modulated by a sine at the same frequency, index 1.5."""
    t = steps * (2.0 * np.pi * _hz(pitch) / sr)
    return np.sin(t + 1.5 * np.sin(t)).astype(np.float32)


def _sample(steps: np.ndarray, pitch: int, duty: float, sr: int) -> np.ndarray:
    """A soft instrument tone (fundamental and two quieter harmonics), as a sampled voice sounds."""
    t = steps * (2.0 * np.pi * _hz(pitch) / sr)
    return (0.7 * np.sin(t) + 0.2 * np.sin(2 * t) + 0.1 * np.sin(3 * t)).astype(np.float32)


OSCILLATORS: dict[str, Callable[[np.ndarray, int, float, int], np.ndarray]] = {
    "pulse": _pulse,
    "triangle": _triangle,
    "noise": _noise,
    "wave": _wave,
    "fm": _fm,
    "sample": _sample,
}
assert set(OSCILLATORS) == set(GAIN) == {f.name for f in fields(ChipVoices)}


def one_cycle(kind: str, duty: float, length: int) -> np.ndarray:
    """One cycle of a pitched voice kind, ``length`` samples, in [-1, 1] (a tracker's looped sample)."""
    if kind not in OSCILLATORS or kind == "noise":
        raise ValueError(
            f"no single cycle of {kind!r}; pitched kinds: {', '.join(k for k in OSCILLATORS if k != 'noise')}"
        )
    return OSCILLATORS[kind](np.arange(length, dtype=np.float64), 69, duty, int(440 * length)).astype(
        np.float32
    )


def drum_hit(pitch: int, sample_rate: int) -> np.ndarray:
    """The noise channel's sound of GM drum key ``pitch`` at full velocity, its envelope and release
    included, as one recording (a tracker's one-shot sample)."""
    held = round(_drum_sound(pitch)[1] * sample_rate)
    n = held + int(RELEASE * sample_rate)
    return _noise(np.arange(n, dtype=np.float64), pitch, 0.0, sample_rate) * _envelope(n, held, sample_rate)


def _hz(pitch: int) -> float:
    return 440.0 * 2.0 ** ((pitch - 69) / 12.0)


def _note_rows(score: Any, max_seconds: float, voice: Voice) -> list[tuple]:
    """``(start, end, pitch, velocity, kind, duty, track)`` of every sounding note, by start time."""
    rows = []
    for index, track in enumerate(score.tracks):
        kind, duty = voice(int(track.program), bool(track.is_drum))
        if kind not in OSCILLATORS:
            raise ValueError(f"unknown chiptune voice kind {kind!r}; known: {', '.join(OSCILLATORS)}")
        a = track.notes.numpy()
        for start, dur, pitch, vel in zip(
            a["time"].tolist(), a["duration"].tolist(), a["pitch"].tolist(), a["velocity"].tolist()
        ):
            if vel <= 0 or start >= max_seconds:
                continue
            end = start + _drum_sound(pitch)[1] if kind == "noise" else start + max(dur, 0.01)
            rows.append((start, min(end, max_seconds), pitch, vel, kind, duty, index))
    rows.sort(key=lambda r: r[0])
    return rows


def _allocate(rows: list[tuple], voices: ChipVoices) -> tuple[list[float], int]:
    """Each note's end after voice stealing (a kind shares its voices across tracks), and how many were
    stolen."""
    pools: dict[str, list[list[float]]] = {k: [] for k in OSCILLATORS}  # [end, start, row index]
    limits = voices.limits()
    ends = [r[1] for r in rows]
    stolen = 0
    for i, row in enumerate(rows):
        start, kind = row[0], row[4]
        pool = pools[kind]
        pool[:] = [v for v in pool if ends[int(v[2])] > start]  # voices whose notes are over are free
        if limits[kind] <= 0:
            ends[i] = start
            continue
        if len(pool) >= limits[kind]:
            victim = min(pool, key=lambda v: v[1])  # the oldest note loses its voice
            ends[int(victim[2])] = start
            pool.remove(victim)
            stolen += 1
        pool.append([ends[i], start, i])
    return ends, stolen


def synthesize_tracks(
    score: Any,
    sample_rate: int = 44100,
    max_seconds: float = 600.0,
    voices: ChipVoices = ChipVoices(),
    voice: Voice = voice_for,
) -> tuple[np.ndarray, ChipReport]:
    """``(tracks, samples)`` float32 audio of each track of a Score in seconds, unscaled (their sum is the
    mix; nothing is normalised), at most ``max_seconds`` plus a release long. ``voice`` maps a GM
    program to a voice kind and duty (default :func:`voice_for`); ``voices`` limits each kind."""
    rows = _note_rows(score, max_seconds, voice)
    end_time = max((r[1] for r in rows), default=0.0) + RELEASE
    capped = end_time > max_seconds + RELEASE
    total = int(min(end_time, max_seconds + RELEASE) * sample_rate) + 1
    out = np.zeros((len(score.tracks), total), dtype=np.float32)
    ends, stolen = _allocate(rows, voices)
    for (start, _end, pitch, vel, kind, duty, track), end in zip(rows, ends):
        s0 = round(start * sample_rate)
        held = max(1, round((end - start) * sample_rate))
        n = min(held + int(RELEASE * sample_rate), total - s0)
        if n <= 0:
            continue
        wave = OSCILLATORS[kind](np.arange(n, dtype=np.float64), pitch, duty, sample_rate)
        env = _envelope(n, min(held, n), sample_rate)
        env *= np.float32(GAIN[kind] * vel / 127.0)
        out[track, s0 : s0 + n] += wave * env
    report = ChipReport(notes=len(rows), stolen=stolen, seconds=total / sample_rate, clipped_to_cap=capped)
    return out, report


def synthesize(
    score: Any,
    sample_rate: int = 44100,
    max_seconds: float = 600.0,
    voices: ChipVoices = ChipVoices(),
    voice: Voice = voice_for,
) -> tuple[np.ndarray, ChipReport]:
    """Mono float32 audio in [-1, 1] of a Score in seconds, at most ``max_seconds`` long: the tracks of
    :func:`synthesize_tracks` summed and normalised (peak 0.89, never clipped)."""
    tracks, report = synthesize_tracks(score, sample_rate, max_seconds, voices, voice)
    out = tracks.sum(axis=0, dtype=np.float32) if len(tracks) else np.zeros(1, dtype=np.float32)
    out = out[: int(max_seconds * sample_rate) + 1]
    peak = float(np.abs(out).max()) if len(out) else 0.0
    if peak > 0:
        out *= 0.89 / peak  # normalised, never clipped
    return out, report
