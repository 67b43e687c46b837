"""What writing music bar by bar needs from a tokenizer, declared once: :class:`BarAbilities`.

Infilling, loops, intensity, composition, stingers, arrangement plans, live play and the studio's bar lines
work on bars: they read a piece's bar lines, write a bar's tokens, cut a piece at a bar and rebuild it
standing alone. They ask for these abilities with :func:`bars_of`, never by a tokenizer's name, a module
of the bar tokenizer or a token id (``ids == 3``): the bar tokenizer declares the protocol (it subclasses
it) and every other tokenizer is refused there, in one line that says what to use instead.

The metres the bar grid holds are :data:`overworld.theory.TIME_SIGNATURES` (checked by
:func:`overworld.theory.bar_metre`), below every tokenizer, so configs check them without loading one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

if TYPE_CHECKING:
    from symusic import Score

    from overworld.tokenizers.bars_plan import Plan

__all__ = ["BarAbilities", "BarLayout", "bars_of", "has_bars"]


class BarLayout(Protocol):
    """The ids of the token kinds a bar's consumers read (each kind's first id; ``SIZE`` the vocabulary):
    ``BAR`` starts a bar, ``TIMESIG``..``TRACK`` its metre and tempo, ``TRACK``..``REPEAT`` a part's
    instrument, ``REPEAT`` a copy of an earlier bar, ``POS``, ``VEL``, ``PITCH`` and ``DUR`` a note."""

    PAD: int
    BOS: int
    EOS: int
    BAR: int
    TIMESIG: int
    TEMPO: int
    TRACK: int
    REPEAT: int
    POS: int
    VEL: int
    PITCH: int
    DUR: int
    SIZE: int


@runtime_checkable
class BarAbilities(Protocol):
    """A tokenizer that writes music as bars (the bar tokenizer): its layout and the bar operations that
    infilling, loops, intensity, composition and live play use."""

    layout: type[BarLayout]  # the id of every token kind
    velocity_bin: int  # MIDI velocities per VEL token
    note_end: int  # the grammar's kind (``grammar.last``) after the token that ends a note
    repeat_reach: int  # how many bars back a REPEAT reaches
    steps_per_quarter: int  # the onset grid
    bos_id: int

    def encode(self, score: Score) -> np.ndarray: ...

    def decode(self, ids: Any) -> Score: ...

    def count_notes(self, ids: np.ndarray) -> int: ...

    def bar_ticks(self, score: Score, bars: int = 0) -> np.ndarray:
        """Each bar's start in ``score``'s ticks (at least ``bars`` of them)."""
        ...

    def encode_bars(self, score: Score, bars: int) -> tuple[np.ndarray, np.ndarray]:
        """The ids and bar lines of a piece ``bars`` long whose last bars may be silent."""
        ...

    def decode_grid(self, ids: Any) -> tuple[dict[int, list[tuple[int, int, int, int]]], list, list]:
        """Notes per instrument on the grid, the time signatures and the tempos of ``ids``."""
        ...

    def bar_starts(self, ids: Any) -> np.ndarray:
        """The index of every bar's first token in ``ids``."""
        ...

    def past_bars(self, ids: np.ndarray, starts: np.ndarray, first: int, budget: int) -> list[int]:
        """The bars before bar ``first`` that fit ``budget`` tokens, from a bar line."""
        ...

    def tail(self, ids: Any, bars: int) -> list[int]:
        """The piece from bar ``bars`` (0-based) on, standing alone (metre, tempo, repeats written out)."""
        ...

    def infill_context(
        self, ids: np.ndarray, first: int, end: int, length: int
    ) -> tuple[list[int], list[int]]:
        """``(context, gap)`` to regenerate bars ``first`` to ``end - 1`` within ``length`` tokens."""
        ...

    def plan_of(self, ids: np.ndarray, source: str = "") -> Plan | None:
        """The arrangement plan of a piece's ids (None without bars of notes)."""
        ...

    def read_plan(self, data: dict[str, Any]) -> Plan:
        """A plan from its dict (``plans.json``)."""
        ...


def bars_of(tokenizer: Any, purpose: str) -> BarAbilities:
    """``tokenizer``'s bar abilities, or a one-line :class:`ConfigError` saying that ``purpose`` (``"compose"``,
    ``"infilling"``...) needs a bar-token model."""
    if isinstance(tokenizer, BarAbilities):
        return tokenizer
    from overworld.errors import ConfigError

    name = getattr(tokenizer, "name", "other")
    raise ConfigError(
        f"{purpose} needs a bar-token model; this one uses {name} tokens, which have no bars "
        "(train one with prepare --tokenizer bars)"
    )


def has_bars(tokenizer: Any) -> bool:
    """Whether ``tokenizer`` declares the bar abilities (what the studio and a model card show)."""
    return isinstance(tokenizer, BarAbilities)
