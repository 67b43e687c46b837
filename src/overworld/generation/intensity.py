"""Intensity, from calm (0) to intense (1), as grammar budgets on the bar tokens.

The preferred control, a conditioning token the model learned from each training window's density, needs
a model trained with it; the bar model of this project was not. So intensity is a set of budgets the
bar grammar enforces while sampling (every one measurable in the result):

* instruments playing: at most ``2 + 5 x`` distinct instruments (2 to 7), and at least ``5 x`` parts in
  every bar where another part may still start (layers: 1 at 0.2, 4 at 0.8), so a more intense piece
  always has more instruments than a calmer one whose budget is below its layers;
* note density: at most ``2 + 8 x`` notes sounding at once (2 to 10), and onsets on eighths below
  x = 1/3, on sixteenths below 2/3, anywhere on the 12-a-beat grid above;
* notes written in a bar: at most ``4 + 28 x``, and at least ``max(0, 24 x - 8)`` where the bar has room
  for more (no bar line before them);
* velocity: only velocities within 20 of ``40 + 70 x`` (a calm piece plays 20-60, an intense one
  90-127); these two are the :class:`IntensityGrammar` masks over the bar grammar's own;
* drums: the drum kit only from x = 0.4 on.

Two versions that share their structure (``--intensity 0.2,0.8``) are composed once, at the highest
intensity, and each calmer version keeps the layers its budget allows (the instruments that play the
most notes, never the drums below 0.4) with its velocities moved into its own window: the same notes,
form and harmony, fewer and softer layers, as a game crossfades stems (see
:func:`overworld.generation.compose.compose`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from overworld.config import SampleConfig
from overworld.errors import ConfigError
from overworld.midi.gm import DRUMS
from overworld.tokenizers.abilities import BarAbilities, bars_of

__all__ = ["Intensity", "IntensityGrammar", "layer_levels", "with_intensity"]

DRUMS_FROM = 0.4  # the drum kit plays from this intensity on


@dataclass(frozen=True)
class Intensity:
    """The budgets of one intensity ``level`` in [0, 1]."""

    level: float

    def __post_init__(self) -> None:
        if not (isinstance(self.level, int | float) and 0.0 <= self.level <= 1.0):
            raise ConfigError(f"intensity must be between 0 (calm) and 1 (intense), not {self.level!r}")

    @property
    def instruments(self) -> int:
        return round(2 + 5 * self.level)

    @property
    def layers(self) -> int:
        """Parts (instruments) every bar has at least, where another may still start."""
        return round(5 * self.level)

    @property
    def polyphony(self) -> int:
        return round(2 + 8 * self.level)

    @property
    def grid(self) -> int:
        """Onset grid in steps a beat (0: any of the 12)."""
        return 2 if self.level < 1 / 3 else 4 if self.level < 2 / 3 else 0

    @property
    def notes_per_bar(self) -> tuple[int, int]:
        """Notes written in one bar: at least, at most."""
        return max(0, round(24 * self.level - 8)), round(4 + 28 * self.level)

    @property
    def drums(self) -> bool:
        return self.level >= DRUMS_FROM

    @property
    def velocities(self) -> tuple[int, int]:
        """The MIDI velocities notes may take, low and high."""
        centre = 40 + 70 * self.level
        return max(1, round(centre - 20)), min(127, round(centre + 20))

    def settings(self, base: SampleConfig) -> SampleConfig:
        """``base`` with this intensity's budgets (within the instruments ``base`` allows)."""
        allowed = base.instruments or tuple(range(DRUMS + 1))
        if not self.drums:
            allowed = tuple(i for i in allowed if i != DRUMS)
        budget = min(self.instruments, len(allowed))
        polyphony = min(self.polyphony, base.max_polyphony)
        return dataclasses.replace(
            base, instruments=allowed, max_instruments=budget, max_polyphony=polyphony, grid=self.grid
        )

    def texture(self, base: SampleConfig) -> SampleConfig:
        """``base`` with this intensity's polyphony and onset grid only: what it keeps of its budgets when
        an arrangement plan sets the layers (a plan's part must always have room, so no note caps)."""
        return dataclasses.replace(
            base, max_polyphony=min(self.polyphony, base.max_polyphony), grid=self.grid
        )

    def keeps(self, ranked: Sequence[int]) -> tuple[int, ...]:
        """The layers this level keeps of ``ranked`` instruments (the most important first): its first
        ``instruments`` of them, the drum kit only from :data:`DRUMS_FROM` (as a plan's layers)."""
        return tuple([i for i in ranked if i != DRUMS or self.drums][: self.instruments])

    def velocity(self, velocities: np.ndarray, source: Intensity) -> np.ndarray:
        """Velocities composed at ``source``'s intensity, moved linearly into this one's window."""
        lo, hi = source.velocities
        new_lo, new_hi = self.velocities
        scaled = new_lo + (np.asarray(velocities, dtype=np.float64) - lo) * (new_hi - new_lo) / max(
            hi - lo, 1
        )
        return np.clip(np.rint(scaled), new_lo, new_hi).astype(np.int64)


