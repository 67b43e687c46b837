"""The page's form fields (strings) read into the library's own settings, each bad value one line that
names the field, as the command line's flags would."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from typing import Any

from overworld.errors import ConfigError

__all__ = [
    "compose_config",
    "flag",
    "generate_changes",
    "generate_length",
    "infill_span",
    "sampling_changes",
    "seed_of",
    "widgets",
]

Fields = Mapping[str, Any]


def _text(fields: Fields, name: str) -> str:
    return str(fields.get(name) or "").strip()


def _number(fields: Fields, name: str, kind: Callable[[str], Any], default: Any = None) -> Any:
    text = _text(fields, name)
    if not text:
        return default
    try:
        return kind(text)
    except ValueError:
        what = "a whole number" if kind is int else "a number"
        shown = text if len(text) <= 40 else text[:40] + "..."
        raise ConfigError(f"{name.replace('_', ' ')} must be {what}, not {shown!r}") from None


def flag(fields: Fields, name: str) -> bool:
    return _text(fields, name).lower() in ("1", "true", "on", "yes")


def seed_of(fields: Fields) -> int:
    """The seed asked for, else a random one (shown with the take, so it can be asked again)."""
    from overworld.config import check_seed

    seed = _number(fields, "seed", int)
    return check_seed(seed) if seed is not None else secrets.randbelow(2**31)


# the controls the page holds in its own fields for both modes (compose's, and generate's sampling ones)
SHARED = ("bars", "bpm", "key", "time_signature", "stems")


def sampling_changes(fields: Fields, skip: tuple[str, ...] = ()) -> dict[str, Any]:
    """The sampling settings the page filled in, less ``skip`` and the shared fields' (the others keep
    the model's settings)."""
    from overworld.config import SampleConfig
    from overworld.generation.surface import from_form

    return from_form(SampleConfig, fields, skip=SHARED + skip)


def generate_changes(fields: Fields) -> dict[str, Any]:
    """The sampling changes of generate: those of :func:`sampling_changes` with the key, metre and tempo
    where given (else the model's, or a primer's tempo)."""
    from overworld.config import SampleConfig
    from overworld.generation.surface import from_form

    music = {name: value for name, value in fields.items() if name in SHARED and value != "auto"}
    return {**sampling_changes(fields), **from_form(SampleConfig, music)}


def compose_config(fields: Fields, *, sample_rate: int, synth: str = "chiptune") -> Any:
    """A :class:`~overworld.generation.compose.ComposeConfig` from the compose controls."""
    from overworld.generation.compose import ComposeConfig
    from overworld.generation.surface import from_form

    given = from_form(ComposeConfig, fields)
    return ComposeConfig(**given, synth=synth, sample_rate=sample_rate, formats=("ogg",))


def widgets(base: Any) -> dict[str, list[dict[str, Any]]]:
    """The page's sampling widgets (starting from ``base``, the model's settings) and compose widgets, less
    the shared fields': built from the configs' fields."""
    from overworld.config import SampleConfig
    from overworld.generation.compose import ComposeConfig
    from overworld.generation.surface import widgets as built

    return {
        "sampling": built(SampleConfig, skip=SHARED, base=base or SampleConfig()),
        "compose": built(ComposeConfig, skip=SHARED),
    }


def generate_length(fields: Fields, can_bars: bool) -> dict[str, Any]:
    """``bars`` (a bar model) or ``seconds`` (any model) to generate, and the primer's seconds to keep."""
    from overworld.generation.compose import MAX_BARS

    bars, seconds = _number(fields, "bars", int), _number(fields, "seconds", float)
    if bars is not None and not can_bars:
        raise ConfigError("this model has no bars: give seconds instead")
    if bars is not None and not 1 <= bars <= MAX_BARS:
        raise ConfigError(f"bars must be between 1 and {MAX_BARS}, not {bars}")
    if seconds is not None and not 0 < seconds <= 600:
        raise ConfigError(f"seconds must be above 0 and at most 600, not {seconds}")
    if bars is None and seconds is None:
        bars, seconds = (8, None) if can_bars else (None, 16.0)
    primer_seconds = _number(fields, "primer_seconds", float)
    return {"bars": bars, "seconds": None if bars is not None else seconds, "primer_seconds": primer_seconds}


def infill_span(fields: Fields, bars: int) -> tuple[int, int]:
    """The bars to regenerate, first and last counted from 1, inside a take of ``bars`` bars."""
    first, last = _number(fields, "first", int), _number(fields, "last", int)
    if first is None or last is None:
        raise ConfigError("select the bars to regenerate on the piano roll first")
    first, last = min(first, last), max(first, last)
    if first < 1 or last > bars:
        raise ConfigError(f"bars {first}-{last} are outside the take's {bars} bars")
    return first, last
