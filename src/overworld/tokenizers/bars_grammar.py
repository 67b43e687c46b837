"""The bar tokenizer's grammar (:class:`BarGrammar`), vectorised over the batch: what may follow what in
``BAR [TIMESIG] [TEMPO] (TRACK (REPEAT | (POS [VEL] PITCH DUR)+))*`` and the generation controls.

Per sequence it keeps the kind of the last token, the bar's metre and tempo, the current part (its
instrument, position, velocity and last pitch), which instruments had a part in each of the last 16 bars,
the instruments played, the notes sounding over the next bars (for polyphony) and the time and bars
since the primer. It allows:

* the order of :mod:`overworld.tokenizers.bars`: the first bar names its metre and tempo; parts in
  increasing instrument order, at most one each per bar; in a part, positions forward only (inside the
  bar, on ``grid`` when asked: 12 steps a beat divided by ``grid``), pitches upward at one position, a
  ``VEL`` before the part's first note and only where it changes, a ``DUR`` after each ``PITCH``;
* ``REPEAT k`` only where the instrument had a part ``k`` bars back; in an infilled gap, ``AHEAD k`` only
  where it has a part ``k`` bars later, in the future after the gap, then nothing or one ``VEL`` for each
  of that part's notes;
* ``TRACK`` only for allowed instruments, and once a piece's budget of distinct instruments has played,
  only those; a ``PITCH`` only where fewer than ``max_polyphony`` notes sound at its position (written
  notes; a repeated part is not counted); a ``DUR`` only up to ``max_note_seconds`` at the bar's tempo and only as long as
  fewer than ``max_polyphony`` notes sound over the whole note;
* ``TEMPO`` only the bin of ``bpm`` when one is asked, ``TIMESIG`` only ``time_signature``, both only in
  the first bar when ``steady``; pitched
  notes only in ``key`` (drums untouched);
* with ``max_bars`` or ``max_seconds``: no EOS before, and EOS instead of the ``BAR`` that would start
  bar ``max_bars + 1`` or start past ``max_seconds``; without either, EOS wherever a ``BAR`` may come;
* ``PAD``/``BOS`` never; EOS when nothing else is valid; after EOS only ``PAD``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from overworld.config import SampleConfig
from overworld.errors import ConfigError
from overworld.midi.gm import DRUMS, N_INSTRUMENTS
from overworld.theory import bar_metre, parse_key
from overworld.tokenizers.bars_ahead import AheadMixin
from overworld.tokenizers.bars_focus import ScaleFocus
from overworld.tokenizers.bars_kinds import (
    BAR,
    DUR,
    END,
    HORIZON,
    PITCH,
    POS,
    REPEAT,
    START,
    TEMPO,
    TIMESIG,
    TRACK,
    VEL,
    MaskTables,
    kind_table,
)
from overworld.tokenizers.bars_layout import (
    DURATIONS,
    MAX_POSITIONS,
    N_REPEATS,
    STEPS_PER_QUARTER,
    TIME_SIGNATURES,
    Layout,
    bar_steps,
    tempo_bin,
    tempo_of_bin,
)
from overworld.tokenizers.bars_plan import Plan, PlanMask
from overworld.tokenizers.bars_vary import PartMemory
from overworld.tokenizers.grammar import BudgetMixin, prime_rows

__all__ = ["BarGrammar"]

# B batch, V vocabulary, I instruments, K bars back, P positions, H steps ahead, D durations

L = Layout
_BETWEEN = {START, BAR, TIMESIG, TEMPO, REPEAT, DUR}  # kinds a part, a bar or the end may follow


def _rows(mask: Tensor, rows: Tensor | None) -> Tensor:
    """``mask (B, X)`` in ``rows (B,)`` only (None: every row)."""
    return mask if rows is None else mask & rows[:, None]


def _check(grid: int) -> None:
    """A grid that divides the bar tokens' 12 steps a beat, else a one-line error."""
    if grid and STEPS_PER_QUARTER % grid:
        raise ConfigError(f"the bar tokenizer's grid is 12 steps a beat: --grid must divide 12, not {grid}")