def layer_levels(ranked: Sequence[int]) -> dict[int, float]:
    """Each instrument of ``ranked`` (the most important first) with its layer: the lowest intensity
    from which :meth:`Intensity.keeps` keeps it at every level above, as a game's vertical layering
    fades a part in (``level >= layer``: it sounds). Exact: the levels where what a level keeps can
    change are the drums' and those where its instrument budget grows. Instruments no level keeps (past
    the budget at 1) are left out."""
    points = {0.0, DRUMS_FROM}
    for count in range(Intensity(0.0).instruments + 1, Intensity(1.0).instruments + 1):
        low, high = 0.0, 1.0  # the lowest level with ``count`` instruments, by bisection
        for _ in range(60):
            mid = (low + high) / 2
            low, high = (low, mid) if Intensity(mid).instruments >= count else (mid, high)
        points.add(high)
    kept = [(point, Intensity(point).keeps(ranked)) for point in sorted(points, reverse=True)]
    out: dict[int, float] = {}
    for inst in dict.fromkeys(ranked):
        for point, keeps in kept:  # down from the top level while it is kept
            if inst not in keeps:
                break
            out[inst] = point
    return out


class IntensityGrammar:
    """``inner``'s masks, and: only the ``VEL`` tokens of ``bins`` (low, high, inclusive); at most
    ``notes[1]`` written notes (``PITCH`` tokens) a bar (then the bar only closes); no bar line before
    ``notes[0]`` of them while anything else may come, nor before ``layers`` parts while another part may
    start. State, ``done`` and clocks are ``inner``'s."""

    def __init__(
        self, inner: Any, bars: BarAbilities, bins: tuple[int, int], notes: tuple[int, int], layers: int = 0
    ) -> None:
        self.inner, self.notes, self.layers = inner, notes, layers
        self.layout = L = bars.layout  # the ids of the kinds it counts
        self.note_end = bars.note_end  # the inner grammar's kind after a note's last token
        vel = torch.arange(L.PITCH - L.VEL)
        self.refused = torch.zeros(L.SIZE, dtype=torch.bool)
        self.refused[L.VEL : L.PITCH] = (vel < bins[0]) | (vel > bins[1])
        self.written = torch.zeros(len(inner.rows), dtype=torch.long, device=inner.device)  # (B,) this bar
        self.parts = torch.zeros(len(inner.rows), dtype=torch.long, device=inner.device)  # (B,) this bar
        self.closing = torch.ones(L.SIZE, dtype=torch.bool)  # once the bar is full: only BAR or EOS
        self.closing[[L.BAR, L.EOS, L.PAD]] = False
        self.ending = torch.zeros(L.SIZE, dtype=torch.bool)
        self.ending[[L.BAR, L.EOS]] = True

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def update(self, tokens: Tensor) -> None:
        L = self.layout
        tok = tokens.to(self.written.device).long()
        pitch = (tok >= L.PITCH) & (tok < L.DUR)
        self.written = torch.where(tok == L.BAR, 0, self.written + pitch.long())
        track = (tok >= L.TRACK) & (tok < L.REPEAT)
        self.parts = torch.where(tok == L.BAR, 0, self.parts + track.long())
        self.inner.update(tokens)

    def allowed(self) -> Tensor:
        L = self.layout
        ok = self.inner.allowed() & ~self.refused.to(self.written.device)[None, :]
        full = (self.written >= self.notes[1]) & (ok & self.ending[None, :].to(ok.device)).any(dim=1)
        ok[full] &= ~self.closing.to(ok.device)[None, :]
        short = (self.written < self.notes[0]) & (ok & ~self.ending[None, :].to(ok.device)).any(dim=1)
        ok[short] &= ~self.ending.to(ok.device)[None, :]
        self._layer(ok)
        stuck = ~ok.any(dim=1)
        ok[:, L.EOS] |= stuck  # never expected: every rule above leaves a way on
        return ok

    def _layer(self, ok: Tensor) -> None:
        """Below ``layers`` parts in the bar: no bar line while a part may start, only an instrument with
        enough allowed ones after it (parts go in increasing instrument order) to reach ``layers``, and no
        new note in this part once the bar's notes leave only two for each part still to come."""
        if not self.layers:  # nothing to require (a plan sets the layers): skip the work
            return
        L = self.layout
        need = (self.layers - self.parts).clamp(min=0)  # (B,)
        tracks = ok[:, L.TRACK : L.REPEAT]  # (B, I)
        after = tracks.flip(1).long().cumsum(1).flip(1) - tracks.long()  # allowed instruments above each
        enough = tracks & (after >= (need - 1)[:, None])
        narrow = (need > 0) & enough.any(dim=1)
        ok[narrow, L.TRACK : L.REPEAT] = enough[narrow]
        # near the bar's note cap, keep two notes for each part still missing: after a note, the next part
        room = (self.written >= self.notes[1] - 2 * need) & (self.inner.last == self.note_end)
        ok[narrow & room, L.POS : L.DUR] = False
        thin = (need > 0) & tracks.any(dim=1)
        ok[thin] &= ~self.ending.to(ok.device)[None, :]


