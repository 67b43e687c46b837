"""The kinds of bar tokens the grammar follows (:mod:`overworld.tokenizers.bars_grammar`), the kind of
every id, and the lookup tables its masks index once a token instead of building comparisons.

# V vocabulary, I instruments, P positions, H steps ahead
"""

from __future__ import annotations

import torch
from torch import Tensor

from overworld.midi.gm import N_INSTRUMENTS
from overworld.tokenizers.bars_layout import DURATIONS, MAX_POSITIONS, Layout

__all__ = ["BAR", "DUR", "END", "HORIZON", "PITCH", "POS", "REPEAT", "START", "TEMPO", "TIMESIG", "TRACK",
           "VEL", "MaskTables", "kind_table"]  # fmt: skip

L = Layout
START, BAR, TIMESIG, TEMPO, TRACK, REPEAT, POS, VEL, PITCH, DUR, END = range(11)  # token kinds
HORIZON = MAX_POSITIONS + DURATIONS[-1]  # steps from the bar line that sounding notes are tracked over


def kind_table() -> Tensor:
    """``(V,)``: the kind of every token id."""
    kind = torch.full((L.SIZE,), END, dtype=torch.long)
    kind[L.BAR] = BAR
    bounds = ((L.TIMESIG, L.TEMPO, TIMESIG), (L.TEMPO, L.TRACK, TEMPO), (L.TRACK, L.REPEAT, TRACK),
              (L.REPEAT, L.POS, REPEAT), (L.POS, L.VEL, POS), (L.VEL, L.PITCH, VEL),
              (L.PITCH, L.DUR, PITCH), (L.DUR, L.FILL, DUR), (L.AHEAD, L.SIZE, REPEAT))  # fmt: skip
    for first, end, k in bounds:
        kind[first:end] = k
    return kind


def _greater(n: int, device: torch.device) -> Tensor:
    """``(n + 1, n)``: row ``j + 1`` is True at the indices above ``j`` (``j`` from -1)."""
    return torch.arange(n, device=device)[None, :] > torch.arange(-1, n, device=device)[:, None]


class MaskTables:
    """Per device and onset grid (``grid_step``: every position, or every 12 / grid): tables indexed by a
    row's state, each row ``j + 1`` for a state ``j`` that may be -1 (none yet)."""

    def __init__(self, device: torch.device, grid_step: int) -> None:
        p = torch.arange(MAX_POSITIONS, device=device)
        lengths = torch.arange(MAX_POSITIONS + 1, device=device)[:, None]
        self.inside = (p[None, :] < lengths) & (p % grid_step == 0)[None, :]  # (P + 1, P) by bar length
        self.after_pos = _greater(MAX_POSITIONS, device)  # (P + 1, P): positions after a position
        self.above = _greater(128, device)  # (129, 128): pitches above a pitch
        self.later_inst = _greater(N_INSTRUMENTS, device)  # (I + 1, I): instruments after an instrument
        vels = torch.arange(L.PITCH - L.VEL, device=device)
        self.other_vel = vels[None, :] != torch.arange(-1, len(vels), device=device)[:, None]  # (17, 16)
        ahead = p[:, None] + torch.arange(DURATIONS[-1], device=device)[None, :]
        self.held_steps = ahead.clamp(max=HORIZON - 1)  # (P, 192): the steps a note at a position may hold
        self.horizon = torch.arange(HORIZON, device=device)  # (H,)
        self.structural = torch.zeros(END + 1, dtype=torch.bool, device=device)  # by the last token's kind
        self.structural[[TRACK, REPEAT, BAR, TIMESIG, TEMPO]] = True
