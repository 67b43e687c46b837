"""Variations: a new part written with an earlier part of its instrument as its guide.

Game music varies more than it repeats outright: a melody's answer keeps its first bar and changes its
ending, a bass line keeps its rhythm on the next chord, a drum loop gains a fill. An arrangement plan
(:mod:`overworld.tokenizers.bars_plan`) marks such parts, ``(instrument, -j)``: new notes varying the
part ``j`` bars back. :class:`PartMemory` keeps the notes of every part of the last 16 bars and, while a
varying part is written, names the token its guide would write next (the next onset's ``POS``, its
``VEL`` where the velocity changes, its ``PITCH``, the ``DUR`` of a pitch the guide has there, or the
end of the part once the guide has no more notes). :meth:`PartMemory.bias` gives that token a bonus of
:data:`BONUS` logits: the model follows the guide where it agrees and departs where it does not, so the
part comes out as the same phrase with its own changes, never a forced copy.

It also lowers a pitched instrument's previous pitch by :data:`RESTRIKE` logits wherever a note comes: the
model's single likeliest note is the one it just played, so without it, pieces re-strike twice as often as
the music they learned from.

# B batch, S slots (the bar under way and 16 back), I instruments, N notes a part, V vocabulary
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from overworld.midi.gm import DRUMS, N_INSTRUMENTS
from overworld.tokenizers.bars_kinds import DUR, PITCH, POS, TRACK, VEL
from overworld.tokenizers.bars_layout import N_REPEATS, Layout

__all__ = ["BONUS", "MAX_NOTES", "PartMemory"]

L = Layout
# logits added to the guide's next token (e**8: some 3,000 times as likely as the model had it), chosen on
# the validation pieces (scripts/realism_table.py, 10 pieces of 32 bars, seed 7): bonus 0 / 5 / 8 / 12 gave
# realism AUC 0.88 / 0.79 / 0.78 / 0.81 and bar self-similarity 0.58 / 0.68 / 0.70 / 0.70 (their IQR
# 0.59-0.73)
BONUS = 8.0
# logits taken from a pitched instrument's previous pitch. The model over-predicts "the same pitch again" (its
# single likeliest choice; at temperature 1 with plans, 28% of pitched notes re-strike against 16% of the
# training notes). On the validation pieces (as above, with the bonus of 8) 0 / 1 / 2 gave a re-struck share of
# 0.28 / 0.14 / 0.05 (the pieces' 0.17), 7 / 11 / 9 of 12 window medians within 25% and AUC 0.78 / 0.79 / 0.71
# (at 2, the re-struck share is what gives the music away most)
RESTRIKE = 1.0
MAX_NOTES = 64  # notes of a part kept as a guide (the rest of a longer part goes unguided)
SLOTS = N_REPEATS + 1
_POS, _VEL, _PITCH, _DUR = range(4)  # the fields of a kept note


class PartMemory:
    """The notes of each row's parts in the bar under way and the 16 before it, and the guide's bonus."""

    def __init__(self, batch_size: int, device: torch.device) -> None:
        shape = (batch_size, SLOTS, N_INSTRUMENTS)
        self.notes = torch.zeros((*shape, MAX_NOTES, 4), dtype=torch.int16, device=device)  # (B, S, I, N, 4)
        self.count = torch.zeros(shape, dtype=torch.long, device=device)  # (B, S, I)
        self.previous = torch.full((batch_size, N_INSTRUMENTS), -1, dtype=torch.long, device=device)  # pitch
        self.rows = torch.arange(batch_size, device=device)

    def update(self, grammar: Any, tok: Tensor, *, bar: bool = True, repeat: bool = True, pitch: bool = True,
               dur: bool = True) -> None:  # fmt: skip
        """Take in ``tok (B,)`` after ``grammar`` has (its bar, instrument, position, velocity and pitch
        already include it); ``bar``, ``repeat``, ``pitch``, ``dur``: False where no row wrote that kind
        of token (the grammar knows), so that only those do work here."""
        if not (bar or repeat or pitch or dur):
            return
        live = ~grammar.done | (tok == L.EOS)
        slot = grammar.bars % SLOTS  # (B,)
        inst = grammar.inst.clamp(min=0)
        if bar:
            new = live & (tok == L.BAR)
            self.count[self.rows[new], slot[new]] = 0
        if repeat:
            self._repeat(grammar, tok, live, slot, inst)
        if pitch:  # a previous pitch may change: the re-strike bias with it
            grammar.part_cache.pop("restrike", None)
        if pitch or dur:
            self._note(grammar, tok, live & (grammar.inst >= 0), slot, inst, pitch, dur)

    def _note(self, grammar: Any, tok: Tensor, part: Tensor, slot: Tensor, inst: Tensor, pitches: bool,
              durations: bool) -> None:  # fmt: skip
        """A ``PITCH`` starts a kept note (and is the instrument's previous pitch); a ``DUR`` ends it. Every
        row writes back its entry, unchanged where it wrote neither."""
        rows = self.rows
        n = self.count[rows, slot, inst]  # (B,)
        if pitches:
            pitch = part & (tok >= L.PITCH) & (tok < L.DUR)
            written = pitch & (grammar.inst != DRUMS)
            self.previous[rows, inst] = torch.where(written, tok - L.PITCH, self.previous[rows, inst])
            pitch &= n < MAX_NOTES
            at = n.clamp(max=MAX_NOTES - 1)
            note = torch.stack([grammar.pos, grammar.vel, tok - L.PITCH, torch.full_like(tok, -1)], dim=1)
            kept = self.notes[rows, slot, inst, at]  # (B, 4)
            self.notes[rows, slot, inst, at] = torch.where(pitch[:, None], note.to(kept.dtype), kept)
            self.count[rows, slot, inst] = n + pitch.long()
        if durations:
            dur = part & (tok >= L.DUR) & (tok < L.FILL) & (n > 0)
            at = (n - 1).clamp(min=0)
            kept = self.notes[rows, slot, inst, at, _DUR]  # (B,)
            self.notes[rows, slot, inst, at, _DUR] = torch.where(dur, (tok - L.DUR).to(kept.dtype), kept)

    def _repeat(self, grammar: Any, tok: Tensor, live: Tensor, slot: Tensor, inst: Tensor) -> None:
        """A ``REPEAT k`` part keeps the notes of the part it repeats."""
        repeat = live & (tok >= L.REPEAT) & (tok < L.POS) & (grammar.inst >= 0)
        if repeat.any():
            r, i = self.rows[repeat], inst[repeat]
            src = (grammar.bars[repeat] - (tok[repeat] - L.REPEAT + 1)) % SLOTS
            self.notes[r, slot[repeat], i] = self.notes[r, src, i]
            self.count[r, slot[repeat], i] = self.count[r, src, i]

    def bias(self, grammar: Any, back: Tensor) -> Tensor:
        """``(B, V)`` logits to add: :data:`BONUS` on the guide's next token in the rows whose part under
        way varies the part ``back (B,)`` bars back (0: none), and -:data:`RESTRIKE` on a pitched
        instrument's previous pitch."""
        restrike = self._restrike(grammar)
        if self._guide_of(grammar, back) is None:
            return restrike  # shared while the part and its previous pitches last: not to be written to
        bias = restrike.clone()
        self._guide(grammar, back, (back > 0) & ~grammar.done, bias)
        return bias

    def _restrike(self, grammar: Any) -> Tensor:
        """``(B, V)``: -:data:`RESTRIKE` on each pitched part's previous pitch; kept in
        ``grammar.part_cache`` until the part ends or a ``PITCH`` comes (:meth:`update` drops it)."""
        restrike = grammar.part_cache.get("restrike")
        if restrike is None:
            bias = torch.zeros(len(self.rows), L.SIZE, device=self.rows.device)
            pitched = (grammar.inst >= 0) & (grammar.inst != DRUMS)
            previous = self.previous[self.rows, grammar.inst.clamp(min=0)]  # (B,)
            struck = torch.where((previous >= 0) & pitched, -RESTRIKE, 0.0)  # (B,)
            bias.scatter_(1, (L.PITCH + previous.clamp(min=0))[:, None], struck[:, None])
            restrike = grammar.part_cache["restrike"] = bias
        return restrike  # type: ignore[no-any-return]

    def _guide_of(self, grammar: Any, back: Tensor) -> tuple[Tensor, ...] | None:
        """The guides of the parts under way, kept while they last: their notes ``(B, N, 4)``, note counts
        ``(B,)``, keys ``(B, N)`` (position * 128 + pitch, in writing order) and notes held ``(B, N)``;
        None where no row's part varies one."""
        if "guide" not in grammar.part_cache:
            guide = None
            if bool((back > 0).any()):
                src = (grammar.bars - back) % SLOTS
                inst = grammar.inst.clamp(min=0)
                notes = self.notes[self.rows, src, inst].long()  # (B, N, 4)
                count = self.count[self.rows, src, inst]  # (B,)
                keys = notes[..., _POS] * 128 + notes[..., _PITCH]  # (B, N)
                held = torch.arange(MAX_NOTES, device=count.device)[None, :] < count[:, None]  # (B, N)
                guide = (notes, count, keys, held)
            grammar.part_cache["guide"] = guide
        return grammar.part_cache["guide"]  # type: ignore[no-any-return]

    def _guide(self, grammar: Any, back: Tensor, active: Tensor, bias: Tensor) -> None:
        """Add :data:`BONUS` to ``bias`` on the guide's next token in the ``active`` rows."""
        notes, count, keys, held = self._guide_of(grammar, back)  # type: ignore[misc]
        count = torch.where(active, count, 0)  # (B,)
        held = held & active[:, None]  # (B, N)
        keys = torch.where(held, keys, -1)
        cursor = grammar.pos * 128 + grammar.pitch  # (B,): where the part under way has got to
        after = held & (keys > cursor[:, None])
        has_next = after.any(dim=1) & active
        nxt = notes[self.rows, after.long().argmax(dim=1)]  # (B, 4): the guide's next note
        last = grammar.last  # (B,) the kind of each row's last token
        between = (last == TRACK) | (last == DUR)  # a note's position or the part's end may come
        target = self._target(grammar, nxt, has_next, notes, keys, cursor, between)
        aim = active & (target >= 0)
        if bool(aim.any()):  # (adding nothing would leave the bias as it is)
            bias[self.rows, target.clamp(min=0)] += torch.where(aim, BONUS, 0.0)
        ends = active & ~has_next & (count > 0) & between
        if not bool(ends.any()):
            return
        bonus = torch.where(ends, BONUS, 0.0)[:, None]  # (B, 1)
        bias[:, L.TRACK : L.REPEAT] += bonus
        bias[:, L.BAR] += bonus[:, 0]
        bias[:, L.EOS] += bonus[:, 0]

    def _target(self, grammar: Any, nxt: Tensor, has_next: Tensor, notes: Tensor, keys: Tensor,
                cursor: Tensor, between: Tensor) -> Tensor:  # fmt: skip
        """``(B,)``: the token the guide would write next, -1 where it has none."""
        last = grammar.last
        here = has_next & (nxt[:, _POS] == grammar.pos)  # the guide's next note is at this position
        vel_or_pitch = torch.where(
            nxt[:, _VEL] != grammar.vel, L.VEL + nxt[:, _VEL], L.PITCH + nxt[:, _PITCH]
        )
        target = torch.full_like(last, -1)
        between = between & has_next
        target = torch.where(between, torch.where(here, vel_or_pitch, L.POS + nxt[:, _POS]), target)
        target = torch.where((last == POS) & here, vel_or_pitch, target)
        target = torch.where((last == VEL) & here, L.PITCH + nxt[:, _PITCH], target)
        same = keys == cursor[:, None]  # (B, N): the guide has the pitch just written, here
        dur = notes[self.rows, same.long().argmax(dim=1), _DUR]  # (B,)
        at_pitch = (last == PITCH) & same.any(dim=1) & (dur >= 0)
        return torch.where(at_pitch, L.DUR + dur, target)
