"""Intensity, from calm (0) to intense (1), as grammar budgets on the bar tokens.

The preferred control, a conditioning token the model learned from each training window's density, needs
a model trained with it; the bar model of this project was not. So intensity is a set of budgets the
bar grammar enforces while sampling (every one measurable in the result):

* instruments playing: at most ``2 + 5 x`` distinct instruments (2 to 7);
* note density: at most ``2 + 8 x`` notes sounding at once (2 to 10), and onsets on eighths below
  x = 1/3, on sixteenths below 2/3, anywhere on the 12-a-beat grid above;
* velocity: only velocities within 20 of ``40 + 70 x`` (a calm piece plays 20-60, an intense one
  90-127): the :class:`VelocityWindow` mask on ``VEL`` tokens;
* drums: the drum kit only from x = 0.4 on.

Two versions that share their structure (``--intensity 0.2,0.8``) are composed once, at the highest
intensity, and each calmer version keeps the layers its budget allows (the instruments that play the
most notes, never the drums below 0.4) with its velocities moved into its own window: the same notes,
form and harmony, fewer and softer layers, as a game crossfades stems (see
:func:`overworld.generation.compose.compose`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from overworld.config import SampleConfig
from overworld.errors import ConfigError
from overworld.midi.gm import DRUMS
from overworld.tokenizers.bars import VELOCITY_BIN, Layout

__all__ = ["Intensity", "VelocityWindow", "with_velocity_window"]

L = Layout
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
    def polyphony(self) -> int:
        return round(2 + 8 * self.level)

    @property
    def grid(self) -> int:
        """Onset grid in steps a beat (0: any of the 12)."""
        return 2 if self.level < 1 / 3 else 4 if self.level < 2 / 3 else 0

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
        return dataclasses.replace(base, instruments=allowed, max_instruments=budget, max_polyphony=polyphony,
                                   grid=self.grid)  # fmt: skip

    def velocity(self, velocities: np.ndarray, source: Intensity) -> np.ndarray:
        """Velocities composed at ``source``'s intensity, moved linearly into this one's window."""
        lo, hi = source.velocities
        new_lo, new_hi = self.velocities
        scaled = new_lo + (np.asarray(velocities, dtype=np.float64) - lo) * (new_hi - new_lo) / max(
            hi - lo, 1
        )
        return np.clip(np.rint(scaled), new_lo, new_hi).astype(np.int64)


class VelocityWindow:
    """A grammar that allows only the ``VEL`` tokens of ``bins`` (low, high, inclusive) on top of
    ``inner``'s masks; everything else (state, ``done``, clocks) is ``inner``'s."""

    def __init__(self, inner: Any, bins: tuple[int, int]) -> None:
        self.inner = inner
        vel = torch.arange(L.PITCH - L.VEL)
        self.refused = torch.zeros(L.SIZE, dtype=torch.bool)
        self.refused[L.VEL : L.PITCH] = (vel < bins[0]) | (vel > bins[1])

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def allowed(self) -> Tensor:
        ok = self.inner.allowed()
        ok = ok & ~self.refused.to(ok.device)[None, :]
        stuck = ~ok.any(dim=1)
        ok[:, L.EOS] |= stuck  # never happens with two or more bins; a row is never left with nothing
        return ok


class _WindowedTokenizer:
    """A bar tokenizer whose grammars keep to a velocity window; everything else is the tokenizer's."""

    def __init__(self, tokenizer: Any, bins: tuple[int, int]) -> None:
        self._tokenizer, self._bins = tokenizer, bins

    def __getattr__(self, name: str) -> Any:
        return getattr(self._tokenizer, name)

    def grammar(self, *args: Any, **kwargs: Any) -> VelocityWindow:
        return VelocityWindow(self._tokenizer.grammar(*args, **kwargs), self._bins)


def with_velocity_window(model: Any, intensity: Intensity) -> Any:
    """``model`` (what ``load_model`` returns) sampling only the velocities of ``intensity``."""
    from types import SimpleNamespace

    lo, hi = intensity.velocities
    bins = (lo // VELOCITY_BIN, hi // VELOCITY_BIN)
    tokenizer = _WindowedTokenizer(model.tokenizer, bins)
    return SimpleNamespace(model=model.model, tokenizer=tokenizer, sampling=getattr(model, "sampling", None))
