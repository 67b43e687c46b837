"""Key focus: pitched notes outside the scale a piece has settled in cost logits.

Game music keeps to a scale: over 4-bar windows the training pieces use 2.38 bits of pitch-class entropy,
and 91% of a piece's notes sit in one major or minor scale. The model's pieces drift off it (2.94 bits,
78%): each note is drawn on its own, and a stray pitch class, once written, makes the next one likelier.
:class:`ScaleFocus` keeps, per row, the pitch classes of the pitched notes written so far (the primer's
included), each weighted by its length and faded by :data:`FADE` a bar so that a piece may move to a new
key, and finds the diatonic collection (the 7 pitch classes of a major scale and its modes: natural minor,
dorian, mixolydian...) that holds the most of that weight. Once a row has written :data:`SETTLED` pitched
notes, every ``PITCH`` of a pitched part outside that collection loses ``strength`` logits: the model may
still write a chromatic note, a blue note or a modulation, only less readily. The scale is the piece's
own, found from what the model wrote; nothing of any other piece's notes is used.

# B batch, C pitch classes (12), V vocabulary
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from overworld.midi.gm import DRUMS
from overworld.theory import MODES
from overworld.tokenizers.bars_layout import DURATIONS, Layout

__all__ = ["FADE", "SETTLED", "ScaleFocus"]

L = Layout
FADE = 0.9  # a bar's notes weigh this much less each bar after it (half after about 6.6 bars)
SETTLED = 8  # pitched notes a row writes before it has a scale to keep to
LONGEST = 48  # a note weighs its length in steps (12 a beat), up to one 4/4 bar
_PITCH_CLASS = torch.arange(128) % 12


def _collections() -> Tensor:
    """``(C, C)`` bool: row ``t``, the pitch classes of the major scale on ``t`` (and of its modes)."""
    steps = torch.tensor(MODES["major"])
    return torch.stack(
        [torch.zeros(12, dtype=torch.bool).index_fill(0, (t + steps) % 12, True) for t in range(12)]
    )


class ScaleFocus:
    """Each row's pitch-class weights, and the logits its out-of-scale pitches lose."""

    def __init__(self, batch_size: int, strength: float, device: torch.device) -> None:
        self.strength = float(strength)
        self.weights = torch.zeros(batch_size, 12, dtype=torch.float64, device=device)  # (B, C)
        self.notes = torch.zeros(batch_size, dtype=torch.long, device=device)  # (B,) pitched notes written
        self.collections = _collections().to(device)  # (C, C)
        self.pitch_class = _PITCH_CLASS.to(device)
        self.lengths = torch.tensor(DURATIONS, device=device).clamp(max=LONGEST).double()

    def update(self, grammar: Any, tok: Tensor, *, bar: bool, dur: bool) -> None:
        """Take in ``tok (B,)`` after ``grammar`` has; ``bar``, ``dur``: False where no row wrote a ``BAR``
        or a ``DUR`` (the grammar knows). A ``BAR`` fades what came before; a pitched note's ``DUR`` adds
        its length to its pitch class (``grammar.pitch`` and ``grammar.inst`` are that note's; drums do
        not count) and drops the kept bias."""
        if bar:
            self.weights = torch.where((tok == L.BAR)[:, None], self.weights * FADE, self.weights)
        if not dur:
            return
        ended = (tok >= L.DUR) & (tok < L.FILL) & ~grammar.done
        pitched = ended & (grammar.inst >= 0) & (grammar.inst != DRUMS) & (grammar.pitch >= 0)
        if not bool(pitched.any()):
            return
        length = self.lengths[(tok - L.DUR).clamp(0, len(DURATIONS) - 1)]  # (B,)
        pc = self.pitch_class[grammar.pitch.clamp(min=0)]  # (B,)
        self.weights[pitched, pc[pitched]] += length[pitched]
        self.notes += pitched.long()
        grammar.part_cache.pop("focus", None)

    def bias(self, grammar: Any) -> Tensor:
        """``(B, V)``: -``strength`` on the ``PITCH`` tokens outside each settled row's scale while a pitched
        part is under way, 0 elsewhere; kept in ``grammar.part_cache`` until the part ends or a pitched
        note does."""
        bias = grammar.part_cache.get("focus")
        if bias is None:
            held = self.weights @ self.collections.double().T  # (B, C): the weight inside each collection
            scale = self.collections[held.argmax(dim=1)]  # (B, C)
            outside = ~scale[:, self.pitch_class]  # (B, 128)
            pitched = (grammar.inst >= 0) & (grammar.inst != DRUMS)
            active = (self.notes >= SETTLED) & pitched  # (B,)
            bias = torch.zeros(len(self.notes), L.SIZE, device=self.weights.device)
            bias[:, L.PITCH : L.DUR] = torch.where(outside & active[:, None], -self.strength, 0.0)
            grammar.part_cache["focus"] = bias
        return bias  # type: ignore[no-any-return]
