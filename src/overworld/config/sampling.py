""":class:`SampleConfig`, one generation call's settings: the filters' (:data:`~overworld.config.filters.
FILTERS`, first, in registry order) and the grammar's controls, each a field declared once with
:func:`~overworld.config.fields.control`. A grammar-level control that some grammars cannot keep says how
they refuse it (``refused``: the one-line error, ``{name}`` the tokenizer's), and
:func:`overworld.tokenizers.base.refuse_controls` refuses it wherever a grammar does not declare it kept."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from overworld.config.fields import check_programs, check_ranges, check_types, control
from overworld.config.filters import FILTERS
from overworld.errors import ConfigError

__all__ = ["FilterSettings", "SampleConfig"]

# the settings of every registered filter, as the first fields of SampleConfig (typed by their defaults)
FilterSettings = dataclasses.make_dataclass(
    "FilterSettings",
    [(name, type(f.default).__name__, f) for entry in FILTERS.values() for name, f in entry.fields.items()],
    frozen=True,
)
FilterSettings.__module__ = __name__  # so that a SampleConfig pickles
FilterSettings.__doc__ = "The settings of the sampling filters (:data:`overworld.config.filters.FILTERS`)."

_INSTRUMENTS = (
    "allowed instruments: GM numbers, GM names, 'drums', presets nes/square/triangle/noise (nes = 80 Lead 1 "
    "square, 81 Lead 2 sawtooth, 38 Synth Bass 1, drums)"
)
_INSTRUMENTS_REFUSED = (
    "instruments can only be restricted with the bar or performance tokenizer or MidiTok's without BPE"
)
_GRID = (
    "keep every onset on a grid of N even steps a beat at --bpm from the primer's start (4: sixteenths, 12: "
    "sixteenths and triplets), and write the MIDI file at that tempo; 0: free timing"
)
_PLAN = (
    "bar tokens: each piece follows an arrangement plan (which instruments play in each bar, which parts "
    "repeat) drawn from the model's training pieces (plans.json beside its weights); the notes are the "
    "model's (--no-plan: the model arranges too)"
)


@dataclass(frozen=True)
class SampleConfig(FilterSettings):
    """One generation call's settings; they travel with the call, never with the model."""

    max_polyphony: int = control(16, "simultaneous notes at most", low=1, high=256)
    max_note_seconds: float = control(
        8.0, "longest note", low=0.01, high=600, what="between 0.01 and 600 seconds", step=0.5
    )
    # distinct instruments in one piece at most (0: no limit), or a range (low, high) each piece draws from
    max_instruments: int | tuple[int, int] = control(
        0,
        "distinct instruments in one piece at most, or a range like 4-9 that each piece draws its own "
        "budget from; 0: no limit",
        parse="budget",
        refused=_INSTRUMENTS_REFUSED,
    )
    # allowed instrument ids (GM program 0-127, 128 drums); empty: all
    instruments: tuple[int, ...] = control(
        (), _INSTRUMENTS, parse="instruments", default_text="all", refused=_INSTRUMENTS_REFUSED
    )
    bpm: float = control(
        0.0,
        "the tempo (performance tokens: of the grid onsets keep to)",
        low=10,
        high=1000,
        off=0.0,
        what="0 (not set) or between 10 and 1000",
        default_text="not set",
    )
    grid: int = control(
        0,
        _GRID,
        low=0,
        high=96,
        what="between 0 (free timing) and 96 steps a beat",
        refused="a beat grid is for the bar and performance tokenizers; {name}'s timing is its own",
    )
    key: str = control(
        "",
        "pitched notes only in this key: 'D minor', 'F# dorian', 'Bb' (major), 'A minor pentatonic'...; "
        "drums untouched",
        default_text="any pitch",
        refused="a key is for the bar and performance tokenizers; {name} cannot keep one",
    )
    time_signature: str = control(
        "",
        "bar tokens: every bar in this metre, e.g. 3/4 or 6/8",
        default_text="the model's choice",
        refused="a time signature needs the bar tokenizer; {name} has no bars",
    )
    steady: bool = control(
        False,
        "bar tokens: one metre and one tempo for the whole piece (--no-steady lets the model change them)",
    )
    structure_temperature: float = control(
        0.0,
        "bar tokens: the temperature of structural choices (repeat a part or write it, which part comes "
        "next); 0: the same as --temperature",
        low=0,
        high=100,
        what="between 0 (the same as temperature) and 100",
        step=0.05,
    )
    plan: bool = control(False, _PLAN)
    key_focus: float = control(
        0.0,
        "bar tokens: logits a pitched note loses outside the scale the piece has settled in (the major scale "
        "or mode that holds most of its notes so far; no effect with --key); 0: off",
        low=0,
        high=20,
        what="between 0 (off) and 20 logits",
        step=0.5,
        refused="a key focus needs the bar tokenizer; {name} does not follow a piece's scale",
    )

    def __post_init__(self) -> None:
        """Check every setting once, for every caller (CLI, Python, a generation_config.json)."""
        from overworld.theory import parse_key, parse_time_signature

        check_types(self)
        if self.key:
            parse_key(self.key)
        if self.time_signature:
            parse_time_signature(self.time_signature)
        check_ranges(self)
        name = type(self).__name__
        budget = self.max_instruments
        if isinstance(budget, tuple):
            if not (
                len(budget) == 2
                and all(type(n) is int for n in budget)
                and 1 <= budget[0] <= budget[1] <= 129
            ):
                raise ConfigError(
                    f"{name}.max_instruments range must be (low, high) with 1 <= low <= high <= 129, not {budget!r}"
                )
        elif type(budget) is not int or not 0 <= budget <= 129:
            raise ConfigError(
                f"{name}.max_instruments must be 0 (no limit) to 129 or a range, not {budget!r}"
            )
        check_programs(self)
