"""Generation controls as a user gives them: instrument names and presets, instrument budgets, and each
piece's budget drawn from a range. The CLI, the notebook and the studio parse with these; the grammars
only see the resulting numbers in a :class:`~overworld.config.SampleConfig`."""

from __future__ import annotations

import torch
from torch import Tensor

from overworld.config import SampleConfig
from overworld.errors import ConfigError
from overworld.midi.gm import DRUMS, GM_PROGRAM_NAMES

__all__ = ["INSTRUMENT_PRESETS", "draw_budgets", "parse_budget", "parse_instruments", "settings_from_data"]

# Chip-style line-ups in GM terms: the NES has two pulse leads, a triangle bass and a noise channel,
# played here as Lead 1 (square), Lead 2 (sawtooth), Synth Bass 1 and the drum kit.
INSTRUMENT_PRESETS: dict[str, tuple[int, ...]] = {
    "nes": (80, 81, 38, DRUMS),
    "gameboy": (80, 81, 38, DRUMS),
    "chiptune": (80, 81, 38, DRUMS),
    "square": (80,),
    "pulse": (80,),
    "saw": (81,),
    "sawtooth": (81,),
    "triangle": (38,),
    "noise": (DRUMS,),
    "drums": (DRUMS,),
}


def parse_instruments(text: str | None) -> tuple[int, ...]:
    """Instrument ids from ``"80,81,drums"``: GM program numbers 0-127, GM names (``"Lead 1 (square)"``
    or a unique part of one, any case), ``drums`` (128) and presets (``nes``, ``square``, ``triangle``,
    ``noise``...; see :data:`INSTRUMENT_PRESETS`). Empty: all instruments. Raises :class:`ConfigError`."""
    if not text or not text.strip():
        return ()
    lowered = [name.lower() for name in GM_PROGRAM_NAMES]
    out: list[int] = []
    for raw in text.split(","):
        item = raw.strip().lower()
        if not item:
            continue
        if item.lstrip("-").isdigit():
            number = int(item)
            if not 0 <= number <= DRUMS:
                raise ConfigError(f"instrument {number} is not a GM program 0-127 or 128 (drums)")
            found: tuple[int, ...] = (number,)
        elif item in INSTRUMENT_PRESETS:
            found = INSTRUMENT_PRESETS[item]
        elif item in lowered:
            found = (lowered.index(item),)
        else:
            matches = [i for i, name in enumerate(lowered) if item in name]
            if len(matches) != 1:
                what = "matches several GM names" if matches else "is not a GM program, name or preset"
                raise ConfigError(
                    f"instrument {raw.strip()!r} {what}; use a number 0-127, 'drums' or one of "
                    f"{', '.join(sorted(INSTRUMENT_PRESETS))}"
                )
            found = (matches[0],)
        out.extend(i for i in found if i not in out)
    return tuple(out)


def draw_budgets(
    max_instruments: int | tuple[int, int], num: int, generator: torch.Generator, device: torch.device | str
) -> Tensor:
    """Each piece's instrument budget, ``(num,)``: ``max_instruments`` for all (0: no limit), or for a
    range ``(low, high)`` one drawn uniformly from ``low..high`` per piece with ``generator``. Raises
    :class:`ConfigError` for a negative budget or an empty range."""
    if isinstance(max_instruments, int):
        if max_instruments < 0:
            raise ConfigError(f"max_instruments must be 0 (no limit) or more, not {max_instruments}")
        return torch.full((num,), max_instruments, dtype=torch.long, device=device)
    low, high = (int(n) for n in max_instruments)
    if not 1 <= low <= high:
        raise ConfigError(f"an instrument budget range needs 1 <= low <= high, not {low}-{high}")
    return torch.randint(low, high + 1, (num,), generator=generator, device=generator.device).to(device)


def parse_budget(text: str) -> int | tuple[int, int]:
    """An instrument budget from ``"6"`` (every piece) or ``"4-9"`` (each piece draws one from 4..9).
    Raises :class:`ConfigError`."""
    low, sep, high = text.strip().partition("-")
    try:
        budget = (int(low), int(high)) if sep else int(low)
    except ValueError:
        raise ConfigError(f"an instrument budget is a number or a range like 4-9, not {text!r}") from None
    draw_budgets(budget, 1, torch.Generator(), "cpu")  # the same checks as at generation time
    return budget


def settings_from_data(manifest: dict, *, plans: bool = False) -> SampleConfig:
    """The sampling settings a model trained on a prepared folder starts from (its
    ``generation_config.json``): top-p 0.95 and an instrument budget drawn per piece between the 10th
    and 90th percentile of the training pieces' instrument counts, so a new model's pieces use as many
    instruments as its music did (bare defaults let a small model wander over dozens); with ``plans``
    (bar tokens, whose training pieces' arrangement plans are saved beside the weights), each piece
    follows a drawn plan and its notes are sampled at temperature 1, where their distributions are the
    music's (``scripts/collapse.py``: lower temperatures pile notes onto the loudest velocity and one
    re-struck pitch)."""
    import dataclasses

    import numpy as np

    if plans:
        return dataclasses.replace(settings_from_data(manifest), plan=True, steady=True)

    counts = [len(f.get("instruments") or ()) for f in manifest.get("files", []) if f.get("split") == "train"]
    counts = [c for c in counts if c > 0]
    if not counts:
        return SampleConfig(top_p=0.95)
    low, high = (round(float(q)) for q in np.percentile(counts, [10, 90]))
    low = min(max(1, low), 129)
    return SampleConfig(top_p=0.95, max_instruments=(low, min(max(low, high), 129)))
