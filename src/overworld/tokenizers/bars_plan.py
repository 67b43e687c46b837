"""Arrangement plans: which instruments play in each bar, and which of their parts repeat an earlier one.

Game music is arranged before it is written: a drum loop that enters at bar 5, a bass line that comes back
every two bars, a melody whose phrase returns after eight. The bar tokens already carry that graph: each
bar's ``TRACK i`` parts, each either ``REPEAT k`` (the instrument's part ``k`` bars back) or new notes. A
:class:`Plan` is that graph without the notes, read from a real piece (:func:`plan_of`);
:class:`PlanMask` holds the bar grammar to it while sampling, so a piece gets the form and the
arrangement of real music while every new part's notes are the model's own:

* in each bar, the parts come in the plan's instruments, in order, each exactly once, and the bar ends
  only when they have all played (a rest bar in the plan is a bar with no part);
* after ``TRACK i``, a part the plan repeats is ``REPEAT k`` (where the instrument played ``k`` bars back:
  always, as the plan put a part there); a part the plan writes anew is notes, never a repeat;
* a new part's pitches stay within its instrument's range in the source (two semitones either way), as
  an arranger keeps a bass low and a lead above it, and its onsets on the grid the instrument keeps to
  there (sixteenths, eighths or triplets: mixing them is what the model's free rhythm gave away);
* a new part that, in the source, *varies* an earlier part of its instrument (shares at least
  :data:`VARY_JACCARD` of its onsets, as ``(position, pitch)``, with the part ``j`` bars back: a phrase
  answered with another ending, a bass line moved to the next chord) is written with that part as its
  guide (:mod:`overworld.tokenizers.bars_vary`): each token the guide would write next gets a bonus, so
  the model follows it where it agrees and departs where it does not;
* the notes inside a new part, and where it ends, are the model's.

Of the bundled model's training pieces, 37% of the new parts that have an earlier part of their instrument
within 16 bars share at least half their onsets with one; the model writing them from scratch shared that
much in 7-9% of its parts, and 20% with variations guided (``python3 scripts/vary_probe.py``; exact copies
of a guide count as repeats there).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import torch
from torch import Tensor

from overworld.errors import ConfigError
from overworld.midi.gm import DRUMS, N_INSTRUMENTS
from overworld.tokenizers.bars_layout import MAX_POSITIONS, N_REPEATS, STEPS_PER_QUARTER, Layout

__all__ = ["MAX_PLAN_BARS", "Plan", "PlanMask", "plan_of"]

L = Layout
MAX_PLAN_BARS = 256  # bars a plan keeps (a piece's first ones)
RANGE_SLACK = 2  # semitones a new part may go beyond its instrument's range in the source
GRIDS = (
    1,
    2,
    3,
    4,
    6,
    12,
)  # onset grids in steps of 12 a beat (3: sixteenths, 4: eighth triplets, 6: eighths)
VARY_JACCARD = 0.5  # a new part sharing this much of its onsets with an earlier part varies that part
# (instrument: GM program or 128 for drums, repeat: 0 new, k > 0 the part k bars back, -j: new notes varying
# the part j bars back)
Part = tuple[int, int]


@dataclass(frozen=True)
class Plan:
    """Per bar, its parts as ``(instrument, repeat)`` in instrument order; ``registers``: each pitched
    instrument's ``(instrument, mean pitch, lowest, highest)`` in the source (new parts keep to that range;
    the mean maps it onto another line-up); ``source``: where it came from."""

    bars: tuple[tuple[Part, ...], ...]
    registers: tuple[tuple[int, float, int, int], ...] = ()
    source: str = ""
    grids: tuple[tuple[int, int], ...] = ()  # (instrument, grid steps its onsets keep to: 3 sixteenths...)
    notes: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    MAX_BARS: ClassVar[int] = MAX_PLAN_BARS  # the longest plan (a piece's first bars)

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "registers", tuple(_register(r) for r in self.registers))
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"a plan's registers are (instrument, mean, lowest, highest): {exc}") from exc
        if any(g not in GRIDS for _, g in self.grids):
            raise ConfigError(f"a plan's grids are steps of {GRIDS}: {self.grids}")
        if not self.bars or len(self.bars) > MAX_PLAN_BARS:
            raise ConfigError(f"a plan has 1 to {MAX_PLAN_BARS} bars, not {len(self.bars)}")
        for b, parts in enumerate(self.bars):
            insts = [i for i, _ in parts]
            if insts != sorted(set(insts)) or any(not 0 <= i < N_INSTRUMENTS for i in insts):
                raise ConfigError(
                    f"plan bar {b + 1}: instruments must be distinct, ascending, 0-128: {insts}"
                )
            for inst, k in parts:
                back = abs(k)
                if back > N_REPEATS or (back and (back > b or inst not in _insts(self.bars[b - back]))):
                    verb = "repeats" if k > 0 else "varies"
                    raise ConfigError(
                        f"plan bar {b + 1}: instrument {inst} {verb} {back} bars back, where it has no part"
                    )

    @property
    def instruments(self) -> tuple[int, ...]:
        return tuple(sorted({i for parts in self.bars for i, _ in parts}))

    def segment(self, start: int, length: int) -> Plan:
        """``length`` bars from bar ``start`` (0-based), going round to the plan's start when it runs
        out; a repeat that would reach before the segment (or across the wrap) becomes a new part."""
        out: list[tuple[Part, ...]] = []
        for b in range(length):
            src = self.bars[(start + b) % len(self.bars)]
            pos = (start + b) % len(self.bars)
            out.append(tuple((i, k if abs(k) <= b and abs(k) <= pos else 0) for i, k in src))
        return Plan(tuple(out), self.registers, self.source, self.grids)

    def remapped(self, allowed: Sequence[int]) -> Plan:
        """The plan on the instruments ``allowed`` (a console's line-up): drums stay drums (dropped
        without a drum kit); pitched instruments by register, the lowest onto the lowest-sounding allowed
        instrument (a bass), the others by how many bars they play; instruments left over are dropped."""
        allowed = sorted(set(allowed))
        mapping = _mapping(self, [i for i in allowed if i != DRUMS], DRUMS in allowed)
        bars = tuple(tuple(sorted((mapping[i], k) for i, k in parts if i in mapping)) for parts in self.bars)
        registers = tuple((mapping[i], *r) for i, *r in self.registers if i in mapping)
        grids = tuple((mapping[i], g) for i, g in self.grids if i in mapping)
        return Plan(bars, registers, self.source, grids)  # type: ignore[arg-type]

    def layers(self, count: int, drums: bool = True) -> Plan:
        """The plan with its ``count`` most-played instruments (the drum kit among them only with
        ``drums``), as a calmer layer of it."""
        played = {i: sum(i in _insts(p) for p in self.bars) for i in self.instruments}
        ranked = sorted((i for i in played if drums or i != DRUMS), key=lambda i: (-played[i], i))
        keep = set(ranked[:count])
        bars = tuple(tuple(p for p in parts if p[0] in keep) for parts in self.bars)
        registers = tuple(r for r in self.registers if r[0] in keep)
        return Plan(bars, registers, self.source, tuple(g for g in self.grids if g[0] in keep))

    def ranges(self) -> dict[int, tuple[int, int]]:
        """``{instrument: (lowest, highest)}`` pitch of each pitched instrument in the source."""
        return {int(r[0]): (int(r[2]), int(r[3])) for r in self.registers if len(r) == 4}

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "registers": [list(r) for r in self.registers],
                "grids": [list(g) for g in self.grids], "bars": [[list(p) for p in parts] for parts in self.bars]}  # fmt: skip

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Plan:
        try:
            bars = tuple(tuple((int(i), int(k)) for i, k in parts) for parts in data["bars"])
            grids = tuple((int(i), int(g)) for i, g in data.get("grids", ()))
            return cls(bars, tuple(data.get("registers", ())), str(data.get("source", "")), grids)
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"not an arrangement plan: {exc}") from exc


def _register(row: Sequence[Any]) -> tuple[int, float, int, int]:
    """``(instrument, mean, lowest, highest)``; a bare ``(instrument, mean)`` spans every pitch."""
    inst, mean, *span = row
    low, high = span if len(span) == 2 else (0, 127)
    if not 0 <= int(low) <= int(high) <= 127:
        raise ValueError(f"instrument {inst}'s range {low}-{high} is not within 0-127")
    return int(inst), float(mean), int(low), int(high)


def _insts(parts: tuple[Part, ...]) -> set[int]:
    return {i for i, _ in parts}


_BASS_PROGRAMS = range(32, 40)  # General MIDI's basses


def _mapping(plan: Plan, pitched: list[int], drums: bool) -> dict[int, int]:
    """Source instrument -> allowed instrument (see :meth:`Plan.remapped`)."""
    register = {int(r[0]): float(r[1]) for r in plan.registers}
    played = {i: sum(i in _insts(p) for p in plan.bars) for i in plan.instruments}
    sources = [i for i in plan.instruments if i != DRUMS]
    mapping = {DRUMS: DRUMS} if drums and DRUMS in played else {}
    targets = sorted(pitched, key=lambda i: (i not in _BASS_PROGRAMS, i))  # a bass first, if there is one
    if not sources or not targets:
        return mapping
    if targets[0] in _BASS_PROGRAMS:
        low = min(sources, key=lambda i: (i not in _BASS_PROGRAMS, register.get(i, 60.0)))
        mapping[low] = targets.pop(0)
        sources.remove(low)
    for source, target in zip(sorted(sources, key=lambda i: -played[i]), targets):
        mapping[source] = target
    return mapping


def plan_of(ids: Sequence[int] | np.ndarray, source: str = "") -> Plan | None:
    """The plan of a bar-token piece (its first :data:`MAX_PLAN_BARS` bars); None without a bar. A new
    part that shares at least :data:`VARY_JACCARD` of its onsets with one of its instrument's parts up to
    16 bars back varies the most similar of them (the nearest among equals)."""
    bars, notes, pitches, grid = _read_parts(ids)
    if not bars:
        return None
    for b, parts in enumerate(bars):
        for n, (inst, k) in enumerate(parts):
            if k == 0:
                parts[n] = (inst, -_varied(notes, b, inst))
    registers = tuple(
        (i, float(np.mean(p)), int(min(p)), int(max(p))) for i, p in sorted(pitches.items()) if i != DRUMS
    )
    grids = tuple(sorted(grid.items()))
    return Plan(tuple(tuple(b) for b in bars), registers, source, grids)


def _varied(notes: list[dict[int, frozenset[tuple[int, int]]]], bar: int, inst: int) -> int:
    """How many bars back the part ``inst`` of ``bar`` varies (0: none): the earlier part of the
    instrument within 16 bars whose onsets it shares most, when that is at least :data:`VARY_JACCARD`."""
    best, back = best_earlier(notes, bar, inst)
    return back if best >= VARY_JACCARD else 0


def best_earlier(
    notes: list[dict[int, frozenset[tuple[int, int]]]], bar: int, inst: int
) -> tuple[float, int]:
    """The largest Jaccard index of onsets between the part ``inst`` of ``bar`` and one of the instrument's
    parts up to 16 bars back, and how far back that part is (the nearest among equals); ``(0.0, 0)``
    where there is none."""
    mine = notes[bar].get(inst, frozenset())
    best, back = 0.0, 0
    for j in range(1, min(N_REPEATS, bar) + 1):
        theirs = notes[bar - j].get(inst)
        if theirs is None or not (mine or theirs):
            continue
        jaccard = len(mine & theirs) / len(mine | theirs)
        if jaccard > best or not back:
            best, back = jaccard, j
    return best, back


def _read_parts(
    ids: Sequence[int] | np.ndarray,
) -> tuple[list[list[Part]], list[dict[int, frozenset]], dict, dict]:
    """Per bar its parts ``(instrument, repeat)``; per bar each part's onsets ``{(position, pitch)}`` (a
    repeat's those of the part it repeats); each instrument's pitches; the gcd of each instrument's onset
    positions and a beat."""
    bars: list[list[Part]] = []
    notes: list[dict[int, set[tuple[int, int]]]] = []
    pitches: dict[int, list[int]] = {}
    grid: dict[int, int] = {}
    inst, fresh, pos = -1, False, 0
    for t in (int(x) for x in ids):
        if t == L.BAR:
            if len(bars) == MAX_PLAN_BARS:
                break
            bars.append([])
            notes.append({})
            inst = -1
        elif bars and L.TRACK <= t < L.REPEAT:
            inst, fresh = t - L.TRACK, True
        elif fresh and L.REPEAT <= t < L.POS:
            k = t - L.REPEAT + 1
            bars[-1].append((inst, k))
            notes[-1][inst] = set(notes[-1 - k].get(inst, ())) if k < len(notes) else set()
            fresh = False
        elif fresh and L.POS <= t < L.FILL:
            bars[-1].append((inst, 0))
            notes[-1][inst] = set()
            fresh = False
        if inst >= 0 and L.PITCH <= t < L.DUR:
            pitches.setdefault(inst, []).append(t - L.PITCH)
            notes[-1][inst].add((pos, t - L.PITCH))
        if inst >= 0 and L.POS <= t < L.VEL:
            pos = t - L.POS
            grid[inst] = math.gcd(grid.get(inst, STEPS_PER_QUARTER), pos)
    return bars, [{i: frozenset(n) for i, n in bar.items()} for bar in notes], pitches, grid


class PlanMask:
    """One plan per row of a batch, as tensors the bar grammar masks with: ``parts (B, N, I)``, -1 where
    the instrument does not play in that bar, else its repeat (0: new notes)."""

    def __init__(self, plans: Sequence[Plan], device: torch.device, offset: int = 0) -> None:
        self.offset = int(
            offset
        )  # the plan's bar of the bar under way once primed (1: a primer ended in BAR)
        longest = max(len(p.bars) for p in plans)
        parts = torch.full((len(plans), longest, N_INSTRUMENTS), -1, dtype=torch.long)
        varies = torch.zeros((len(plans), longest, N_INSTRUMENTS), dtype=torch.long)
        for row, plan in enumerate(plans):
            for b, bar in enumerate(plan.bars):
                for inst, k in bar:
                    parts[row, b, inst] = max(k, 0)
                    varies[row, b, inst] = max(-k, 0)
        self.parts = parts.to(device)  # (B, N, I): -1 silent, 0 new notes, k repeats the part k bars back
        self.varies = varies.to(device)  # (B, N, I): j > 0 where new notes vary the part j bars back
        self.any_varies = bool(varies.any())
        self.lengths = torch.tensor([len(p.bars) for p in plans], device=device)
        window = torch.ones(len(plans), N_INSTRUMENTS, 128, dtype=torch.bool)  # (B, I, 128)
        pitch = torch.arange(128)
        for row, plan in enumerate(plans):
            for inst, (low, high) in plan.ranges().items():
                window[row, inst] = (pitch >= low - RANGE_SLACK) & (pitch <= high + RANGE_SLACK)
        self.window = window.to(device)
        steps = torch.ones(len(plans), N_INSTRUMENTS, dtype=torch.long)
        for row, plan in enumerate(plans):
            for inst, step in plan.grids:
                steps[row, inst] = step
        on_grid = torch.arange(MAX_POSITIONS)[None, None, :] % steps[:, :, None] == 0  # (B, I, P)
        self.on_grid = on_grid.to(device)

    def bar(self, grammar: Any) -> Tensor:
        """``(B,)``: the plan's bar under way in each row (-1: none yet)."""
        return grammar.bars - grammar.start_bars - 1 + self.offset

    def varied(self, grammar: Any) -> Tensor:
        """``(B,)``: how many bars back the part under way varies (0: it varies none, or is past the plan);
        kept in ``grammar.part_cache`` while the part lasts."""
        j = grammar.part_cache.get("plan_varied")
        if j is None:
            bar = self.bar(grammar)
            inside = (bar >= 0) & (bar < self.lengths) & (grammar.inst >= 0)
            j = self.varies[grammar.rows, bar.clamp(0, self.varies.shape[1] - 1), grammar.inst.clamp(min=0)]
            j = grammar.part_cache["plan_varied"] = torch.where(inside, j, 0)
        return j

    def positions(self, grammar: Any) -> Tensor:
        """``(B, P)``: where the current part's instrument may start a note: on the grid its onsets keep
        to in the plan's source (sixteenths, eighths, triplets), wherever the plan has one."""
        on_grid = grammar.part_cache.get("plan_positions")
        if on_grid is None:
            on_grid = grammar.part_cache["plan_positions"] = self.on_grid[
                grammar.rows, grammar.inst.clamp(min=0)
            ]
        return on_grid

    def pitches(self, grammar: Any) -> Tensor:
        """``(B, 128)``: the pitches the current part's instrument may take: its range in the plan's
        source (a bass stays a bass, a lead a lead), wherever the plan has one."""
        return self.window[grammar.rows, grammar.inst.clamp(min=0)]

    def _bar_under_way(self, grammar: Any) -> tuple[Tensor, Tensor, Tensor]:
        """``planned (B,)``: rows inside their plan; ``want (B, I)``: its parts in the bar under way (-1
        silent, 0 new, k a repeat); ``copies (B, I)``: where the planned repeat is there to take. Kept in
        ``grammar.part_cache`` while the part lasts."""
        view = grammar.part_cache.get("plan_bar")
        if view is None:
            bar = self.bar(grammar)
            planned = (bar >= 0) & (bar < self.lengths)  # (B,)
            want = self.parts[grammar.rows, bar.clamp(0, self.parts.shape[1] - 1)]  # (B, I)
            back = (want - 1).clamp(0, grammar.history.shape[1] - 1)[:, None, :]  # (B, 1, I)
            copies = (want > 0) & grammar.history.gather(1, back).squeeze(1)  # (B, I)
            view = grammar.part_cache["plan_bar"] = (planned, want, copies)
        return view

    def restrict(self, grammar: Any, ok: Tensor, after_track: Tensor, free_pos: Tensor) -> None:
        """Narrow the grammar's mask ``ok (B, V)`` in place to what each row's plan allows now;
        ``after_track (B,)``: rows whose last token was a ``TRACK``; ``free_pos (B, P)``: positions with
        room for a note. A part that has no room left in its bar (every free position taken by notes
        held over it) is passed over rather than started with nowhere to go."""
        planned, want, copies = self._bar_under_way(grammar)
        later = grammar.tab.later_inst[grammar.inst + 1]  # (B, I)
        room = (self.on_grid & free_pos[:, None, :]).any(dim=2)  # (B, I): a note can start somewhere
        remaining = (want >= 0) & ~grammar.parts & later & (room | copies)  # (B, I)
        first = remaining & (remaining.cumsum(dim=1) == 1)  # (B, I): the first instrument remaining
        between = ok[:, L.TRACK : L.REPEAT].any(dim=1) | ok[:, L.BAR] | ok[:, L.EOS]
        ends = remaining.any(dim=1) & planned & between
        track_rows = planned & between
        ok[:, L.TRACK : L.REPEAT] = torch.where(track_rows[:, None], first, ok[:, L.TRACK : L.REPEAT])
        ok[:, L.BAR] &= ~ends
        ok[:, L.EOS] &= ~ends
        if after_track.any():
            self._part_start(grammar, ok, planned & after_track, want)

    @staticmethod
    def _part_start(grammar: Any, ok: Tensor, after_track: Tensor, want: Tensor) -> None:
        """Right after ``TRACK i``: the plan's ``REPEAT k``, or new notes (no repeat, no copy)."""
        repeat = want[grammar.rows, grammar.inst.clamp(min=0)]  # (B,)
        repeats = ok[:, L.REPEAT : L.POS].clone()
        chosen = torch.zeros_like(repeats)
        has = (repeat > 0) & after_track
        chosen[grammar.rows[has], repeat[has] - 1] = True
        feasible = (chosen & repeats).any(dim=1)  # the plan's repeat is there to take
        forced = has & feasible
        ok[:, L.REPEAT : L.POS] = torch.where(forced[:, None], chosen, repeats & ~after_track[:, None])
        ok[:, L.AHEAD : L.SIZE] &= ~after_track[:, None]
        ok[forced, L.POS : L.VEL] = False
