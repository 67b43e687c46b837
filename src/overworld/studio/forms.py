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


def sampling_changes(fields: Fields) -> dict[str, Any]:
    """Temperature, top-p and instruments, where given (the others keep the model's settings)."""
    from overworld.generation.controls import parse_instruments

    changes = {name: _number(fields, name, float) for name in ("temperature", "top_p")}
    changes = {name: value for name, value in changes.items() if value is not None}
    if _text(fields, "instruments"):
        changes["instruments"] = parse_instruments(_text(fields, "instruments"))
    return changes


def generate_changes(fields: Fields) -> dict[str, Any]:
    """The sampling changes of generate: those of :func:`sampling_changes` with the key, metre and tempo
    where given (else the model's, or a primer's tempo)."""
    changes = sampling_changes(fields)
    for name in ("key", "time_signature"):
        if _text(fields, name) not in ("", "auto"):
            changes[name] = _text(fields, name)
    bpm = _number(fields, "bpm", float)
    if bpm is not None:
        changes["bpm"] = bpm
    return changes


def _levels(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(x) for x in text.split(",")) if text else ()
    except ValueError:
        raise ConfigError(
            f"intensity is 0 (calm) to 1 (intense), or several like 0.2,0.8; not {text!r}"
        ) from None


def compose_config(fields: Fields, *, sample_rate: int, synth: str = "chiptune") -> Any:
    """A :class:`~overworld.generation.compose.ComposeConfig` from the compose controls."""
    from overworld.generation.compose import ComposeConfig

    return ComposeConfig(
        bars=_number(fields, "bars", int), bpm=_number(fields, "bpm", float, 120.0),
        time_signature=_text(fields, "time_signature") or "4/4", key=_text(fields, "key") or "auto",
        loop=flag(fields, "loop"), loop_bars=_number(fields, "loop_bars", int, 2), form=_text(fields, "form"),
        section_bars=_number(fields, "section_bars", int, 4), variation=_number(fields, "variation", float, 0.0),
        intro=_number(fields, "intro", int, 0), ending=_number(fields, "ending", int, 0),
        intensity=_levels(_text(fields, "intensity")), console=_text(fields, "console"),
        stems=flag(fields, "stems"), synth=synth, sample_rate=sample_rate, formats=("ogg",),
    )  # fmt: skip


def generate_length(fields: Fields, can_bars: bool) -> dict[str, Any]:
    """``bars`` (a bar model) or ``seconds`` (any model) to generate, and the primer's seconds to keep."""
    bars, seconds = _number(fields, "bars", int), _number(fields, "seconds", float)
    if bars is not None and not can_bars:
        raise ConfigError("this model has no bars: give seconds instead")
    if bars is not None and not 1 <= bars <= 128:
        raise ConfigError(f"bars must be between 1 and 128, not {bars}")
    if seconds is not None and not 0 < seconds <= 600:
        raise ConfigError(f"seconds must be above 0 and at most 600, not {seconds}")
    if bars is None and seconds is None:
        bars, seconds = (8, None) if can_bars else (None, 16.0)
    return {"bars": bars, "seconds": None if bars is not None else seconds,
            "primer_seconds": _number(fields, "primer_seconds", float)}  # fmt: skip


def infill_span(fields: Fields, bars: int) -> tuple[int, int]:
    """The bars to regenerate, first and last counted from 1, inside a take of ``bars`` bars."""
    first, last = _number(fields, "first", int), _number(fields, "last", int)
    if first is None or last is None:
        raise ConfigError("select the bars to regenerate on the piano roll first")
    first, last = min(first, last), max(first, last)
    if first < 1 or last > bars:
        raise ConfigError(f"bars {first}-{last} are outside the take's {bars} bars")
    return first, last
