"""A control declared once: a config field whose ``metadata`` carries its flag, help, range and default
text, and the checks every config runs from that metadata.

:func:`control` declares a field; :func:`check_types` and :func:`check_ranges` are what each config's
``__post_init__`` runs, so the command line, the studio, a ``generation_config.json`` and Python all get
the same one-line :class:`~overworld.errors.ConfigError`. :mod:`overworld.generation.surface` turns the
same fields into argparse flags, the studio's form parsing and its page's widgets.

Metadata keys (all optional but ``help``): ``low``/``high`` (the range, inclusive; ``above``: ``low``
excluded), ``off`` (a value allowed outside the range, e.g. 0 for "not set"), ``what`` (the range as the
error says it), ``flag`` (default ``--field-name``), ``default_text`` (what the CLI says the default is
where it is not the field's own, e.g. "all"), ``choices``, ``parse`` (the name of a text parser in
:data:`overworld.generation.surface.PARSERS`: "instruments", "budget", "levels"), ``step`` (the page's
number step), ``cli``/``studio`` False (set by the program, not a flag or a widget), ``refused`` (a
grammar-level control: the one-line error of a tokenizer whose grammar cannot keep it, ``{name}`` the
tokenizer's; :func:`overworld.tokenizers.base.refuse_controls`).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from overworld.errors import ConfigError

__all__ = ["check_programs", "check_ranges", "check_types", "control"]


def control(default: Any, help: str, **metadata: Any) -> Any:
    """A dataclass field with ``default`` whose metadata is ``help`` and ``metadata`` (see the module)."""
    if isinstance(default, list | dict | set):
        raise TypeError("a control's default is immutable (a tuple, not a list)")
    return dataclasses.field(default=default, metadata={"help": help, **metadata})


def check_types(config: Any) -> None:
    """Every field holds its declared type: an int is an int (not "192", 4.5 or True), a float a number."""
    for f in dataclasses.fields(config):
        value, kind = getattr(config, f.name), str(f.type)
        number = isinstance(value, int | float) and not isinstance(value, bool)
        ok = {
            "int": isinstance(value, int) and not isinstance(value, bool),
            "float": number and math.isfinite(value),
            "bool": isinstance(value, bool),
            "str": isinstance(value, str),
            "tuple[float, float]": isinstance(value, tuple)
            and len(value) == 2
            and all(isinstance(v, int | float) and not isinstance(v, bool) for v in value),
        }.get(kind, True)
        if not ok:
            raise ConfigError(f"{type(config).__name__}.{f.name} must be {kind}, not {value!r}")


def in_range(value: Any, meta: Any) -> bool:
    """Whether ``value`` lies in the range the field's ``meta`` declares (or is its ``off`` value)."""
    if "off" in meta and value == meta["off"]:
        return True
    low, high = meta.get("low", -math.inf), meta.get("high", math.inf)
    return (low < value if meta.get("above") else low <= value) and value <= high


def range_text(meta: Any) -> str:
    """The range as an error says it: ``what``, else "between LOW and HIGH"."""
    return meta.get("what") or f"between {meta.get('low', '-inf'):g} and {meta.get('high', 'inf'):g}"


def check_ranges(config: Any, prefix: str | None = None) -> None:
    """Each field with a declared range holds a value in it; the error names ``prefix.field`` (default
    prefix: the config's class name; "" for none)."""
    prefix = type(config).__name__ + "." if prefix is None else prefix
    for f in dataclasses.fields(config):
        value, meta = getattr(config, f.name), f.metadata
        if ("low" in meta or "high" in meta) and not in_range(value, meta):
            raise ConfigError(f"{prefix}{f.name} must be {range_text(meta)}, not {value!r}")


def check_programs(config: Any, prefix: str | None = None) -> None:
    """Each line-up field (``parse="instruments"``) is a tuple of GM programs 0-127 or 128 (drums); the
    error names ``prefix.field`` as :func:`check_ranges`'s does."""
    prefix = type(config).__name__ + "." if prefix is None else prefix
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        if f.metadata.get("parse") == "instruments" and (
            not isinstance(value, tuple) or any(type(i) is not int or not 0 <= i <= 128 for i in value)
        ):
            raise ConfigError(f"{prefix}{f.name} must be GM programs 0-127 or 128 (drums), not {value!r}")
