"""Does the model use what comes after a gap? Bits per note of held-out bars, past only vs past and future.

For each piece of a prepared split with at least ``3 * bars`` bars, gaps of ``bars`` bars start at a
quarter, half and three quarters of the piece (whole gaps only). Each gap's own tokens are scored twice
by the same model in one window of its ``sequence_length``:

* **past only**: the longest run of whole bars before the gap that fits the window with the gap, then the
  gap (plain continuation);
* **past and future**: the infilling context ``past FILL future MIDDLE``
  (:func:`~overworld.tokenizers.bars_infill.infill_context`), then the gap.

The gap's notes are the same in both; its tokens too, except that with the future a part that comes
back after the gap is one ``AHEAD k`` token (:func:`~overworld.tokenizers.bars_infill.ahead_gap`), as a
part that came before is one ``REPEAT k`` in both. So the two sums of ``-log2 p`` compare as codes of the
same notes; divided by the gap's notes they are bits per note. A model that reads the future scores the
gap lower with it; one that never learned to infill does not.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from overworld.errors import ConfigError
from overworld.tokenizers.abilities import bars_of

__all__ = ["Gap", "InfillReport", "held_out_gaps", "infill_likelihood", "token_bits"]

SPAN_STARTS = (0.25, 0.5, 0.75)  # where gaps start, as a share of the piece's bars


@dataclass(frozen=True)
class InfillReport:
    """Sums over every gap scored: notes, bits past only, bits with the future; and how many gaps and
    pieces (and pieces too short to hold three gaps)."""

    bars: int
    gaps: int
    pieces: int
    skipped: int
    notes: int
    bits_past: float
    bits_both: float

    @property
    def bits_per_note_past(self) -> float:
        return self.bits_past / max(self.notes, 1)

    @property
    def bits_per_note_both(self) -> float:
        return self.bits_both / max(self.notes, 1)

    @property
    def reduction(self) -> float:
        """How much lower bits per note are with the future: 0.12 is 12% lower."""
        return 1.0 - self.bits_both / self.bits_past if self.bits_past else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "gap_bars": self.bars,
            "gaps": self.gaps,
            "pieces": self.pieces,
            "skipped_pieces": self.skipped,
            "notes": self.notes,
            "bits_per_note_past_only": self.bits_per_note_past,
            "bits_per_note_past_and_future": self.bits_per_note_both,
            "reduction": self.reduction,
        }


@dataclass(frozen=True)
class Gap:
    """One held-out gap: bars ``first`` to ``end - 1`` of a piece, its ``notes``; ``past`` + ``own`` (the
    gap's own tokens) is the past-only window, ``context`` + ``gap`` (with ``AHEAD`` copies) the infilling
    one."""

    first: int
    end: int
    notes: int
    past: list[int]
    own: list[int]
    context: list[int]
    gap: list[int]


def held_out_gaps(
    tokenizer: Any, pieces: list[np.ndarray], bars: int, length: int
) -> tuple[list[Gap], int, int]:
    """The gaps of ``bars`` bars that :func:`infill_likelihood` scores in ``pieces`` for a window of
    ``length`` tokens; and how many pieces were used and how many were too short."""
    tokenizer = bars_of(tokenizer, "infilling")
    gaps: list[Gap] = []
    used = skipped = 0
    for piece in pieces:
        ids = np.asarray(piece, dtype=np.int64)
        ids = ids[(ids != tokenizer.bos_id) & (ids != tokenizer.eos_id)]
        starts = tokenizer.bar_starts(ids)
        n = len(starts)
        if n < 3 * bars:
            skipped += 1
            continue
        used += 1
        for share in SPAN_STARTS:
            first = min(int(n * share), n - bars - 1)
            end = first + bars
            context, gap = tokenizer.infill_context(ids, first, end, length)
            own = ids[starts[first] : starts[end]].tolist()  # the gap's own tokens: no future to copy
            if len(context) + len(own) + 1 > length:
                continue  # a gap longer than half the window: not scored
            notes = tokenizer.count_notes(ids[: starts[end]]) - tokenizer.count_notes(ids[: starts[first]])
            if notes == 0:
                continue
            past = tokenizer.past_bars(
                ids, starts, first, length - len(own) - 1
            )  # the longest past that fits
            gaps.append(Gap(first, end, notes, past, own, context, gap))
    return gaps, used, skipped


@torch.inference_mode()
def token_bits(model: Any, bos: int, context: list[int], gap: list[int]) -> np.ndarray:
    """``(len(gap),)``: ``-log2 p`` of each token of ``gap`` after ``BOS context`` under ``model``."""
    ids = torch.tensor([[bos, *context, *gap]], dtype=torch.long, device=next(model.parameters()).device)
    logits = model(ids[:, :-1])[0].float()  # (T, V)
    logp = torch.log_softmax(logits, dim=-1)
    targets = ids[0, 1:]
    picked = logp[torch.arange(len(targets)), targets][-len(gap) :]
    return (-picked / math.log(2)).cpu().numpy()


def infill_likelihood(model: Any, pieces: list[np.ndarray], *, bars: int = 4) -> InfillReport:
    """Score every gap of ``bars`` bars of ``pieces`` (token ids of a prepared split) past-only and with
    the future; ``model`` is what :func:`~overworld.models.load_model` returns."""
    tokenizer, lm = model.tokenizer, model.model
    bars_of(tokenizer, "--infill")  # a one-line ConfigError before any work
    if not 1 <= bars <= 16:
        raise ConfigError(f"infill gaps are 1-16 bars, not {bars}")
    was_training = lm.training
    lm.eval()
    try:
        gaps, used, skipped = held_out_gaps(tokenizer, pieces, bars, lm.config.sequence_length)
        bits_past = sum(float(token_bits(lm, tokenizer.bos_id, g.past, g.own).sum()) for g in gaps)
        bits_both = sum(float(token_bits(lm, tokenizer.bos_id, g.context, g.gap).sum()) for g in gaps)
    finally:
        lm.train(was_training)
    return InfillReport(bars, len(gaps), used, skipped, sum(g.notes for g in gaps), bits_past, bits_both)
