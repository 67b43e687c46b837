"""Closing a loop: the bars on both sides of the loop point rewritten by infilling so that the last bar
leads into bar 1, and how likely the model finds the jump from the last bar to the first.

:func:`close_loop` rewrites the bars on both sides of the loop point in one gap, as a game plays them: the
piece is rotated so that its second half comes first and its opening follows its end, the last
``loop_bars`` bars and bar 1 are infilled between the bars before them and the bars after (the model reads
both sides), and the piece is rotated back. Bar 1 is heard once from silence and then after the last bar
on every repeat, so it is written for the latter. Every note is ended at the loop point (a note still
sounding there is closed as a player lifts a key at the repeat sign; the audio carries its release tail
over the seam, :mod:`overworld.render.stems`).

:func:`loop_transitions` scores every bar transition of the looped piece with the model: the mean
negative log-likelihood per token of each bar, written out (no ``REPEAT`` shortcuts) after the bars
before it, for bars 2..N, and of bar 1 after bar N (the seam). A musical loop's seam is within the range
of the others. :func:`local_transitions` asks it a second way: each bar after only the 8 bars before it, in
the tokenizer's own coding, bits per note.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from overworld.config import SampleConfig
from overworld.generation.arrangement import Arrangement
from overworld.generation.infill import infill
from overworld.tokenizers.abilities import BarAbilities, bars_of

__all__ = ["Transitions", "close_loop", "local_transitions", "loop_transitions"]


def close_loop(
    model: Any,
    piece: Arrangement,
    bars: int,
    loop_bars: int,
    *,
    config: SampleConfig,
    metre: tuple[float, int, int],
    seed: int,
) -> Arrangement:
    """``piece`` (``bars`` bars) with its last ``loop_bars`` bars and its first rewritten across the loop
    point; ``metre`` is ``(bpm, numerator, denominator)``. Every note is closed at the loop point."""
    body = piece.closed(bars)
    k = min(loop_bars, bars - 1)
    instruments = tuple(sorted(body.notes))
    if k < 1 or not instruments:
        return body
    before = max(k, (bars + 1) // 2)  # bars that precede the loop point in the rotated piece
    rotated = body.bars(bars - before, bars).place(body.bars(0, bars - before), before)
    take = infill(
        model,
        rotated.score(*metre),
        (before - k + 1, before + 1),
        instruments=instruments,
        config=config,
        seed=seed,
        piece_bars=bars,
    )[0]
    turned = Arrangement.from_score(take.score, piece.bar)
    return turned.bars(before, bars).place(turned.bars(0, before), bars - before).closed(bars)


@dataclass(frozen=True)
class Transitions:
    """Mean negative log-likelihood per token (nats) of each bar after the ones before it: ``bars[i]`` is
    bar ``i + 2`` after bars 1..i+1; ``seam`` is bar 1 after the whole piece."""

    bars: tuple[float, ...]
    seam: float

    @property
    def within_range(self) -> bool:
        return min(self.bars) <= self.seam <= max(self.bars) if self.bars else False


def _written_out(tokenizer: BarAbilities, ids: np.ndarray, bar: int) -> list[int]:
    """Bar ``bar`` (0-based) of ``ids`` with its repeats written out, without its metre and tempo."""
    tail, L = tokenizer.tail(ids, bar), tokenizer.layout
    ends = [i for i, t in enumerate(tail) if t == L.BAR]
    one = tail[: ends[1]] if len(ends) > 1 else tail
    return [t for t in one if not L.TIMESIG <= t < L.TRACK]


def _bar_nll(lm: Any, prefix: list[int], bar: list[int], window: int) -> np.ndarray:
    """``(len(bar),)``: the NLL (nats) of each of ``bar``'s tokens after ``prefix`` (BOS first), within the
    model's window."""
    seq = [*prefix, *bar][-window:]
    x = torch.tensor(seq[:-1], dtype=torch.long, device=next(lm.parameters()).device)[None]
    with torch.inference_mode():
        logits = lm(x)[0].float()  # (T, V)
    targets = torch.tensor(seq[1:], dtype=torch.long, device=logits.device)
    nll = torch.nn.functional.cross_entropy(logits, targets, reduction="none")
    return nll[-len(bar) :].cpu().numpy()


def loop_transitions(model: Any, piece: Arrangement, bars: int, metre: tuple[float, int, int]) -> Transitions:
    """Score the transitions of ``piece`` looped (see the module docstring)."""
    tokenizer, lm = bars_of(model.tokenizer, "scoring a loop"), model.model
    twice = piece.closed(bars).place(piece.closed(bars), bars)
    ids = np.asarray(tokenizer.encode(twice.score(*metre)), dtype=np.int64)
    starts = tokenizer.bar_starts(ids)
    window = lm.config.sequence_length
    was = lm.training
    lm.eval()
    try:
        scores = []
        for b in range(1, min(bars, len(starts) - 1) + 1):
            prefix = [tokenizer.bos_id, *ids[: starts[b]].tolist()]
            scores.append(float(_bar_nll(lm, prefix, _written_out(tokenizer, ids, b), window).mean()))
    finally:
        lm.train(was)
    if len(scores) < bars:  # the second copy's first bar has no notes: the seam is the last score
        return Transitions(tuple(scores[:-1]), scores[-1] if scores else float("nan"))
    return Transitions(tuple(scores[:-1]), scores[-1])


def local_transitions(
    model: Any, piece: Arrangement, bars: int, metre: tuple[float, int, int], context: int = 8
) -> Transitions:
    """A second view of the same question: bits per note of each bar of ``piece`` looped after only the
    ``context`` bars before it (wrapping round the loop point), in the tokenizer's own coding (a repeat
    is a ``REPEAT``), for bars 2..N and for bar 1 after bar N (the seam). Every transition sees the same
    amount of music, and none is scored in a coding the model never trained on; an empty bar scores NaN
    and is left out of the range."""
    tokenizer, lm = bars_of(model.tokenizer, "scoring a loop"), model.model
    body = piece.closed(bars)
    context = min(context, bars)
    looped = body.place(body, bars).place(body, 2 * bars)
    was = lm.training
    lm.eval()
    try:
        scores = []
        for b in range(bars, 2 * bars):
            notes = body.bars(b - bars, b - bars + 1).count()
            ids = np.asarray(tokenizer.encode(looped.bars(b - context, b + 1).score(*metre)), dtype=np.int64)
            starts = tokenizer.bar_starts(ids)
            if not notes or len(starts) <= context:
                scores.append(float("nan"))
                continue
            prefix, bar = (
                [tokenizer.bos_id, *ids[: starts[context]].tolist()],
                ids[starts[context] :].tolist(),
            )
            scores.append(
                float(_bar_nll(lm, prefix, bar, lm.config.sequence_length).sum()) / math.log(2) / notes
            )
    finally:
        lm.train(was)
    return Transitions(tuple(x for x in scores[1:] if not math.isnan(x)), scores[0])
