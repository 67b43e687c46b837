"""The control surface, built from the config fields that declare each control once
(:func:`overworld.config.fields.control`): argparse flags (:func:`add_arguments`), the values a command
line, a form or a dict gave (:func:`from_args`, :func:`from_form`) and the studio page's widgets
(:func:`widgets`). Nothing here names a control: a field added to a config is a flag, a form field and a
widget with no other change.

Two kinds of defaults: a :class:`~overworld.config.SampleConfig` flag left out keeps the model's
recommended setting (``model_defaults``: the flag's default is None, and its help says so); a
``ComposeConfig`` flag left out is the field's own default.
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from overworld.errors import ConfigError

__all__ = ["PARSERS", "add_arguments", "controls", "from_args", "from_form", "parse_levels", "widgets"]


def parse_levels(text: str) -> tuple[float, ...]:
    """Intensity levels from ``"0.2,0.8"`` (empty: none). Raises :class:`ConfigError`."""
    try:
        return tuple(float(x) for x in text.split(",")) if text.strip() else ()
    except ValueError:
        raise ConfigError(
            f"intensity is 0 (calm) to 1 (intense), or several like 0.2,0.8; not {text!r}"
        ) from None


def _parsers() -> dict[str, Callable[[str], Any]]:
    from overworld.generation.controls import parse_budget, parse_instruments

    return {"instruments": parse_instruments, "budget": parse_budget, "levels": parse_levels}


PARSERS = ("instruments", "budget", "levels")  # the names a field's ``parse`` metadata may give


def controls(cls: type, skip: tuple[str, ...] = (), where: str = "") -> Iterator[dataclasses.Field]:
    """The declared controls of ``cls`` (fields with help), less ``skip`` and, with ``where`` ("cli",
    "studio"), those that the program sets there itself."""
    for f in dataclasses.fields(cls):
        if "help" in f.metadata and f.name not in skip and f.metadata.get(where, True) is not False:
            yield f


def _kind(f: dataclasses.Field) -> str:
    """bool, int, float, str or text (a value parsed from text by its ``parse``)."""
    if "parse" in f.metadata:
        return "text"
    return next(k for k in ("bool", "int", "float", "str") if str(f.type).startswith(k))


def flag_of(f: dataclasses.Field) -> str:
    return f.metadata.get("flag") or "--" + f.name.replace("_", "-")


def _shown(f: dataclasses.Field) -> str:
    if "default_text" in f.metadata:
        return f.metadata["default_text"]
    value = f.default
    return (
        "on"
        if value is True
        else "off"
        if value is False
        else "none"
        if value is None
        else f"{value:g}"
        if isinstance(value, float)
        else str(value)
    )


def add_arguments(
    parser: Any,
    cls: type,
    *,
    skip: tuple[str, ...] = (),
    model_defaults: bool = False,
    say: Mapping[str, str] | None = None,
) -> None:
    """A flag for each control of ``cls`` (less ``skip``) on ``parser``: its type, choices and help with
    its default (``say``: another default text for some, as a command sees them)."""
    say = say or {}
    for f in controls(cls, skip, "cli"):
        meta, kind = f.metadata, _kind(f)
        default_text = say.get(f.name) or _shown(f)
        if model_defaults and f.name not in say:
            default_text = f"the model's setting; plain: {default_text}"
        options: dict[str, Any] = {"dest": f.name, "default": None if model_defaults else f.default}
        if kind == "bool":
            options["action"] = argparse.BooleanOptionalAction if model_defaults else "store_true"
        else:
            options["type"] = {"int": int, "float": float}.get(kind, str)
        if "metavar" in meta:
            options["metavar"] = meta["metavar"]
        listed = _choices(options, choices_of(f)) if "choices" in meta else ""
        options["help"] = f"{meta['help']}{listed} (default: {default_text})"
        parser.add_argument(flag_of(f), **options)


def choices_of(f: dataclasses.Field) -> dict[str, str]:
    """``{choice: description}`` of a field whose ``choices`` name a registry (a function, called now)."""
    found = f.metadata.get("choices", {})
    return dict(found() if callable(found) else found)


def _choices(options: dict[str, Any], choices: dict[str, str]) -> str:
    """argparse's ``choices``, or where the choices are described, a metavar and the text listing them
    for the help (the config checks the name, in one line)."""
    if any(choices.values()):
        options["metavar"] = "{" + ",".join(choices) + "}"
        return ": " + "; ".join(f"{k}: {v}" for k, v in choices.items())
    options["choices"] = tuple(choices)
    return ""


def _value(f: dataclasses.Field, value: Any) -> Any:
    if isinstance(value, str) and "parse" in f.metadata:
        return _parsers()[f.metadata["parse"]](value)
    return value


def from_args(cls: type, args: argparse.Namespace, *, skip: tuple[str, ...] = ()) -> dict[str, Any]:
    """``{field: value}`` for each control of ``cls`` that ``args`` holds and gave (not None), parsed."""
    given = {f.name: (f, getattr(args, f.name, None)) for f in controls(cls, skip, "cli")}
    return {name: _value(f, value) for name, (f, value) in given.items() if value is not None}


ON, OFF = ("1", "true", "on", "yes"), ("0", "false", "off", "no")


def _from_text(f: dataclasses.Field, text: str) -> Any:
    kind = _kind(f)
    if kind == "bool":
        if text.lower() not in ON + OFF:
            raise ConfigError(f"{f.name.replace('_', ' ')} must be on or off, not {text[:40]!r}")
        return text.lower() in ON
    if kind in ("int", "float"):
        try:
            return int(text) if kind == "int" else float(text)
        except ValueError:
            what = "a whole number" if kind == "int" else "a number"
            shown = text if len(text) <= 40 else text[:40] + "..."
            raise ConfigError(f"{f.name.replace('_', ' ')} must be {what}, not {shown!r}") from None
    return _value(f, text)


def from_form(cls: type, fields: Mapping[str, Any], *, skip: tuple[str, ...] = ()) -> dict[str, Any]:
    """``{field: value}`` for each control of ``cls`` that the form ``fields`` (strings) filled in, read
    as the command line reads its flags; an empty field is not given."""
    out = {}
    for f in controls(cls, skip, "studio"):
        text = str(fields.get(f.name) or "").strip()
        if text:
            out[f.name] = _from_text(f, text)
    return out


def widgets(cls: type, *, skip: tuple[str, ...] = (), base: Any = None) -> list[dict[str, Any]]:
    """The page's widget of each control of ``cls``: name, label, kind (number, text, checkbox or a
    select of on/off), its range and step, help, and the value it starts from (``base``'s, else the
    field's default) as placeholder; with ``base`` (the model's settings) a left-empty widget keeps it."""
    out = []
    for f in controls(cls, skip, "studio"):
        meta, kind = f.metadata, _kind(f)
        start = getattr(base, f.name) if base is not None else f.default
        item: dict[str, Any] = {
            "name": f.name,
            "label": f.name.replace("_", " ").capitalize(),
            "help": meta["help"],
        }
        if kind == "bool":
            item.update(kind="select" if base is not None else "checkbox", value=bool(start))
        elif kind in ("int", "float"):
            item.update(kind="number", step=meta.get("step", 1 if kind == "int" else "any"))
            item.update({k: meta[m] for k, m in (("min", "low"), ("max", "high")) if m in meta})
            item["placeholder"] = (
                "" if start is None else f"{start:g}" if isinstance(start, float) else str(start)
            )
        elif "choices" in meta:
            item.update(kind="select", value=start, choices=choices_of(f))
        else:
            item.update(kind="text", placeholder=_placeholder(start, meta))
        out.append(item)
    return out


def _placeholder(value: Any, meta: Mapping[str, Any]) -> str:
    if isinstance(value, tuple):
        joined = ("-" if meta.get("parse") == "budget" else ",").join(str(v) for v in value)
        return joined or meta.get("default_text", "")
    return str(value) or meta.get("default_text", "")
