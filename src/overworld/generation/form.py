"""Musical form: a piece as sections named by letters (``AABA``), where a letter that comes back repeats
its first section, and the named forms of :data:`FORMS`."""

from __future__ import annotations

import re

from overworld.errors import ConfigError

__all__ = ["FORMS", "parse_form", "sections"]

# named forms: what a game developer may type instead of the letters
FORMS: dict[str, str] = {
    "loop": "A",
    "binary": "AB",
    "ternary": "ABA",
    "aaba": "AABA",
    "verse-chorus": "ABAB",
    "rondo": "ABACA",
    "ballad": "AABABA",
}


def parse_form(text: str) -> str:
    """The letters of a form: a name from :data:`FORMS` or letters A-Z (case ignored), like ``AABA``."""
    name = text.strip().lower()
    if name in FORMS:
        return FORMS[name]
    if not re.fullmatch(r"[a-z]{1,64}", name):
        raise ConfigError(f"a form is 1-64 letters like AABA, or one of: {', '.join(FORMS)}; not {text!r}")
    return name.upper()


def sections(form: str, section_bars: int, first_bar: int = 0) -> list[tuple[str, int, int]]:
    """``(letter, first bar, end bar)`` of every section (bars 0-based, end excluded)."""
    return [(c, first_bar + i * section_bars, first_bar + (i + 1) * section_bars) for i, c in enumerate(form)]