class _IntensityTokenizer:
    """A bar tokenizer whose grammars keep to an intensity; everything else is the tokenizer's."""

    def __init__(
        self, tokenizer: BarAbilities, bins: tuple[int, int], notes: tuple[int, int], layers: int
    ) -> None:
        self._tokenizer, self._bins, self._notes, self._layers = tokenizer, bins, notes, layers

    def __getattr__(self, name: str) -> Any:
        return getattr(self._tokenizer, name)

    def grammar(self, *args: Any, **kwargs: Any) -> IntensityGrammar:
        return IntensityGrammar(
            self._tokenizer.grammar(*args, **kwargs), self._tokenizer, self._bins, self._notes, self._layers
        )


def with_intensity(model: Any, intensity: Intensity, *, planned: bool = False) -> Any:
    """``model`` (what ``load_model`` returns) sampling under ``intensity``'s velocity, note and layer
    budgets; ``planned``: under its velocities only, as an arrangement plan already sets the layers
    (:meth:`overworld.tokenizers.bars_plan.Plan.layers`) and a part the plan asks for must have room."""
    from types import SimpleNamespace

    bars = bars_of(model.tokenizer, "an intensity")
    lo, hi = intensity.velocities
    bins = (lo // bars.velocity_bin, hi // bars.velocity_bin)
    notes, layers = ((0, 10**6), 0) if planned else (intensity.notes_per_bar, intensity.layers)
    tokenizer = _IntensityTokenizer(bars, bins, notes, layers)
    return SimpleNamespace(model=model.model, tokenizer=tokenizer, sampling=getattr(model, "sampling", None))
