"""Fill-in-the-middle for bar tokens: the bars of a gap, written after the bars on both of its sides.

A training example, and the context a model infills from, is::

    [past bars] FILL [future bars, standing alone] MIDDLE [the gap's bars] EOS

* the past keeps the piece's own tokens and starts at a bar line;
* the future is written with :meth:`~overworld.tokenizers.bars.BarTokenizer.tail`: its metre and tempo
  named again and its repeats of bars before it written out, so it reads without the gap;
* the gap keeps the piece's own tokens (a ``REPEAT k`` in the gap still means ``k`` bars back in the
  piece: in the past, or earlier in the gap), except that a part written out note by note that equals
  the same instrument's part ``k`` bars later, in the future the context holds, is ``AHEAD k``: what the
  past's ``REPEAT`` is to a continuation, copying from the future is to a gap. A part whose notes equal
  such a part's but for their velocities (a tracker's volume column, an echo) is ``AHEAD k`` followed by
  one ``VEL`` per note, its own velocities in the part's order. Both codings hold the same notes, so bits
  per note of the gap after its past alone and after past and future compare (``evaluate --infill``).

Context budgets follow the model's window: the gap gets what it needs (at most half the window), the
future at most half of what is left, the past the rest; contexts built for inference use the same
proportions as training examples.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from overworld.errors import ConfigError
from overworld.tokenizers.bars_layout import N_REPEATS, Layout, _run

__all__ = [
    "MAX_GAP_BARS",
    "ahead_gap",
    "bar_starts",
    "infill_context",
    "infill_example",
    "part_spans",
    "past_bars",
]

L = Layout
MAX_GAP_BARS = 8  # training examples: gaps of 1-8 bars


def bar_starts(ids: Any) -> np.ndarray:
    """Index of every ``BAR`` token of ``ids``."""
    return np.flatnonzero(np.asarray(ids, dtype=np.int64) == L.BAR)


def past_bars(ids: np.ndarray, starts: np.ndarray, first: int, budget: int) -> list[int]:
    """The bars before bar ``first``, from the earliest bar line that keeps them within ``budget``."""
    end = int(starts[first])
    fits = [int(s) for s in starts[:first] if end - int(s) <= budget]
    return ids[fits[0] : end].tolist() if fits else []


def _future(tokenizer: Any, ids: np.ndarray, end: int, budget: int) -> tuple[list[int], int]:
    """Bars from bar ``end`` on, standing alone, cut at the last bar line within ``budget`` (the first
    bar is kept whole if it alone is longer, then cut at ``budget``); and how many whole bars it holds."""
    future = np.asarray(tokenizer.tail(ids, end), dtype=np.int64)
    if len(future) <= budget:
        return future.tolist(), len(bar_starts(future))
    cuts = [int(s) for s in bar_starts(future) if 0 < s <= budget]
    return future[: cuts[-1] if cuts else budget].tolist(), len(cuts)


def part_spans(tokens: list[int]) -> list[tuple[int, int]]:
    """``(start, end)`` of each part of ``tokens``: a ``TRACK`` up to the next ``TRACK``, ``BAR`` or the end."""
    marks = [i for i, t in enumerate(tokens) if t == L.BAR or L.TRACK <= t < L.REPEAT] + [len(tokens)]
    return [(a, b) for a, b in zip(marks, marks[1:]) if tokens[a] != L.BAR]


def ahead_gap(ids: np.ndarray, first: int, end: int, future_bars: int) -> list[int]:
    """The tokens of bars ``first`` to ``end - 1`` of ``ids`` with every part written out note by note
    that equals the same instrument's part in one of the ``future_bars`` bars after the gap as
    ``AHEAD k`` (the nearest such bar, ``k`` bars later); one whose notes equal such a part's but for
    their velocities as ``AHEAD k`` and one ``VEL`` per note, its velocities in order. Parts that repeat an
    earlier bar stay ``REPEAT``: the encoder prefers the past, as without a future."""
    starts = bar_starts(ids)
    stop = int(starts[end + future_bars]) if end + future_bars < len(starts) else len(ids)
    parts = _run(ids[:stop])[1]
    gap = ids[int(starts[first]) : int(starts[end]) if end < len(starts) else len(ids)].tolist()
    bar_of = np.cumsum(np.asarray(gap) == L.BAR) + first - 1  # the bar each token lies in
    out: list[int] = []
    done = 0
    for a, b in part_spans(gap):
        bar, inst = int(bar_of[a]), gap[a] - L.TRACK
        mine = parts.get((bar, inst))
        later = range(max(1, end - bar), min(N_REPEATS, end + future_bars - 1 - bar) + 1)
        out += gap[done:a]
        done = b
        if not mine or (b == a + 2 and L.REPEAT <= gap[a + 1] < L.POS):  # not written out
            out += gap[a:b]
        elif k := next((k for k in later if parts.get((bar + k, inst)) == mine), 0):
            out += [gap[a], L.AHEAD + k - 1]
        elif k := next((k for k in later if _notes(parts.get((bar + k, inst))) == _notes(mine)), 0):
            out += [gap[a], L.AHEAD + k - 1, *(L.VEL + v for *_, v in mine)]  # its notes, its own velocities
        else:
            out += gap[a:b]
    return out + gap[done:]


def _notes(part: list[tuple[int, int, int, int]] | None) -> list[tuple[int, int, int]] | None:
    """A part's notes without their velocities: ``(pos, pitch, duration bin)``."""
    return None if part is None else [(p, n, d) for p, n, d, _ in part]


