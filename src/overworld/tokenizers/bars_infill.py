"""Fill-in-the-middle for bar tokens: the bars of a gap, written after the bars on both of its sides.

A training example, and the context a model infills from, is::

    [past bars] FILL [future bars, standing alone] MIDDLE [the gap's bars] EOS

* the past keeps the piece's own tokens and starts at a bar line;
* the future is written with :meth:`~overworld.tokenizers.bars.BarTokenizer.tail`: its metre and tempo
  named again and its repeats of bars before it written out, so it reads without the gap;
* the gap keeps the piece's own tokens: a ``REPEAT k`` in the gap still means ``k`` bars back in the
  piece (in the past, or earlier in the gap). So the gap after its past and future is scored on exactly
  the tokens of the gap after its past alone, and the two likelihoods compare (``evaluate --infill``).

Context budgets follow the model's window: the gap gets what it needs (at most half the window), the
future at most half of what is left, the past the rest; contexts built for inference use the same
proportions as training examples.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from overworld.errors import ConfigError
from overworld.tokenizers.bars import Layout

__all__ = ["MAX_GAP_BARS", "bar_starts", "infill_context", "infill_example", "past_bars"]

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


def _future(tokenizer: Any, ids: np.ndarray, end: int, budget: int) -> list[int]:
    """Bars from bar ``end`` on, standing alone, cut at the last bar line within ``budget`` (the first
    bar is kept whole if it alone is longer, then cut at ``budget``)."""
    future = np.asarray(tokenizer.tail(ids, end), dtype=np.int64)
    if len(future) <= budget:
        return future.tolist()
    cuts = [int(s) for s in bar_starts(future) if 0 < s <= budget]
    return future[: cuts[-1] if cuts else budget].tolist()


def infill_context(
    tokenizer: Any, ids: Any, first: int, end: int, length: int
) -> tuple[list[int], list[int]]:
    """``(context, gap)`` for regenerating bars ``first`` to ``end - 1`` (0-based) of the piece ``ids``:
    the context is ``past FILL future MIDDLE`` within a window of ``length`` tokens, the gap the piece's
    own tokens of those bars. Raises :class:`ConfigError` for a span outside the piece."""
    ids = np.asarray(ids, dtype=np.int64)
    starts = bar_starts(ids)
    n = len(starts)
    if not 0 <= first < end <= n:
        raise ConfigError(f"bars {first + 1}-{end} are outside the piece's {n} bars")
    gap_end = int(starts[end]) if end < n else len(ids)
    gap = ids[int(starts[first]) : gap_end].tolist()
    room = max(length - min(len(gap), length // 2) - 3, 2)
    future = _future(tokenizer, ids, end, room // 2) if end < n else []
    past = past_bars(ids, starts, first, room - len(future))
    return [*past, L.FILL, *future, L.MIDDLE], gap


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
