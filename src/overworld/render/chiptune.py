"""A built-in chiptune synthesizer, numpy only, that always works: NES-style voices.

Voices: pulse waves (duty 12.5%, 25% or 50%), triangle, and LFSR noise for drums. Each General MIDI
program maps to a voice kind and duty (``voice_for``); drums map to noise with a period and length per
drum (kicks low and short, cymbals bright and long). Each kind has a fixed number of voices
(``ChipVoices``, 6 pulse + 2 triangle + 2 noise by default; ``ChipVoices.nes()`` is the console's
2 + 1 + 1); when more notes sound than a kind has voices, the note that started first is cut (stolen).
Envelopes: 4 ms attack, decay to 70% over 80 ms, 40 ms release. Every note segment is rendered as one
vectorised numpy expression; there is no per-sample Python loop.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["ChipReport", "ChipVoices", "synthesize", "voice_for"]

ATTACK, DECAY, SUSTAIN, RELEASE = 0.004, 0.08, 0.7, 0.04
GAIN = {"pulse": 0.22, "triangle": 0.35, "noise": 0.18}


@dataclass(frozen=True)
class ChipVoices:
    pulse: int = 6
    triangle: int = 2
    noise: int = 2

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


def synthesize(score: Any, sample_rate: int = 44100, max_seconds: float = 600.0,
               voices: ChipVoices = ChipVoices()) -> tuple[np.ndarray, ChipReport]:  # fmt: skip
    """Mono float32 audio in [-1, 1] of a Score in seconds, at most ``max_seconds`` long."""
    rows = []  # start, end, pitch, velocity, kind, duty
    for track in score.tracks:
        kind, duty = voice_for(int(track.program), bool(track.is_drum))
        a = track.notes.numpy()
        for start, dur, pitch, vel in zip(a["time"].tolist(), a["duration"].tolist(), a["pitch"].tolist(),
                                          a["velocity"].tolist()):  # fmt: skip
            if vel <= 0 or start >= max_seconds:
                continue
            end = start + _drum_sound(pitch)[1] if kind == "noise" else start + max(dur, 0.01)
            rows.append((start, min(end, max_seconds), pitch, vel, kind, duty))
    rows.sort(key=lambda r: r[0])
    end_time = max((r[1] for r in rows), default=0.0) + RELEASE
    capped = end_time > max_seconds
    total = int(min(end_time, max_seconds) * sample_rate) + 1
    out = np.zeros(total, dtype=np.float32)
    pools: dict[str, list[list[float]]] = {
        k: [] for k in ("pulse", "triangle", "noise")
    }  # [end, start, row index]
    limits = {"pulse": voices.pulse, "triangle": voices.triangle, "noise": voices.noise}
    ends = [r[1] for r in rows]
    stolen = 0
    for i, (start, _end, _pitch, _vel, kind, _duty) in enumerate(rows):
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
    for (start, _end, pitch, vel, kind, duty), end in zip(rows, ends):
        s0 = int(start * sample_rate)
        held = max(1, int((end - start) * sample_rate))
        n = min(held + int(RELEASE * sample_rate), total - s0)
        if n <= 0:
            continue
        steps = np.arange(n, dtype=np.float64)
        if kind == "noise":
            clock, _length, short = _drum_sound(pitch)
            table = _noise_table(short)
            wave = table[(steps * (clock / sample_rate)).astype(np.int64) % len(table)]
        else:
            phase = (steps * (440.0 * 2.0 ** ((pitch - 69) / 12.0) / sample_rate)) % 1.0
            if kind == "pulse":
                wave = np.where(phase < duty, np.float32(1.0), np.float32(-1.0))
            else:
                wave = (4.0 * np.abs(phase - 0.5) - 1.0).astype(np.float32)
        env = _envelope(n, min(held, n), sample_rate)
        env *= np.float32(GAIN[kind] * vel / 127.0)
        out[s0 : s0 + n] += wave * env
    peak = float(np.abs(out).max()) if len(out) else 0.0
    if peak > 0:
        out *= 0.89 / peak  # normalised, never clipped
    return out, ChipReport(
        notes=len(rows), stolen=stolen, seconds=len(out) / sample_rate, clipped_to_cap=capped
    )