def infill_context(
    tokenizer: Any, ids: Any, first: int, end: int, length: int
) -> tuple[list[int], list[int]]:
    """``(context, gap)`` for regenerating bars ``first`` to ``end - 1`` (0-based) of the piece ``ids``:
    the context is ``past FILL future MIDDLE`` within a window of ``length`` tokens, the gap the piece's
    own tokens of those bars with copies of the future's parts as ``AHEAD k`` (:func:`ahead_gap`). Raises
    :class:`ConfigError` for a span outside the piece."""
    ids = np.asarray(ids, dtype=np.int64)
    starts = bar_starts(ids)
    n = len(starts)
    if not 0 <= first < end <= n:
        raise ConfigError(f"bars {first + 1}-{end} are outside the piece's {n} bars")
    gap_end = int(starts[end]) if end < n else len(ids)
    room = max(length - min(gap_end - int(starts[first]), length // 2) - 3, 2)
    future, whole = _future(tokenizer, ids, end, room // 2) if end < n else ([], 0)
    past = past_bars(ids, starts, first, room - len(future))
    return [*past, L.FILL, *future, L.MIDDLE], ahead_gap(ids, first, end, whole)


def infill_example(tokenizer: Any, piece: Any, rng: np.random.Generator, length: int) -> np.ndarray | None:
    """A training window of ``length + 1`` tokens (PAD-filled) in the infilling layout, for a random gap
    of 1-8 bars with at least one bar after it; ``None`` when ``piece`` has fewer than 2 bars."""
    piece = np.asarray(piece, dtype=np.int64)
    starts = bar_starts(piece)
    n = len(starts)
    if n < 2:
        return None
    bars = int(rng.integers(1, min(MAX_GAP_BARS, n - 1) + 1))
    first = int(rng.integers(0, n - bars))
    while bars > 1 and int(starts[first + bars]) - int(starts[first]) > length // 2:
        bars -= 1  # a gap takes at most half the window
    context, gap = infill_context(tokenizer, piece, first, first + bars, length)
    seq = [*context, *gap, L.EOS] if len(gap) <= length // 2 else [*context, *gap[: length // 2]]
    out = np.full(length + 1, L.PAD, dtype=np.int64)
    out[: min(len(seq), length + 1)] = seq[: length + 1]
    return out
