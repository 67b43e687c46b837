"""Infilling for the bar grammar (:mod:`overworld.tokenizers.bars_grammar`): the bars after a gap (its
future) and the ``AHEAD k`` parts that copy an instrument's part ``k`` bars later, in the future.

# B batch, I instruments, K bars ahead, F the future's bars
"""

from __future__ import annotations

import torch
from torch import Tensor

from overworld.midi.gm import N_INSTRUMENTS
from overworld.tokenizers.bars_kinds import BAR, END, REPEAT, TRACK, VEL
from overworld.tokenizers.bars_layout import N_REPEATS, Layout, _run

__all__ = ["AheadMixin"]

L = Layout


class AheadMixin:
    """The future's parts, and the state of an ``AHEAD k`` part, of a grammar with ``rows``, ``bars``,
    ``start_bars``, ``inst``, ``max_bars`` and ``device``."""

    device: torch.device
    rows: Tensor  # (B,)
    bars: Tensor  # (B,)
    start_bars: Tensor  # (B,)
    inst: Tensor  # (B,)
    max_bars: int | None
    future: list[int]
    future_parts: Tensor  # (F, I)
    future_notes: Tensor  # (F, I)
    ahead_notes: Tensor  # (B,)
    ahead_vels: Tensor  # (B,)

    def _read_future(self, future: list[int]) -> None:
        """Which instruments have a part in each whole bar of an infilling context's future, and its notes."""
        future = future[future.index(L.BAR) :] if L.BAR in future else []
        self.future = future
        parts = _run(future)[1]
        size = (future.count(L.BAR), N_INSTRUMENTS)
        self.future_notes = torch.zeros(size, dtype=torch.long, device=self.device)
        for (bar, inst), notes in parts.items():
            self.future_notes[bar, inst] = len(notes)
        self.future_parts = self.future_notes > 0

    def _ahead_state(self, tok: Tensor, kind: Tensor) -> None:
        """An ``AHEAD k`` part notes how many notes it copies; each ``VEL`` after it gives one velocity."""
        ahead = (tok >= L.AHEAD) & (kind == REPEAT)
        if ahead.any():
            n = len(self.future_notes)
            f = self._future_bars()[self.rows, (tok - L.AHEAD).clamp(0, N_REPEATS - 1)]  # (B,)
            notes = self.future_notes[f.clamp(0, max(n - 1, 0)), self.inst.clamp(min=0)] if n else 0 * f
            self.ahead_notes = torch.where(ahead, notes, self.ahead_notes)
        self.ahead_vels = torch.where(
            ahead, 0, self.ahead_vels + ((kind == VEL) & (self.ahead_notes > 0)).long()
        )
        ended = (kind == TRACK) | (kind == BAR) | (kind == END)
        self.ahead_notes = torch.where(ended, 0, self.ahead_notes)
        self.ahead_vels = torch.where(ended, 0, self.ahead_vels)

    def _future_bars(self) -> Tensor:
        """``(B, K)``: the future's bar that ``AHEAD k`` points to from this bar of the gap (the gap being
        ``max_bars`` long); outside ``0 .. F - 1`` where it points to none."""
        gap_bar = self.bars - self.start_bars - 1  # (B,) 0 = the gap's first bar
        return (
            gap_bar[:, None]
            + torch.arange(1, N_REPEATS + 1, device=self.device)[None, :]
            - (self.max_bars or 0)
        )

    def _ahead(self, inst: Tensor) -> Tensor:
        """``(B, K)``: ``AHEAD k`` may copy instrument ``inst``'s part ``k`` bars later: a bar of the
        future where it has one."""
        n = len(self.future_parts)
        if not n or self.max_bars is None:
            return torch.zeros(len(self.rows), N_REPEATS, dtype=torch.bool, device=self.device)
        f = self._future_bars()
        inside = (f >= 0) & (f < n)  # (B, K)
        return inside & self.future_parts[f.clamp(0, n - 1), inst[:, None]]
