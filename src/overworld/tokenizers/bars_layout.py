"""The bar tokens' layout, written once and checked: the grid, the metres, durations, tempo bins and the id
of every token kind (see :mod:`overworld.tokenizers.bars` for what the tokens mean), and how a run of ids
reads back into bars and parts (:func:`_run`). The tokenizer, its encoder, grammar, infilling, plans and
variations all import it from here; :mod:`overworld.tokenizers.bars` re-exports it.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from overworld.midi.gm import DRUMS, N_INSTRUMENTS
from overworld.theory import TIME_SIGNATURES  # the metres, written once (the controls check them)

__all__ = [
    "DURATIONS",
    "MAX_POSITIONS",
    "N_PITCHES",
    "N_REPEATS",
    "N_TEMPOS",
    "N_VELOCITIES",
    "STEPS_PER_QUARTER",
    "TEMPO_MAX",
    "TEMPO_MIN",
    "TIME_SIGNATURES",
    "VELOCITY_BIN",
    "Layout",
    "bar_steps",
    "describe_token",
    "signature_index",
    "tempo_bin",
    "tempo_of_bin",
]

_I64 = np.int64

STEPS_PER_QUARTER = 12
DURATIONS: tuple[int, ...] = (
    1,
    2,
    3,
    4,
    5,
    6,
    8,
    9,
    10,
    12,
    15,
    16,
    18,
    20,
    24,
    30,
    32,
    36,
    42,
    48,
    54,
    60,
    72,
    84,
    96,
    120,
    144,
    168,
    192,
)  # fmt: skip  (grid steps: 12 a quarter)
N_TEMPOS = 32
TEMPO_MIN, TEMPO_MAX = 40.0, 250.0  # bpm, log-spaced bins
N_REPEATS = 16  # REPEAT 1..16 bars back
N_VELOCITIES = 16
VELOCITY_BIN = 128 // N_VELOCITIES
N_PITCHES = 128


def bar_steps(numerator: int, denominator: int) -> int:
    """Grid steps in a bar of ``numerator/denominator``."""
    return numerator * 4 * STEPS_PER_QUARTER // denominator


MAX_POSITIONS = max(bar_steps(n, d) for n, d in TIME_SIGNATURES)  # 96: 8/4


class Layout:
    """The id layout, written down once and checked."""

    PAD, BOS, EOS, BAR = 0, 1, 2, 3
    TIMESIG = 4
    TEMPO = TIMESIG + len(TIME_SIGNATURES)
    TRACK = TEMPO + N_TEMPOS
    REPEAT = TRACK + N_INSTRUMENTS
    POS = REPEAT + N_REPEATS
    VEL = POS + MAX_POSITIONS
    PITCH = VEL + N_VELOCITIES
    DUR = PITCH + N_PITCHES
    FILL = DUR + len(DURATIONS)  # infilling: the bars after a gap follow (fill-in-the-middle)
    MIDDLE = FILL + 1  # infilling: the gap's bars follow
    AHEAD = MIDDLE + 1  # infilling: this part is the instrument's part k bars later, after the gap (1-16)
    SIZE = AHEAD + N_REPEATS


L = Layout
assert L.TIMESIG + len(TIME_SIGNATURES) == L.TEMPO
assert L.TEMPO + N_TEMPOS == L.TRACK
assert L.TRACK + N_INSTRUMENTS == L.REPEAT
assert L.REPEAT + N_REPEATS == L.POS
assert L.POS + MAX_POSITIONS == L.VEL
assert L.VEL + N_VELOCITIES == L.PITCH
assert L.PITCH + N_PITCHES == L.DUR
assert L.DUR + len(DURATIONS) == L.FILL == L.MIDDLE - 1 == L.AHEAD - 2 == 465
assert L.AHEAD + N_REPEATS == L.SIZE == 483
assert L.SIZE < 2**16  # shards are uint16

_TEMPO_RATIO = (TEMPO_MAX / TEMPO_MIN) ** (1 / (N_TEMPOS - 1))
_DUR = np.asarray(DURATIONS, dtype=_I64)
_KINDS = (
    (L.TIMESIG, "TIMESIG"), (L.TEMPO, "TEMPO"), (L.TRACK, "TRACK"), (L.REPEAT, "REPEAT"),
    (L.POS, "POS"), (L.VEL, "VEL"), (L.PITCH, "PITCH"), (L.DUR, "DUR"), (L.FILL, None),
)  # fmt: skip


def tempo_of_bin(b: int) -> float:
    """The bpm a tempo bin decodes to."""
    return TEMPO_MIN * _TEMPO_RATIO**b


def tempo_bin(qpm: float) -> int:
    """The nearest tempo bin (log scale), clamped to 40-250 bpm."""
    if not qpm > 0:
        return tempo_bin(120.0)
    b = round(math.log(qpm / TEMPO_MIN) / math.log(_TEMPO_RATIO))
    return min(max(b, 0), N_TEMPOS - 1)  # np.clip took 10x as long


def signature_index(numerator: int, denominator: int) -> int:
    """The supported time signature for ``numerator/denominator``: itself, else one with a bar of the same
    length, else 4/4."""
    if (numerator, denominator) in TIME_SIGNATURES:
        return TIME_SIGNATURES.index((numerator, denominator))
    if denominator > 0:
        steps = numerator * 4 * STEPS_PER_QUARTER / denominator
        for i, (n, d) in enumerate(TIME_SIGNATURES):
            if bar_steps(n, d) == steps:
                return i
    return 0


def describe_token(t: int) -> str:
    """A readable name, e.g. ``PITCH(60)`` or ``REPEAT(2)``."""
    names = {L.PAD: "PAD", L.BOS: "BOS", L.EOS: "EOS", L.BAR: "BAR", L.FILL: "FILL", L.MIDDLE: "MIDDLE"}
    if t in names:
        return names[t]
    if L.AHEAD <= t < L.SIZE:
        return f"AHEAD({t - L.AHEAD + 1})"
    for (first, name), (nxt, _) in zip(_KINDS, _KINDS[1:]):
        if first <= t < nxt:
            i = t - first
            if name == "TIMESIG":
                return "TIMESIG({}/{})".format(*TIME_SIGNATURES[i])
            if name == "TEMPO":
                return f"TEMPO({tempo_of_bin(i):.0f})"
            if name == "REPEAT":
                return f"REPEAT({i + 1})"
            if name == "DUR":
                return f"DUR({DURATIONS[i]})"
            if name == "TRACK" and i == DRUMS:
                return "TRACK(drums)"
            return f"{name}({i})"
    raise ValueError(f"token {t} outside the vocabulary of {L.SIZE}")


def _run(ids: Any) -> tuple[_DecodeState, dict, list, list]:
    """Decode ``ids``: the final state, the parts ``{(bar, instrument): [(pos, pitch, duration bin,
    velocity bin)]}``, the time signatures and the tempos."""
    st = _DecodeState()
    parts: dict[tuple[int, int], list[tuple[int, int, int, int]]] = {}
    sigs: list[tuple[int, int, int]] = []
    tempos: list[tuple[int, float]] = []
    for tok in np.asarray(ids, dtype=_I64).tolist():
        st.feed(tok, sigs, tempos, parts)
    st.resolve(parts)
    return st, parts, sigs, tempos


class _DecodeState:
    """The running state of decoding: bar starts, metre, tempo, the current part and elapsed seconds."""

    def __init__(self) -> None:
        self.starts: list[int] = []
        self.bar_sigs: list[int] = []  # each bar's time signature index
        self.bar_tempos: list[int] = []  # and tempo bin
        self.sig_index = 0
        self.tempo_index = tempo_bin(120.0)
        self.bar_len = bar_steps(4, 4)
        self.sig = (4, 4)
        self.qpm = 120.0
        self.seconds = 0.0
        self.inst = -1
        self.pos = -1
        self.vel = -1
        self.pitch = -1
        self.copies: dict[tuple[int, int], tuple[int, int]] = {}  # part -> the part it copies, not yet known
        # an AHEAD part -> its own velocities, if given
        self.velocities: dict[tuple[int, int], list[int]] = {}

    @property
    def bar_seconds(self) -> float:
        """The length of the current bar in seconds."""
        return self.bar_len * 60.0 / (self.qpm * STEPS_PER_QUARTER)

    def feed(self, tok: int, sigs: list, tempos: list, parts: dict) -> None:
        """Advance by one token, recording time signatures, tempos and parts as they come."""
        if tok == L.BAR:
            if self.starts:
                self.seconds += self.bar_seconds
            self.starts.append(self.starts[-1] + self.bar_len if self.starts else 0)
            self.bar_sigs.append(self.sig_index)
            self.bar_tempos.append(self.tempo_index)
            self.inst = -1
        elif not self.starts or tok < L.TIMESIG or L.FILL <= tok < L.AHEAD or tok >= L.SIZE:
            return
        elif tok < L.TEMPO:
            self.sig_index = self.bar_sigs[-1] = tok - L.TIMESIG
            self.sig = TIME_SIGNATURES[self.sig_index]
            self.bar_len = bar_steps(*self.sig)
            sigs.append((self.starts[-1], *self.sig))
        elif tok < L.TRACK:
            self.tempo_index = self.bar_tempos[-1] = tok - L.TEMPO
            self.qpm = tempo_of_bin(self.tempo_index)
            tempos.append((self.starts[-1], self.qpm))
        elif tok < L.REPEAT:
            self.inst, self.pos, self.vel, self.pitch = tok - L.TRACK, -1, -1, -1
        elif self.inst < 0:
            return
        elif tok >= L.AHEAD:  # a bar after the gap: known once the future is read (see resolve)
            bar = len(self.starts) - 1
            self.copies[(bar, self.inst)] = (bar + tok - L.AHEAD + 1, self.inst)
            self.velocities[(bar, self.inst)] = []
        elif tok < L.POS:
            b = len(self.starts) - 1 - (tok - L.REPEAT + 1)
            if b >= 0 and (b, self.inst) in parts:
                parts[(len(self.starts) - 1, self.inst)] = list(parts[(b, self.inst)])
            elif (b, self.inst) in self.copies:  # a repeat of a part that copies one ahead
                self.copies[(len(self.starts) - 1, self.inst)] = (b, self.inst)
        elif tok < L.VEL:
            self.pos = min(tok - L.POS, self.bar_len - 1)
        elif tok < L.PITCH:
            self.vel = tok - L.VEL
            if self.pos < 0 and (len(self.starts) - 1, self.inst) in self.velocities:  # after AHEAD k
                self.velocities[(len(self.starts) - 1, self.inst)].append(self.vel)
        elif tok < L.DUR:
            self.pitch = tok - L.PITCH
        elif self.pos >= 0 and self.vel >= 0 and self.pitch >= 0:
            key = (len(self.starts) - 1, self.inst)
            parts.setdefault(key, []).append((self.pos, self.pitch, tok - L.DUR, self.vel))
            self.pitch = -1

    def resolve(self, parts: dict) -> None:
        """Fill in the parts that copy a later bar (``AHEAD k``, and repeats of such parts) from ``parts``
        as decoded to the end, with the velocities an ``AHEAD k`` gave its notes in order (notes past
        the last one given keep the copied part's); a copy of a bar that has no such part stays empty."""
        pending = dict(self.copies)
        while pending:
            ready = {key: src for key, src in pending.items() if src in parts}
            if not ready:
                return
            for key, src in ready.items():
                given = self.velocities.get(key, [])
                notes = [
                    (p, n, d, given[i] if i < len(given) else v) for i, (p, n, d, v) in enumerate(parts[src])
                ]
                parts.setdefault(key, notes)
                del pending[key]