class BarGrammar(AheadMixin, BudgetMixin):
    """The decoding state of ``batch_size`` bar-token sequences, and the masks it implies."""

    plan: PlanMask | None = None  # arrangement plans the rows follow (:meth:`follow`)
    memory: PartMemory | None = None  # a plan's parts: the guides of its variations, the previous pitches
    focus: ScaleFocus | None = None  # the scale the piece settled in, with --key-focus (and no --key)

    def __init__(
        self,
        tokenizer: object,
        batch_size: int,
        config: SampleConfig | None = None,
        *,
        budgets: int | Tensor = 0,
        max_seconds: float | None = None,
        max_bars: int | None = None,
        device: torch.device | str = "cpu",
    ) -> None:
        """Rows under ``config``'s grammar-level controls (default: :class:`SampleConfig`'s), ``budgets``
        (each row's instrument budget, 0 none) and a length in ``max_seconds`` or ``max_bars``."""
        config = config or SampleConfig()
        _check(config.grid)
        key = parse_key(config.key) if config.key else None
        time_signature = bar_metre(config.time_signature) if config.time_signature else None
        grid, bpm, instruments = config.grid, config.bpm, config.instruments
        self.tokenizer = tokenizer
        self.device = dev = torch.device(device)
        b = batch_size
        self.kind_of = kind_table().to(dev)
        self.max_polyphony = int(config.max_polyphony)
        self.max_note_seconds = float(config.max_note_seconds)
        self.grid_step = STEPS_PER_QUARTER // grid if grid else 1
        self.tempo_only = tempo_bin(bpm) if bpm > 0 else -1
        self.max_seconds, self.max_bars = max_seconds, max_bars
        self.steady = bool(config.steady)  # metre and tempo only in the first bar
        self.allowed_instruments = torch.ones(N_INSTRUMENTS, dtype=torch.bool, device=dev)
        if instruments:
            self.allowed_instruments[:] = False
            self.allowed_instruments[list(instruments)] = True
        self.budget = torch.as_tensor(budgets, device=dev).long().expand(b)
        self.used = torch.zeros(b, N_INSTRUMENTS, dtype=torch.bool, device=dev)
        self.rows = torch.arange(b, device=dev)
        self.bar_lengths = torch.tensor([bar_steps(*s) for s in TIME_SIGNATURES], device=dev)
        self.tempos = torch.tensor([tempo_of_bin(i) for i in range(L.TRACK - L.TEMPO)], device=dev)
        self.durations = torch.tensor(DURATIONS, device=dev)
        self.tab = MaskTables(dev, self.grid_step)
        self.part_cache: dict[str, object] = {}  # values fixed while a part (and its bar, tempo) lasts
        self.in_key = torch.ones(128, dtype=torch.bool, device=dev)  # pitched notes allowed by the key
        if key:
            self.in_key = torch.tensor([p % 12 in key for p in range(128)], device=dev)
        self.signatures = torch.ones(len(TIME_SIGNATURES), dtype=torch.bool, device=dev)
        if time_signature is not None:
            self.signatures[:] = False
            self.signatures[TIME_SIGNATURES.index(time_signature)] = True
        if config.key_focus and not key:
            self.focus = ScaleFocus(b, config.key_focus, dev)
        self._start_state(b)
        self.primer: list[int] = []
        self.future: list[int] = []  # infilling: the bars after the gap
        self.future_parts = torch.zeros(0, N_INSTRUMENTS, dtype=torch.bool, device=dev)  # (F, I)
        self.future_notes = torch.zeros(0, N_INSTRUMENTS, dtype=torch.long, device=dev)  # (F, I)
        self.must_start_bar = False

    def follow(self, plans: Sequence[Plan], *, under_way: bool = False) -> None:
        """Hold each row to its arrangement plan (:mod:`overworld.tokenizers.bars_plan`), from the first
        bar after the primer (``under_way``: from the bar the primer's last ``BAR`` began); one plan per
        row."""
        if len(plans) != len(self.rows):
            raise ConfigError(
                f"one arrangement plan per piece: {len(plans)} plans for {len(self.rows)} pieces"
            )
        self.plan = PlanMask(plans, self.device, offset=1 if under_way else 0)
        self.memory = PartMemory(len(self.rows), self.device)
        self.part_cache.clear()

    def _start_state(self, b: int) -> None:
        """Every sequence before its first token."""
        dev = self.device

        def full(value: float, dtype: torch.dtype = torch.long) -> Tensor:
            return torch.full((b,), value, dtype=dtype, device=dev)

        self.last = full(START)
        self.bars = full(0)  # bars begun
        self.bar_len = full(bar_steps(4, 4))
        self.has_sig, self.has_tempo = full(False, torch.bool), full(False, torch.bool)
        self.qpm = full(120.0, torch.float64)
        self.elapsed = full(0.0, torch.float64)  # seconds from the first bar line to this bar's
        self.inst, self.pos, self.vel, self.pitch = full(-1), full(-1), full(-1), full(-1)
        self.parts = torch.zeros(b, N_INSTRUMENTS, dtype=torch.bool, device=dev)  # in this bar
        self.history = torch.zeros(b, N_REPEATS, N_INSTRUMENTS, dtype=torch.bool, device=dev)  # k+1 back
        self.sounding = torch.zeros(b, HORIZON, dtype=torch.int16, device=dev)  # from this bar line
        self.start_bars, self.start_seconds = full(0), full(0.0, torch.float64)
        self.done = full(False, torch.bool)
        self.ahead_notes = full(0)  # in an AHEAD k part: the notes of the part it copies
        self.ahead_vels = full(0)  # and how many of their velocities it has given
        self.part_cache.clear()
        self._may: tuple[int, Tensor] | None = None  # may_play() while ``used`` stays as it was

    # ----------------------------------------------------------------------------------- protocol
    def prime(self, primer: list[int]) -> list[int]:
        """Take in the primer from its first bar line; lengths count from its end.

        An infilling context (``past FILL future MIDDLE``, :mod:`overworld.tokenizers.bars_infill`) goes
        to the model whole while the state is the past's: the gap continues the past, starts with a
        ``BAR``, its ``REPEAT`` tokens point into the past and its ``AHEAD k`` tokens (with ``max_bars``,
        the gap's length) to an instrument's part in the future."""
        ids = [int(t) for t in primer]
        context: list[int] | None = None
        if L.FILL in ids:
            if ids[-1] != L.MIDDLE or ids.count(L.FILL) != 1 or ids.count(L.MIDDLE) != 1:
                raise ConfigError("an infilling primer is past FILL future MIDDLE, each marker once")
            context, ids = ids, ids[: ids.index(L.FILL)]
            self._read_future(context[context.index(L.FILL) + 1 : -1])
        ids = [t for t in ids if L.BAR <= t < L.FILL]
        self.primer = ids[ids.index(L.BAR) :] if L.BAR in ids else []
        prime_rows(self, self.primer, len(self.rows), self.device)
        self.start_bars = self.bars.clone()
        self.start_seconds = self.elapsed + self._bar_seconds()
        self.part_cache.clear()
        self.must_start_bar = context is not None
        return self.primer if context is None else context

    def finish(self, row: int, body: list[int], inclusive: bool) -> list[int]:
        """The primer (for infilling: the past) and ``body``, or ``body`` alone with the primer's repeats
        (and an infilled gap's copies of the future) written out."""
        if inclusive or (not self.primer and not self.future):
            return self.primer + body
        tail = self.tokenizer.tail(self.primer + body + self.future, self.primer.count(L.BAR))  # type: ignore[attr-defined]
        cut = [i for i, t in enumerate(tail) if t == L.BAR][body.count(L.BAR) :]  # the future's bars
        return tail[: cut[0]] if cut else tail

    def _bar_seconds(self) -> Tensor:
        return self.bar_len.double() * 60.0 / (self.qpm * STEPS_PER_QUARTER) * (self.bars > 0)

    def update(self, tokens: Tensor) -> None:
        """Advance every sequence by one token, ``tokens (B,)``; each kind's state moves only where a row
        wrote one."""
        tok = tokens.to(self.device).long().clamp(0, L.SIZE - 1)
        kind = torch.where(self.done, END, self.kind_of[tok])
        kinds = set(kind.tolist())
        if BAR in kinds:
            self._new_bar(kind == BAR)
        if TIMESIG in kinds:
            sig = kind == TIMESIG
            index = (tok - L.TIMESIG).clamp(0, len(TIME_SIGNATURES) - 1)
            self.bar_len = torch.where(sig, self.bar_lengths[index], self.bar_len)
            self.has_sig |= sig
        if TEMPO in kinds:
            tempo = kind == TEMPO
            self.qpm = torch.where(
                tempo, self.tempos[(tok - L.TEMPO).clamp(0, len(self.tempos) - 1)], self.qpm
            )
            self.has_tempo |= tempo
        if TRACK in kinds:
            self._track(kind == TRACK, tok)
        if POS in kinds:
            pos = kind == POS
            self.pos = torch.where(pos, tok - L.POS, self.pos)
            self.pitch = torch.where(pos, -1, self.pitch)
        if VEL in kinds:
            self.vel = torch.where(kind == VEL, tok - L.VEL, self.vel)
        if len(self.future_notes):  # without a future, no AHEAD part and nothing it copies
            self._ahead_state(tok, kind)
        if PITCH in kinds:
            pitch = kind == PITCH
            self.pitch = torch.where(pitch, tok - L.PITCH, self.pitch)
            self.used[self.rows[pitch], self.inst[pitch].clamp(min=0)] = True
        if DUR in kinds:
            self._sound(kind == DUR, tok)
        self.last = torch.where(self.done, self.last, kind)
        if END in kinds:
            self.done |= tok == L.EOS
        self.must_start_bar = False
        if kinds & {BAR, TRACK, TEMPO}:
            self.part_cache.clear()
        if self.memory is not None:
            self.memory.update(self, tok, bar=BAR in kinds, repeat=REPEAT in kinds, pitch=PITCH in kinds,
                               dur=DUR in kinds)  # fmt: skip
        if self.focus is not None:
            self.focus.update(self, tok, bar=BAR in kinds, dur=DUR in kinds)

    def _track(self, track: Tensor, tok: Tensor) -> None:
        """Rows in ``track`` start instrument ``tok``'s part."""
        self.inst = torch.where(track, tok - L.TRACK, self.inst)
        self.parts[self.rows[track], self.inst[track]] = True
        self.vel = torch.where(track, -1, self.vel)
        self.pos = torch.where(track, -1, self.pos)
        self.pitch = torch.where(track, -1, self.pitch)

    def bias(self) -> Tensor | None:
        """``(B, V)`` logits to add before sampling, or None: a plan's variations lean on their guide
        (:mod:`overworld.tokenizers.bars_vary`), pitches off the piece's scale cost ``key_focus``
        (:mod:`overworld.tokenizers.bars_focus`)."""
        bias = None
        if self.memory is not None and self.plan is not None:
            bias = self.memory.bias(self, self.plan.varied(self))
        if self.focus is not None:
            focus = self.focus.bias(self)
            bias = focus if bias is None else bias + focus
        return bias

    def _new_bar(self, bar: Tensor) -> None:
        """Rows in ``bar`` start a bar: shift the history and the sounding notes by the old bar."""
        self.elapsed = torch.where(bar, self.elapsed + self._bar_seconds(), self.elapsed)
        shifted = torch.roll(self.history, 1, dims=1)
        shifted[:, 0] = self.parts
        self.history = torch.where(bar[:, None, None], shifted, self.history)
        self.parts = torch.where(bar[:, None], False, self.parts)
        src = self.tab.horizon[None, :] + self.bar_len[:, None] * (self.bars > 0)[:, None]  # (B, H)
        moved = torch.where(src < HORIZON, self.sounding.gather(1, src.clamp(max=HORIZON - 1)), 0)
        self.sounding = torch.where(bar[:, None], moved.to(self.sounding.dtype), self.sounding)
        self.bars += bar.long()
        self.inst = torch.where(bar, -1, self.inst)

    def _sound(self, dur: Tensor, tok: Tensor) -> None:
        """Rows in ``dur`` wrote a note at ``pos`` lasting ``tok``'s duration: count it as sounding."""
        length = self.durations[(tok - L.DUR).clamp(0, len(DURATIONS) - 1)]
        steps = self.tab.horizon[None, :]
        span = (steps >= self.pos[:, None]) & (steps < (self.pos + length)[:, None]) & dur[:, None]
        self.sounding += span.to(self.sounding.dtype)

    def structural(self) -> Tensor:
        """``(B,)``: rows whose next token is a structural choice: after a ``TRACK`` (repeat an earlier bar
        of the part or write it) and after a ``REPEAT`` or a bar's opening (which part comes next, or the
        bar's end); the notes themselves are not."""
        return self.tab.structural[self.last]

    def composed(self, unit: str) -> Tensor:
        """``(B,)`` bars begun since the primer (the bar under way not yet composed), or seconds to this
        bar's line."""
        if unit == "bars":
            return (self.bars - self.start_bars - 1).clamp(min=0).double()
        return (self.elapsed - self.start_seconds).double()

    def note_tokens(self) -> Tensor:
        """``(V,)``: the ``PITCH`` tokens (the ``REPEAT``/``AHEAD`` copies, bars, parts, positions,
        velocities and durations are structure)."""
        return self.kind_of == PITCH

    # --------------------------------------------------------------------------------------- masks
    def allowed(self) -> Tensor:
        """Boolean ``(B, V)``: True where the token may come next. Each kind's slice is built only where
        some row's last token lets that kind come next (it is all False otherwise)."""
        b = len(self.rows)
        ok = torch.zeros(b, L.SIZE, dtype=torch.bool, device=self.device)
        k = self.last
        kinds = set(k.tolist())
        between_kinds = kinds & (_BETWEEN | ({VEL} if len(self.future_notes) else set()))
        free_pos = self._positions() if between_kinds or kinds & {TRACK, DUR} else None  # (B, P)
        if between_kinds:
            self._structure(ok, k, kinds, free_pos)
        self._part_masks(ok, k, kinds, free_pos)
        if self.plan is not None and (between_kinds or TRACK in kinds):
            self.plan.restrict(self, ok, k == TRACK, free_pos)
        if self.must_start_bar:  # the first token of an infilled gap
            ok[:] = False
            ok[:, L.BAR] = True
        stuck = ~ok.any(dim=1)
        ok[:, L.EOS] |= stuck
        if END in kinds:  # a finished row's last kind
            ok[self.done] = False
            ok[self.done, L.PAD] = True
        return ok

    def _structure(self, ok: Tensor, k: Tensor, kinds: set[int], free_pos: Tensor) -> None:
        """The tokens between parts: TIMESIG, TEMPO, TRACK, BAR, EOS."""
        tracks = self._tracks(free_pos)  # (B, I)
        bar_ok, eos_ok = self._bar_or_end(k)
        first = self.bars == 1
        opening = (k == BAR) | (k == TIMESIG) | (k == TEMPO)
        later = (
            ~first if not self.steady else torch.zeros_like(first)
        )  # bars where metre and tempo may change
        if kinds & {BAR, TIMESIG}:
            sig = (k == BAR) & (first & ~self.has_sig | later)
            ok[:, L.TIMESIG : L.TEMPO] = sig[:, None] & self.signatures[None, :]
            ok[:, L.TEMPO : L.TRACK] = self._tempo_mask(((k == BAR) & later) | (k == TIMESIG))
        between = (opening & ~(first & ~(self.has_sig & self.has_tempo))) | (k == DUR)
        between |= k == REPEAT
        if len(self.future_notes):  # after AHEAD k: its velocities first
            copied = self.ahead_notes > 0
            vels_done = copied & (self.ahead_vels == self.ahead_notes)  # AHEAD k and all its velocities
            between &= (k != REPEAT) | (self.ahead_vels == 0)
            between |= (k == VEL) & vels_done
        ok[:, L.TRACK : L.REPEAT] = tracks & between[:, None]
        ok[:, L.BAR] = bar_ok & (between | (k == START))
        ok[:, L.EOS] = eos_ok & between

    def _only(self, k: Tensor, kinds: set[int], wanted: set[int]) -> Tensor | None:
        """``(B,)``: rows whose last kind is in ``wanted``; None where every row's is."""
        if kinds <= wanted:
            return None
        rows = torch.zeros_like(self.done)
        for kind in kinds & wanted:
            rows |= k == kind
        return rows

    def _part_masks(self, ok: Tensor, k: Tensor, kinds: set[int], free_pos: Tensor | None) -> None:
        """The tokens inside a part: REPEAT, AHEAD, POS, VEL, PITCH, DUR."""
        if TRACK in kinds:
            after_track = (k == TRACK)[:, None]
            inst = self.inst.clamp(min=0)
            ok[:, L.REPEAT : L.POS] = self.history[self.rows, :, inst] & after_track
            if len(self.future_parts) and self.max_bars is not None:
                ok[:, L.AHEAD : L.SIZE] = self._ahead(inst) & after_track
        if free_pos is not None and kinds & {TRACK, DUR}:
            starts = free_pos & self.tab.after_pos[self.pos + 1]
            if self.plan is not None:  # the onset grid of the instrument in the plan's source
                starts &= self.plan.positions(self)
            ok[:, L.POS : L.VEL] = _rows(starts, self._only(k, kinds, {TRACK, DUR}))
        copies = len(self.future_notes) > 0
        if kinds & {POS, VEL, DUR}:
            self._note_masks(ok, k, kinds)
        if copies:  # after AHEAD k: none, or one velocity for each note it copies
            copied = self.ahead_notes > 0
            ok[:, L.VEL : L.PITCH] |= (
                copied
                & (((k == REPEAT) & (self.inst >= 0)) | ((k == VEL) & (self.ahead_vels < self.ahead_notes)))
            )[:, None]
        if PITCH in kinds:
            ok[:, L.DUR : L.FILL] = _rows(self._durations(), self._only(k, kinds, {PITCH}))

    def _note_masks(self, ok: Tensor, k: Tensor, kinds: set[int]) -> None:
        """A note's VEL and PITCH, after a POS, VEL or DUR."""
        pitches = self.tab.above[self.pitch + 1] & self._pitch_range()  # (B, 128)
        here = self.sounding.gather(1, self.pos.clamp(min=0)[:, None]).squeeze(1)  # (B,)
        pitches &= (here < self.max_polyphony)[:, None]
        copied = self.ahead_notes > 0 if len(self.future_notes) else None
        if kinds & {POS, DUR}:
            may_vel = pitches.any(dim=1)
            only = self._only(k, kinds, {POS, DUR})
            may_vel = may_vel if only is None else may_vel & only
            ok[:, L.VEL : L.PITCH] = self.tab.other_vel[self.vel + 1] & may_vel[:, None]
        may_pitch = self._only(k, kinds, {VEL, DUR})
        if POS in kinds:
            may_pitch = ((k == POS) & (self.vel >= 0)) | (k == VEL) | (k == DUR)
        if copied is not None:
            may_pitch = ~copied if may_pitch is None else may_pitch & ~copied
        ok[:, L.PITCH : L.DUR] = _rows(pitches, may_pitch)

    def _pitch_range(self) -> Tensor:
        """``(B, 128)``: the pitches the part under way may take: in the key, and in the plan's range of
        its instrument (drums: any); kept while the part lasts."""
        cached = self.part_cache.get("pitches")
        if cached is None:
            drums = (self.inst == DRUMS)[:, None]
            cached = self.in_key[None, :] | drums  # the key binds pitched parts only
            if self.plan is not None:  # and the plan's range of the instrument
                cached = cached & (self.plan.pitches(self) | drums)
            self.part_cache["pitches"] = cached
        return cached  # type: ignore[return-value]

    def _durations(self) -> Tensor:
        """``(B, D)``: the durations a note at ``pos`` may have: up to ``max_note_seconds`` at the bar's
        tempo, and with fewer than ``max_polyphony`` notes sounding over it."""
        fits = self.part_cache.get("durations")
        if fits is None:
            longest = self.max_note_seconds * self.qpm * STEPS_PER_QUARTER / 60.0  # (B,) steps
            fits = self.part_cache["durations"] = self.durations[None, :] <= longest[:, None]  # (B, D)
        held = self.sounding.gather(1, self.tab.held_steps[self.pos.clamp(min=0)])  # (B, 192)
        crowd = held.cummax(dim=1).values
        fits = fits & (crowd[:, self.durations - 1] < self.max_polyphony)  # room over the whole note
        fits[:, 0] = True  # the shortest note always fits where its PITCH was allowed
        return fits

    def _positions(self) -> Tensor:
        """``(B, P)``: positions inside the bar, on the grid, where fewer than max_polyphony notes sound."""
        return self.tab.inside[self.bar_len] & (self.sounding[:, :MAX_POSITIONS] < self.max_polyphony)

    def _tracks(self, free_pos: Tensor) -> Tensor:
        """``(B, I)``: instruments whose part may start now (after the current one, allowed, in budget,
        with a repeat or a free position to go to)."""
        if self._may is None or self._may[0] != self.used._version:  # recomputed once ``used`` changes
            self._may = (self.used._version, self.may_play())
        played = self.part_cache.get("played")
        if played is None:
            played = self.part_cache["played"] = self.history.any(dim=1)  # (B, I) within N_REPEATS bars
        can_fill = free_pos.any(dim=1)[:, None] | played
        return self.tab.later_inst[self.inst + 1] & self._may[1] & can_fill & ~self.parts

    def _tempo_mask(self, may: Tensor) -> Tensor:
        """``(B, tempo bins)``: any tempo where ``may``, only the asked one when ``bpm`` was given."""
        bins = torch.ones(len(self.tempos), dtype=torch.bool, device=self.device)
        if self.tempo_only >= 0:
            bins[:] = False
            bins[self.tempo_only] = True
        return may[:, None] & bins[None, :]

    def _bar_or_end(self, k: Tensor) -> tuple[Tensor, Tensor]:
        """``(B,)`` each: may a new BAR come (length permitting), may the piece end."""
        limited = self.max_bars is not None or self.max_seconds is not None
        reached = torch.zeros_like(self.done)
        if self.max_bars is not None:
            reached |= self.bars - self.start_bars >= self.max_bars
        if self.max_seconds is not None:
            next_start = self.elapsed + self._bar_seconds() - self.start_seconds
            reached |= next_start >= self.max_seconds - 1e-6
        reached &= self.bars > 0
        if not limited:
            return torch.ones_like(self.done), self.bars > 0
        return ~reached, reached
