"""The performance vocabulary's grammar (:class:`PerformanceGrammar`), vectorised over the batch, so
sampling stays valid.

It tracks per sequence the current instrument and velocity, which ``(instrument, pitch)``
notes sound and since when, the time so far and whether the sequence ended; :meth:`Grammar.allowed`
gives the tokens that may come next:

* ``NOTE_OFF(p)`` only while pitch ``p`` sounds on the current instrument and started before now (the
  encoder releases a note at least one step after it starts, so a note never ends where it begins);
* ``NOTE_ON(p)`` only when ``p`` is silent on the current instrument, the instrument is allowed and fewer
  than ``max_polyphony`` notes sound;
* ``TIME_SHIFT`` only as far as no sounding note exceeds ``max_note_seconds`` (and, when a length in
  seconds is asked, no further than that length); a note that reached the limit (from a primer) is
  released first: only its ``NOTE_OFF`` (or the ``INSTRUMENT`` that selects it) may come;
* with a beat grid (``grid`` even steps a beat at ``bpm``, from time 0: the primer's start),
  ``TIME_SHIFT`` only to a point of the grid, each rounded to the nearest 10 ms step, so every
  generated event lands on it;
* ``NOTE_ON`` of a pitched instrument only in ``key`` when one is asked (drums untouched);
* ``VELOCITY``/``INSTRUMENT`` never repeat the current state; ``INSTRUMENT`` only from the allowed set,
  and once a sequence's budget of distinct instruments (``max_instruments``, one number or one per
  sequence) has played, only among those;
* the encoder's own order: a ``VELOCITY`` only where a ``NOTE_ON`` may follow, and then only a
  ``NOTE_ON``; an ``INSTRUMENT`` only to an instrument with a note to start or release, and then only
  a note event or ``VELOCITY`` (so a weak model cannot loop through instrument and velocity changes);
* ``PAD``/``BOS`` never; ``EOS`` only when nothing else is valid (the pieces get the length asked),
  after which only ``PAD`` follows.

:meth:`PerformanceGrammar.closing_tokens` releases whatever still sounds at the end.
"""

from __future__ import annotations

import torch
from torch import Tensor

from overworld.config import SampleConfig
from overworld.errors import ConfigError
from overworld.theory import parse_key
from overworld.tokenizers import vocab as V
from overworld.tokenizers.grammar import BudgetMixin, prime_rows

__all__ = ["PerformanceGrammar", "clean_primer", "grid_spacing"]

# B batch, I instruments (129), P pitches (128), V vocabulary


def grid_spacing(bpm: float, grid: int, max_note_seconds: float = 8.0) -> float:
    """10 ms steps between the points of a grid of ``grid`` even steps a beat at ``bpm``; 0.0 when
    ``grid`` is 0 (free timing). Raises :class:`ConfigError` where the grid cannot be kept: no tempo,
    points closer than two steps (20 ms), further apart than the longest TIME_SHIFT (1 s), or than the
    longest note."""
    if grid == 0:
        return 0.0
    if grid < 0 or not bpm > 0:
        raise ConfigError(f"a beat grid needs a positive tempo and steps a beat, not bpm={bpm} grid={grid}")
    seconds = 60.0 / (bpm * grid)
    longest = min(V.N_TIME_SHIFTS * V.STEP_SECONDS, max_note_seconds)
    if not 2 * V.STEP_SECONDS <= seconds <= longest:
        raise ConfigError(
            f"a grid of {grid} steps a beat at {bpm:g} bpm puts its points {seconds * 1000:.0f} ms apart; "
            f"they must be {2 * V.STEP_SECONDS * 1000:.0f}-{longest * 1000:.0f} ms apart"
        )
    return seconds / V.STEP_SECONDS


def clean_primer(ids: list[int]) -> list[int]:
    """The primer without special tokens and without ``NOTE_OFF`` of notes it never started (a slice
    cut from the middle of a piece), so the grammar's state is exact."""
    instrument = 0
    sounding: dict[tuple[int, int], int] = {}
    out: list[int] = []
    for tok in ids:
        tok = int(tok)
        if tok < V.NOTE_ON_OFFSET or tok >= V.VOCAB_SIZE:
            continue
        if tok >= V.INSTRUMENT_OFFSET:
            instrument = tok - V.INSTRUMENT_OFFSET
        elif V.NOTE_OFF_OFFSET <= tok < V.VELOCITY_OFFSET:
            key = (instrument, tok - V.NOTE_OFF_OFFSET)
            if not sounding.get(key):
                continue
            sounding[key] -= 1
        elif V.NOTE_ON_OFFSET <= tok < V.NOTE_OFF_OFFSET:
            key = (instrument, tok - V.NOTE_ON_OFFSET)
            sounding[key] = sounding.get(key, 0) + 1
        out.append(tok)
    return out


