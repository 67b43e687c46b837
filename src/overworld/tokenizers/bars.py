"""The bar tokenizer: music as bars of per-instrument parts on a beat grid, where a part that repeats an
earlier bar of the same instrument is one token.

Game music is built from repetition (a drum loop under a changing melody, a bass line that comes back
every two bars). Performance tokens spend ~66 tokens a second however repetitive the music is, so a
model with a 256-token window cannot see the bar it would repeat. Here a piece is::

    BAR [TIMESIG] [TEMPO] (TRACK i (REPEAT k | (POS p [VEL v] PITCH n DUR d ...)))* BAR ...

* ``BAR`` starts a bar; ``TIMESIG`` and ``TEMPO`` follow it in the first bar and where they change (the
  tempo in force at the bar's start; changes inside a bar move to the next bar line);
* one part per instrument with notes starting in the bar, in increasing instrument order (GM program
  0-127, 128 the drum kit);
* ``REPEAT k``: this part is the same as this instrument's part ``k`` bars back (1-16), note for note
  (position, pitch, duration and velocity bins); the encoder takes the nearest such bar;
* otherwise the notes in (position, pitch) order: ``POS`` when the position changes (always before the
  part's first note), ``VEL`` when the velocity bin changes (always before the part's first note),
  then ``PITCH`` and ``DUR``.

Infilling (:mod:`overworld.tokenizers.bars_infill`) adds three kinds of token: ``FILL`` and ``MIDDLE``
around the bars after a gap, and in the gap ``AHEAD k``: this part is the same instrument's part ``k``
bars later (1-16), in the bars after the gap; a decoder fills it in once it has read them.

Times are on a grid of 12 steps a quarter note (sixteenths and triplets), positions count from the bar
line, durations are binned (:data:`DURATIONS`, up to four 4/4 bars). The layout is written once below,
with asserts. Encoding and decoding go through the score's own tempo map and time signatures, so a
decoded piece has its bar lines where the original's were.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from overworld.midi.gm import DRUMS, N_INSTRUMENTS, instrument_name
from overworld.tokenizers.base import Tokenizer

__all__ = [
    "DURATIONS",
    "STEPS_PER_QUARTER",
    "TIME_SIGNATURES",
    "BarTokenizer",
    "Layout",
    "bar_steps",
    "describe_token",
    "tempo_of_bin",
]

_I64 = np.int64

STEPS_PER_QUARTER = 12
TIME_SIGNATURES: tuple[tuple[int, int], ...] = (
    (4, 4), (3, 4), (2, 4), (5, 4), (6, 4), (7, 4), (8, 4), (2, 2), (3, 2),
    (3, 8), (5, 8), (6, 8), (7, 8), (9, 8), (12, 8),
)  # fmt: skip
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


class BarTokenizer(Tokenizer):
    """Bars of per-instrument parts with one-token repeats (vocabulary 483); see the module docstring."""

    name = "bars"
    can_infill = True
    arranges = True  # its pieces have arrangement plans (overworld.tokenizers.bars_plan) a grammar follows
    steps_per_quarter = STEPS_PER_QUARTER

    vocab_size = property(lambda self: L.SIZE)  # type: ignore[assignment]
    pad_id = property(lambda self: L.PAD)  # type: ignore[assignment]
    bos_id = property(lambda self: L.BOS)  # type: ignore[assignment]
    eos_id = property(lambda self: L.EOS)  # type: ignore[assignment]

    # ----------------------------------------------------------------------------------------- encode
    def encode(self, score: Any) -> np.ndarray:
        from overworld.tokenizers.bars_encode import encode

        return encode(score)

    def bar_ticks(self, score: Any, bars: int = 0) -> np.ndarray:
        """Each bar's start in ``score``'s own ticks, bars counted as :meth:`encode` counts them (from
        the score's time signatures, up to the bar of its last note; at least ``bars`` of them)."""
        from overworld.tokenizers.bars_encode import bar_lines, grid_notes

        notes, grid = grid_notes(score)
        starts, _ = bar_lines(grid, int(notes[0].max()) if notes.shape[1] else -1, bars)
        scale = score.ticks_per_quarter / STEPS_PER_QUARTER
        return np.round(starts * scale).astype(_I64)

    def encode_bars(self, score: Any, bars: int) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`encode` and :meth:`bar_ticks` of a piece ``bars`` bars long whose last bars may be silent
        (a composed loop that ends in a rest): each silent bar after its last note is a bare ``BAR``."""
        ids, lines = self.encode(score), self.bar_ticks(score, bars)
        silent = len(lines) - int(np.count_nonzero(ids == L.BAR))
        return np.concatenate([ids, np.full(silent, L.BAR, dtype=_I64)]), lines

    def _emit(self, rows: np.ndarray, sigs: np.ndarray, tempos: np.ndarray) -> list[int]:
        """Tokens of sorted note rows ``(bar, instrument, pos, pitch, duration bin, velocity bin)``."""
        from overworld.tokenizers.bars_encode import emit

        return emit(rows, sigs, tempos).tolist()

    # ----------------------------------------------------------------------------------------- decode
    def decode_grid(self, ids: Any) -> tuple[dict[int, list[tuple[int, int, int, int]]], list, list]:
        """Notes per instrument as ``(onset step, duration step, pitch, velocity)``, the time signatures
        ``(step, numerator, denominator)`` and tempos ``(step, bpm)`` of the ids. Tokens out of order
        (a NOTE with no POS, a REPEAT of nothing) are skipped."""
        notes: dict[int, list[tuple[int, int, int, int]]] = {}
        st, parts, sigs, tempos = _run(ids)
        for (b, inst), part in parts.items():
            start = st.starts[b]
            for p, pitch, d, v in part:
                notes.setdefault(inst, []).append((start + p, DURATIONS[d], pitch, v * VELOCITY_BIN + 4))
        return notes, sigs, tempos

    def decode(self, ids: Any) -> Any:
        import symusic

        notes, sigs, tempos = self.decode_grid(ids)
        scale = 480 // STEPS_PER_QUARTER
        score = symusic.Score(480)
        for step, num, den in sigs or [(0, 4, 4)]:
            score.time_signatures.append(symusic.TimeSignature(step * scale, num, den))
        for step, qpm in tempos or [(0, 120.0)]:
            score.tempos.append(symusic.Tempo(step * scale, qpm))
        for inst, rows in sorted(notes.items()):
            a = np.asarray(sorted(rows), dtype=np.int64)
            track = symusic.Track(name=instrument_name(inst), program=0 if inst == DRUMS else inst,
                                  is_drum=inst == DRUMS)  # fmt: skip
            track.notes = symusic.Note.from_numpy(
                (a[:, 0] * scale).astype(np.int32), (a[:, 1] * scale).astype(np.int32),
                a[:, 2].astype(np.int8), np.clip(a[:, 3], 1, 127).astype(np.int8),
            )  # fmt: skip
            score.tracks.append(track)
        return score

    # ------------------------------------------------------------------------------- token arithmetic
    def augment(self, ids: np.ndarray, transpose: int = 0, stretch: float = 1.0) -> np.ndarray:
        ids = np.asarray(ids, dtype=_I64).copy()
        if transpose:
            track = np.where((ids >= L.TRACK) & (ids < L.REPEAT), ids - L.TRACK, -1)
            marker = np.where(track >= 0, np.arange(len(ids)), -1)
            last = np.maximum.accumulate(marker) if len(ids) else marker
            current = np.where(last >= 0, track[np.maximum(last, 0)], -1)
            pitched = (ids >= L.PITCH) & (ids < L.DUR) & (current >= 0) & (current != DRUMS)
            moved = ids + transpose
            keep = ~pitched | ((moved >= L.PITCH) & (moved < L.DUR))
            ids = np.where(pitched & keep, moved, ids)
            ids = _drop_notes(ids, pitched & ~keep)
        if stretch != 1.0:  # a faster or slower piece: move every tempo bin
            shift = round(-math.log(stretch) / math.log(_TEMPO_RATIO))
            is_tempo = (ids >= L.TEMPO) & (ids < L.TRACK)
            ids = np.where(is_tempo, np.clip(ids + shift, L.TEMPO, L.TRACK - 1), ids)
        return ids

    def count_notes(self, ids: np.ndarray) -> int:
        return sum(len(part) for part in _run(ids)[1].values())

    def seconds(self, ids: np.ndarray) -> float:
        st = _run(ids)[0]
        return st.seconds + (st.bar_seconds if st.starts else 0.0)

    def tail(self, ids: Any, bars: int) -> list[int]:
        """The ids of the piece from bar ``bars`` (0-based) on, standing alone: the metre and tempo in
        force are named again and repeats of earlier bars are written out. Notes that began before it are
        left out (the piece starts at a bar line)."""
        st, parts, _, _ = _run(ids)
        if bars >= len(st.starts):
            return []
        rows = [(b - bars, inst, p, pitch, d, v) for (b, inst), part in parts.items() if b >= bars
                for p, pitch, d, v in part]  # fmt: skip
        if not rows:
            return [L.BAR, L.TIMESIG + st.bar_sigs[bars], L.TEMPO + st.bar_tempos[bars]]
        a = np.asarray(sorted(rows), dtype=_I64)
        return self._emit(
            a, np.asarray(st.bar_sigs[bars:], dtype=_I64), np.asarray(st.bar_tempos[bars:], dtype=_I64)
        )

    # ---------------------------------------------------------------------------------------- sampling
    def grammar(self, batch_size: int, config: Any, *, budgets: Any, max_seconds: float | None = None,
                max_bars: int | None = None, device: Any) -> Any:  # fmt: skip
        """:class:`~overworld.tokenizers.bars_grammar.BarGrammar` with every control."""
        from overworld.theory import parse_key, parse_time_signature
        from overworld.tokenizers.bars_grammar import BarGrammar

        key = parse_key(config.key) if config.key else None
        metre = parse_time_signature(config.time_signature) if config.time_signature else None
        return BarGrammar(self, batch_size, max_polyphony=config.max_polyphony,
                          max_note_seconds=config.max_note_seconds, instruments=config.instruments,
                          max_instruments=budgets, bpm=config.bpm, grid=config.grid,
                          max_seconds=max_seconds, max_bars=max_bars, key=key, time_signature=metre,
                          steady=config.steady, device=device)  # fmt: skip

    def primer_slice(self, ids: np.ndarray, seconds: float, rng: np.random.Generator) -> np.ndarray:
        """About ``seconds`` of whole bars from a random bar line, standing alone (see :meth:`tail`)."""
        st = _run(ids)[0]
        n = len(st.starts)
        if n == 0:
            return np.zeros(0, dtype=_I64)
        bar_seconds = max(st.seconds / max(n - 1, 1), 1e-3)
        want = max(1, round(seconds / bar_seconds))
        first = int(rng.integers(0, max(1, n - want) + 1))
        piece = self.tail(ids, first)
        cut = [i for i, t in enumerate(piece) if t == L.BAR]
        return np.asarray(piece[: cut[want]] if len(cut) > want else piece, dtype=_I64)

    def infill_example(self, piece: np.ndarray, rng: np.random.Generator, length: int) -> np.ndarray | None:
        """See :func:`overworld.tokenizers.bars_infill.infill_example`."""
        from overworld.tokenizers.bars_infill import infill_example

        return infill_example(self, piece, rng, length)

    def infill_context(
        self, ids: np.ndarray, first: int, end: int, length: int
    ) -> tuple[list[int], list[int]]:
        """See :func:`overworld.tokenizers.bars_infill.infill_context`."""
        from overworld.tokenizers.bars_infill import infill_context

        return infill_context(self, ids, first, end, length)

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.name, "vocab_size": L.SIZE}


def _drop_notes(ids: np.ndarray, drop: np.ndarray) -> np.ndarray:
    """``ids`` without the PITCH tokens marked in ``drop`` and the DUR after each."""
    gone = drop.copy()
    gone[1:] |= drop[:-1] & (ids[1:] >= L.DUR)
    return ids[~gone]


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
