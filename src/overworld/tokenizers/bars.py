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

from overworld.midi.gm import DRUMS, instrument_name
from overworld.tokenizers.abilities import BarAbilities
from overworld.tokenizers.bars_layout import (  # the layout lives there; re-exported here
    _I64,
    _TEMPO_RATIO,
    DURATIONS,
    MAX_POSITIONS,
    N_PITCHES,
    N_REPEATS,
    N_TEMPOS,
    N_VELOCITIES,
    STEPS_PER_QUARTER,
    TEMPO_MAX,
    TEMPO_MIN,
    TIME_SIGNATURES,
    VELOCITY_BIN,
    Layout,
    _run,
    bar_steps,
    describe_token,
    signature_index,
    tempo_bin,
    tempo_of_bin,
)
from overworld.tokenizers.base import Tokenizer

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
    "BarTokenizer",
    "Layout",
    "bar_steps",
    "describe_token",
    "signature_index",
    "tempo_bin",
    "tempo_of_bin",
]

L = Layout


class BarTokenizer(Tokenizer, BarAbilities):
    """Bars of per-instrument parts with one-token repeats (vocabulary 483); see the module docstring.
    It declares the bar abilities (:class:`~overworld.tokenizers.abilities.BarAbilities`) that infilling,
    loops, intensity, composition and live play ask for."""

    name = "bars"
    layout = Layout
    velocity_bin = VELOCITY_BIN
    repeat_reach = N_REPEATS
    steps_per_quarter = STEPS_PER_QUARTER

    @property
    def note_end(self) -> int:
        """The grammar's kind after a note's last token, its ``DUR`` (its tables load torch: lazily)."""
        from overworld.tokenizers.bars_kinds import DUR

        return DUR

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
        """:class:`~overworld.tokenizers.bars_grammar.BarGrammar`, which reads every control of ``config``."""
        from overworld.tokenizers.bars_grammar import BarGrammar

        return BarGrammar(self, batch_size, config, budgets=budgets, max_seconds=max_seconds, max_bars=max_bars,
                          device=device)  # fmt: skip

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

    def bar_starts(self, ids: Any) -> np.ndarray:
        """See :func:`overworld.tokenizers.bars_infill.bar_starts`."""
        from overworld.tokenizers.bars_infill import bar_starts

        return bar_starts(ids)

    def past_bars(self, ids: np.ndarray, starts: np.ndarray, first: int, budget: int) -> list[int]:
        """See :func:`overworld.tokenizers.bars_infill.past_bars`."""
        from overworld.tokenizers.bars_infill import past_bars

        return past_bars(ids, starts, first, budget)

    # ------------------------------------------------------------------------------ arrangement plans
    def plan_of(self, ids: np.ndarray, source: str = "") -> Any:
        """See :func:`overworld.tokenizers.bars_plan.plan_of`."""
        from overworld.tokenizers.bars_plan import plan_of

        return plan_of(ids, source=source)

    def read_plan(self, data: dict[str, Any]) -> Any:
        """See :meth:`overworld.tokenizers.bars_plan.Plan.from_dict`."""
        from overworld.tokenizers.bars_plan import Plan

        return Plan.from_dict(data)

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.name, "vocab_size": L.SIZE}


def _drop_notes(ids: np.ndarray, drop: np.ndarray) -> np.ndarray:
    """``ids`` without the PITCH tokens marked in ``drop`` and the DUR after each."""
    gone = drop.copy()
    gone[1:] |= drop[:-1] & (ids[1:] >= L.DUR)
    return ids[~gone]