class PerformanceGrammar(BudgetMixin):
    """The decoding state of ``batch_size`` performance-token sequences, and the masks it implies."""

    KEEPS = frozenset(
        {"max_instruments", "instruments", "grid", "key"}
    )  # the refusable controls it keeps (the others are refused)

    def __init__(
        self,
        batch_size: int,
        config: SampleConfig | None = None,
        *,
        budgets: int | Tensor = 0,
        max_seconds: float | None = None,
        device: torch.device | str = "cpu",
    ) -> None:
        """Rows under ``config``'s grammar-level controls (default: :class:`SampleConfig`'s), ``budgets``
        (each row's instrument budget, 0 none) and a length in ``max_seconds``."""
        config = config or SampleConfig()
        max_polyphony, max_note_seconds, bpm, grid = (
            config.max_polyphony, config.max_note_seconds, config.bpm, config.grid
        )  # fmt: skip
        instruments, key = config.instruments, parse_key(config.key) if config.key else None
        if max_polyphony < 1:
            raise ConfigError(f"max_polyphony must be at least 1, not {max_polyphony}")
        if max_note_seconds < V.STEP_SECONDS:
            raise ConfigError(f"max_note_seconds must be at least {V.STEP_SECONDS}, not {max_note_seconds}")
        self.spacing = grid_spacing(bpm, grid, max_note_seconds)  # steps between grid points; 0: off
        b = batch_size
        self.device = torch.device(device)
        self.max_polyphony = int(max_polyphony)
        self.max_note_steps = round(max_note_seconds / V.STEP_SECONDS)
        self.max_steps = None if max_seconds is None else round(max_seconds / V.STEP_SECONDS)
        self.allowed_instruments = torch.ones(V.N_INSTRUMENTS, dtype=torch.bool, device=self.device)
        if instruments:
            self.allowed_instruments[:] = False
            self.allowed_instruments[list(instruments)] = True
        self.rows = torch.arange(b, device=self.device)
        self.in_key = torch.ones(V.N_PITCHES, dtype=torch.bool, device=self.device)  # pitched notes allowed
        if key:
            self.in_key = torch.tensor([p % 12 in key for p in range(V.N_PITCHES)], device=self.device)
        self.instrument = torch.full((b,), -1, dtype=torch.long, device=self.device)
        self.velocity = torch.full((b,), -1, dtype=torch.long, device=self.device)
        self.count = torch.zeros(b, V.N_INSTRUMENTS, V.N_PITCHES, dtype=torch.int16, device=self.device)
        self.onset = torch.zeros(b, V.N_INSTRUMENTS, V.N_PITCHES, dtype=torch.long, device=self.device)
        self.now = torch.zeros(b, dtype=torch.long, device=self.device)  # steps since the start
        self.start = torch.zeros(b, dtype=torch.long, device=self.device)  # where the length counts from
        self.notes = torch.zeros(b, dtype=torch.long, device=self.device)  # NOTE_ONs since the start
        self.done = torch.zeros(b, dtype=torch.bool, device=self.device)
        self.last_kind = torch.zeros(b, dtype=torch.long, device=self.device)  # 1 INSTRUMENT, 2 VELOCITY
        self.budget = torch.as_tensor(budgets, device=self.device).long().expand(b)  # 0: no limit
        self.used = torch.zeros(b, V.N_INSTRUMENTS, dtype=torch.bool, device=self.device)  # played a note
        self.primer: list[int] = []
        self.carry: list[int] = []

    def mark_start(self) -> None:
        """Count length and notes from here on (call after the primer)."""
        self.start = self.now.clone()
        self.notes.zero_()

    def prime(self, primer: list[int]) -> list[int]:
        """Take in ``primer`` (cleaned first: no specials, no releases of notes it never started, so the
        state is exact), remember the state it leaves, and count lengths from its end."""
        self.primer = clean_primer(primer)
        prime_rows(self, self.primer, len(self.rows), self.device)
        self.carry = self.carry_tokens(0)  # every row saw the same primer
        self.mark_start()
        return self.primer

    def finish(self, row: int, body: list[int], inclusive: bool) -> list[int]:
        """The primer (or the state it left) then ``body``, with every note still sounding released."""
        head = self.primer if inclusive else self.carry
        return head + body + self.closing_tokens(row)

    @property
    def seconds(self) -> Tensor:
        """Seconds generated since :meth:`mark_start`, ``(B,)``."""
        return (self.now - self.start).double() * V.STEP_SECONDS

    def structural(self) -> Tensor:
        return torch.zeros_like(self.done)  # every choice is a note's or the time's

    def composed(self, unit: str) -> Tensor | None:
        """``(B,)`` :attr:`seconds`; None for bars (performance tokens have none)."""
        return self.seconds if unit == "seconds" else None

    def bias(self) -> Tensor | None:
        return None  # nothing is guided

    def note_tokens(self) -> Tensor:
        """``(V,)``: the ``NOTE_ON`` tokens."""
        ids = torch.arange(V.VOCAB_SIZE, device=self.device)
        return (ids >= V.NOTE_ON_OFFSET) & (ids < V.NOTE_OFF_OFFSET)

    def update(self, tokens: Tensor) -> None:
        """Advance every sequence by one token, ``tokens (B,)``."""
        tok = tokens.to(self.device).long()
        cur = self.instrument.clamp(min=0)  # before any INSTRUMENT token, notes belong to program 0
        is_on = (tok >= V.NOTE_ON_OFFSET) & (tok < V.NOTE_OFF_OFFSET) & ~self.done
        if is_on.any():
            r, i, p = self.rows[is_on], cur[is_on], tok[is_on] - V.NOTE_ON_OFFSET
            fresh = self.count[r, i, p] == 0
            self.onset[r[fresh], i[fresh], p[fresh]] = self.now[r[fresh]]
            self.count[r, i, p] += 1
            self.used[r, i] = True
            self.notes += is_on.long()
        is_off = (tok >= V.NOTE_OFF_OFFSET) & (tok < V.VELOCITY_OFFSET) & ~self.done
        if is_off.any():
            r, i, p = self.rows[is_off], cur[is_off], tok[is_off] - V.NOTE_OFF_OFFSET
            self.count[r, i, p] = (self.count[r, i, p] - 1).clamp(min=0)
            self.onset[r, i, p] = self.now[r]  # a note of the same pitch still sounding counts from now
        is_vel = (tok >= V.VELOCITY_OFFSET) & (tok < V.TIME_SHIFT_OFFSET)
        self.velocity = torch.where(is_vel, tok - V.VELOCITY_OFFSET, self.velocity)
        is_shift = (tok >= V.TIME_SHIFT_OFFSET) & (tok < V.INSTRUMENT_OFFSET)
        self.now += torch.where(is_shift, tok - V.TIME_SHIFT_OFFSET + 1, 0)
        is_inst = (tok >= V.INSTRUMENT_OFFSET) & (tok < V.VOCAB_SIZE)
        self.instrument = torch.where(is_inst, tok - V.INSTRUMENT_OFFSET, self.instrument)
        self.last_kind = torch.where(is_inst, 1, torch.where(is_vel, 2, 0))
        self.done |= tok == V.EOS

    def allowed(self) -> Tensor:
        """Boolean ``(B, V)``: True where the token may come next."""
        b = self.rows.shape[0]
        cur = self.instrument.clamp(min=0)
        sounding = self.count > 0  # (B, I, P)
        sounding_here = sounding[self.rows, cur]  # (B, P)
        polyphony = sounding.sum(dim=(1, 2))  # (B,)
        held = torch.where(sounding, self.now[:, None, None] - self.onset, 0)  # (B, I, P)
        releasable = held > 0  # (B, I, P): sounding, and started before now
        note_room = self.max_note_steps - held.amax(dim=(1, 2))  # (B,)
        room = note_room
        if self.max_steps is not None:
            room = torch.minimum(room, self.max_steps - (self.now - self.start))
        shifts = torch.arange(1, V.N_TIME_SHIFTS + 1, device=self.device)
        on_grid = (
            self._on_grid(shifts) if self.spacing else torch.ones(1, 1, dtype=torch.bool, device=self.device)
        )
        may_shift = (shifts[None, :] <= room[:, None]) & on_grid  # (B, T)
        ok = torch.zeros(b, V.VOCAB_SIZE, dtype=torch.bool, device=self.device)
        may_start = self.may_play() & (polyphony < self.max_polyphony)[:, None]  # (B, I)
        can_start = may_start[self.rows, cur]  # (B,)
        in_key = self.in_key[None, :] | (cur == V.DRUMS)[:, None]  # (B, P): the key binds pitched notes
        ok[:, V.NOTE_ON_OFFSET : V.NOTE_OFF_OFFSET] = ~sounding_here & can_start[:, None] & in_key
        ok[:, V.NOTE_OFF_OFFSET : V.VELOCITY_OFFSET] = releasable[self.rows, cur]
        velocities = torch.arange(V.N_VELOCITIES, device=self.device)
        ok[:, V.VELOCITY_OFFSET : V.TIME_SHIFT_OFFSET] = (
            velocities[None, :] != self.velocity[:, None]
        ) & can_start[:, None]
        ok[:, V.TIME_SHIFT_OFFSET : V.INSTRUMENT_OFFSET] = may_shift
        instruments = torch.arange(V.N_INSTRUMENTS, device=self.device)
        useful = releasable.any(dim=2) | may_start
        ok[:, V.INSTRUMENT_OFFSET : V.VOCAB_SIZE] = useful & (
            instruments[None, :] != self.instrument[:, None]
        )
        # the encoder's order: after INSTRUMENT a note event or VELOCITY, after VELOCITY a NOTE_ON
        notes_only = torch.zeros_like(ok)
        notes_only[:, V.NOTE_ON_OFFSET : V.TIME_SHIFT_OFFSET] = ok[:, V.NOTE_ON_OFFSET : V.TIME_SHIFT_OFFSET]
        notes_only[:, V.NOTE_OFF_OFFSET : V.TIME_SHIFT_OFFSET] &= (self.last_kind == 1)[:, None]
        follow = (self.last_kind > 0) & notes_only.any(dim=1)
        ok = torch.where(follow[:, None], notes_only, ok)

        overdue = sounding & (held >= self.max_note_steps)  # (B, I, P)
        forced = overdue.any(dim=(1, 2))
        if forced.any():  # release notes at the limit before anything else
            overdue_here = overdue[self.rows, cur]  # (B, P)
            here = overdue_here.any(dim=1)
            release = torch.zeros_like(ok)
            release[:, V.NOTE_OFF_OFFSET : V.VELOCITY_OFFSET] = overdue_here
            release[:, V.INSTRUMENT_OFFSET : V.VOCAB_SIZE] = overdue.any(dim=2) & ~here[:, None]
            ok = torch.where(forced[:, None], release, ok)
        if self.max_steps is not None:  # the length in seconds is reached (or its last grid point): end
            left = self.max_steps - (self.now - self.start)
            reached = ~((shifts[None, :] <= left[:, None]) & on_grid).any(dim=1)  # no (grid) step fits
            ok[reached] = False
        stuck = ~ok.any(dim=1)
        ok[:, V.EOS] |= stuck  # nothing valid left (e.g. the length in seconds is reached): end
        ok[self.done] = False
        ok[self.done, V.PAD] = True
        return ok

    def _on_grid(self, shifts: Tensor) -> Tensor:
        """``(B, T)``: True where a shift of ``shifts`` steps from now lands on a grid point."""
        target = self.now[:, None] + shifts[None, :]  # (B, T)
        nearest = torch.round(torch.round(target.double() / self.spacing) * self.spacing)
        return nearest == target

    def closing_tokens(self, row: int) -> list[int]:
        """Tokens that release every note still sounding in sequence ``row`` (current instrument first),
        one 10 ms step later where one of them started just now (a note never ends where it begins)."""
        count = self.count[row].cpu()
        current = int(self.instrument[row])
        fresh = (count > 0) & (self.onset[row].cpu() == int(self.now[row]))
        out: list[int] = [V.TIME_SHIFT_OFFSET] if bool(fresh.any()) else []
        order = sorted(range(V.N_INSTRUMENTS), key=lambda i: (i != max(current, 0), i))
        for inst in order:
            pitches = torch.nonzero(count[inst]).flatten().tolist()
            if not pitches:
                continue
            if inst != max(current, 0):
                out.append(V.INSTRUMENT_OFFSET + inst)
                current = inst
            for p in pitches:
                out.extend([V.NOTE_OFF_OFFSET + p] * int(count[inst, p]))
        return out

    def carry_tokens(self, row: int) -> list[int]:
        """Tokens that restore sequence ``row``'s state at the start of a fresh piece: the notes still
        sounding start again at time 0, then the current instrument and velocity are selected."""
        count = self.count[row].cpu()
        velocity = int(self.velocity[row])
        out: list[int] = []
        last = -1
        for inst in range(V.N_INSTRUMENTS):
            pitches = torch.nonzero(count[inst]).flatten().tolist()
            if not pitches:
                continue
            out.append(V.INSTRUMENT_OFFSET + inst)
            last = inst
            if velocity >= 0 and len(out) == 1:
                out.append(V.VELOCITY_OFFSET + velocity)
            for p in pitches:
                out.extend([V.NOTE_ON_OFFSET + p] * int(count[inst, p]))
        current = int(self.instrument[row])
        if current >= 0 and current != last:
            out.append(V.INSTRUMENT_OFFSET + current)
        if velocity >= 0 and V.VELOCITY_OFFSET + velocity not in out:
            out.append(V.VELOCITY_OFFSET + velocity)
        return out
