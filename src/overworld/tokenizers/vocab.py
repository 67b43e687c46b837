"""The performance vocabulary's id layout, written down once and checked.

======== ======= ===== =====================================================
range    first   count meaning
======== ======= ===== =====================================================
PAD      0       1     padding (never predicted)
BOS      1       1     start of a piece
EOS      2       1     end of a piece
NOTE_ON  3       128   start pitch p on the current instrument
NOTE_OFF 131     128   release pitch p on the current instrument
VELOCITY 259     32    velocity bin v (velocities 4v .. 4v+3); a state
TIME_SH. 291     100   advance time by (k+1) * 10 ms, 10 ms .. 1000 ms
INSTRUM. 391     129   select GM program 0-127, or 128 = drum kit; a state
======== ======= ===== =====================================================

Vocabulary size 520. Velocity and instrument are states: a token is emitted only when they change.
"""

from __future__ import annotations

from overworld.midi.gm import DRUMS, N_INSTRUMENTS

__all__ = [
    "BOS",
    "DRUMS",
    "EOS",
    "INSTRUMENT_OFFSET",
    "NOTE_OFF_OFFSET",
    "NOTE_ON_OFFSET",
    "N_INSTRUMENTS",
    "N_PITCHES",
    "N_TIME_SHIFTS",
    "N_VELOCITIES",
    "PAD",
    "STEP_SECONDS",
    "TIME_SHIFT_OFFSET",
    "VELOCITY_BIN",
    "VELOCITY_OFFSET",
    "VOCAB_SIZE",
    "describe_token",
    "velocity_of_bin",
]

PAD, BOS, EOS = 0, 1, 2
N_SPECIAL = 3

N_PITCHES = 128
N_VELOCITIES = 32
VELOCITY_BIN = 128 // N_VELOCITIES  # 4 velocities per bin
N_TIME_SHIFTS = 100
STEP_SECONDS = 0.010  # one time-shift step is 10 ms of real time

NOTE_ON_OFFSET = N_SPECIAL
NOTE_OFF_OFFSET = NOTE_ON_OFFSET + N_PITCHES
VELOCITY_OFFSET = NOTE_OFF_OFFSET + N_PITCHES
TIME_SHIFT_OFFSET = VELOCITY_OFFSET + N_VELOCITIES
INSTRUMENT_OFFSET = TIME_SHIFT_OFFSET + N_TIME_SHIFTS
VOCAB_SIZE = INSTRUMENT_OFFSET + N_INSTRUMENTS

assert NOTE_ON_OFFSET == 3
assert NOTE_ON_OFFSET + N_PITCHES == NOTE_OFF_OFFSET
assert NOTE_OFF_OFFSET + N_PITCHES == VELOCITY_OFFSET
assert VELOCITY_OFFSET + N_VELOCITIES == TIME_SHIFT_OFFSET
assert TIME_SHIFT_OFFSET + N_TIME_SHIFTS == INSTRUMENT_OFFSET
assert INSTRUMENT_OFFSET + N_INSTRUMENTS == VOCAB_SIZE == 520
assert VOCAB_SIZE < 2**16  # shards are uint16


def velocity_of_bin(v: int) -> int:
    """The MIDI velocity a bin decodes to: the middle of its range (bin 0 decodes to 1, never silent)."""
    return max(1, v * VELOCITY_BIN + VELOCITY_BIN // 2)


def describe_token(t: int) -> str:
    """A readable name, e.g. ``NOTE_ON(60)`` or ``TIME_SHIFT(250ms)``."""
    if t == PAD:
        return "PAD"
    if t == BOS:
        return "BOS"
    if t == EOS:
        return "EOS"
    if NOTE_ON_OFFSET <= t < NOTE_OFF_OFFSET:
        return f"NOTE_ON({t - NOTE_ON_OFFSET})"
    if NOTE_OFF_OFFSET <= t < VELOCITY_OFFSET:
        return f"NOTE_OFF({t - NOTE_OFF_OFFSET})"
    if VELOCITY_OFFSET <= t < TIME_SHIFT_OFFSET:
        return f"VELOCITY({t - VELOCITY_OFFSET})"
    if TIME_SHIFT_OFFSET <= t < INSTRUMENT_OFFSET:
        return f"TIME_SHIFT({(t - TIME_SHIFT_OFFSET + 1) * 10}ms)"
    if INSTRUMENT_OFFSET <= t < VOCAB_SIZE:
        i = t - INSTRUMENT_OFFSET
        return "INSTRUMENT(drums)" if i == DRUMS else f"INSTRUMENT({i})"
    raise ValueError(f"token {t} outside the vocabulary of {VOCAB_SIZE}")
