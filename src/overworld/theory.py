"""The little music theory the controls need: keys (a tonic and a mode) as pitch classes, and time
signatures as text. ``"D minor"``, ``"F# dorian"``, ``"Bb"`` (major), ``"C mixolydian"``; ``"3/4"``.

The metres the bar grid holds (:data:`TIME_SIGNATURES`) are written here, below the tokenizers, so the
controls' checks (:func:`bar_metre`) and the studio read them without loading the bar tokenizer, whose
``TIMESIG`` tokens are these in this order; :class:`Metred` gives a config with a tempo and a time
signature its bar's length once."""

from __future__ import annotations

from overworld.errors import ConfigError

__all__ = [
    "MODES",
    "TICKS_PER_QUARTER",
    "TIME_SIGNATURES",
    "Metred",
    "bar_metre",
    "parse_key",
    "parse_time_signature",
]

MODES: dict[str, tuple[int, ...]] = {
    "major": (0, 2, 4, 5, 7, 9, 11),
    "ionian": (0, 2, 4, 5, 7, 9, 11),
    "minor": (0, 2, 3, 5, 7, 8, 10),
    "aeolian": (0, 2, 3, 5, 7, 8, 10),
    "dorian": (0, 2, 3, 5, 7, 9, 10),
    "phrygian": (0, 1, 3, 5, 7, 8, 10),
    "lydian": (0, 2, 4, 6, 7, 9, 11),
    "mixolydian": (0, 2, 4, 5, 7, 9, 10),
    "locrian": (0, 1, 3, 5, 6, 8, 10),
    "harmonic minor": (0, 2, 3, 5, 7, 8, 11),
    "pentatonic": (0, 2, 4, 7, 9),
    "minor pentatonic": (0, 3, 5, 7, 10),
    "blues": (0, 3, 5, 6, 7, 10),
}
# the metres of the bar grid (the bar tokens' TIMESIG ids, in this order): what compose, play and the studio offer
TIME_SIGNATURES: tuple[tuple[int, int], ...] = (
    (4, 4), (3, 4), (2, 4), (5, 4), (6, 4), (7, 4), (8, 4), (2, 2), (3, 2),
    (3, 8), (5, 8), (6, 8), (7, 8), (9, 8), (12, 8),
)  # fmt: skip
TICKS_PER_QUARTER = 480  # the ticks composed and live bars are written in (the bar tokenizer decodes at 480)
_TONICS = {"c": 0, "d": 2, "e": 4, "f": 5, "g": 7, "a": 9, "b": 11}
_ACCIDENTALS = {"": 0, "#": 1, "b": -1}  # at most one: a sharp or a flat


def parse_key(text: str) -> frozenset[int]:
    """The pitch classes (0 = C) of a key such as ``"D minor"``, ``"F# dorian"`` or ``"Bb"`` (major).
    Raises :class:`ConfigError` naming the modes."""
    words = text.strip().lower().split(maxsplit=1)
    if not words or words[0][0] not in _TONICS:
        raise ConfigError(f"a key is a tonic A-G (with # or b) and a mode, like 'D minor', not {text[:40]!r}")
    tonic_text, mode = words[0], words[1].strip() if len(words) > 1 else "major"
    if tonic_text[1:] not in _ACCIDENTALS:  # 'C#####' named no key anyone writes, yet was taken as F
        raise ConfigError(
            f"unknown key {text[:40]!r}: a tonic is A-G with at most one # or b, like 'F#' or 'Bb'"
        )
    if mode not in MODES:
        raise ConfigError(
            f"unknown key {text[:40]!r}; a tonic A-G (with # or b) and one of: {', '.join(MODES)}"
        )
    tonic = _TONICS[tonic_text[0]] + _ACCIDENTALS[tonic_text[1:]]
    return frozenset((tonic + step) % 12 for step in MODES[mode])


def parse_time_signature(text: str) -> tuple[int, int]:
    """``"6/8"`` -> ``(6, 8)``. Raises :class:`ConfigError`."""
    num, sep, den = text.strip().partition("/")
    try:
        n, d = int(num), int(den)
    except ValueError:
        raise ConfigError(f"a time signature looks like 4/4 or 6/8, not {text!r}") from None
    if not sep or not 1 <= n <= 32 or d not in (1, 2, 4, 8, 16, 32):
        raise ConfigError(f"a time signature looks like 4/4 or 6/8, not {text!r}")
    return n, d


def bar_metre(text: str) -> tuple[int, int]:
    """``"6/8"`` -> ``(6, 8)`` for a metre the bar grid holds (:data:`TIME_SIGNATURES`). Raises
    :class:`ConfigError` naming them."""
    metre = parse_time_signature(text)
    if metre not in TIME_SIGNATURES:
        known = ", ".join(f"{n}/{d}" for n, d in TIME_SIGNATURES)
        raise ConfigError(f"the bar grid holds the time signatures {known}; not {text}")
    return metre


class Metred:
    """What a config or a piece with ``bpm`` and ``time_signature`` (text) knows of its bars: the metre,
    a bar's seconds and its ticks at :data:`TICKS_PER_QUARTER`. A mixin of frozen dataclasses."""

    bpm: float
    time_signature: str

    @property
    def metre(self) -> tuple[int, int]:
        return parse_time_signature(self.time_signature)

    @property
    def bar_seconds(self) -> float:
        num, den = self.metre
        return num * 4 / den * 60.0 / self.bpm

    @property
    def bar_ticks(self) -> int:
        num, den = self.metre
        return TICKS_PER_QUARTER * 4 * num // den
