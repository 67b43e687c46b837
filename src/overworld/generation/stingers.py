"""Stingers: one- or two-bar clips in a piece's key and tempo that end on its tonic, for the moments a game
marks (an item found, a door opened, a level cleared).

:func:`stingers` samples ``candidates`` takes of each clip in one batch under the piece's settings (its
key mask, tempo, metre, line-up and intensity); given a :class:`~overworld.generation.compose.Composition`,
each clip continues the piece's last bars, so it shares its material. Of the takes, one whose last onset
already has the tonic as its lowest pitched note is kept; otherwise the first take's lowest note at its
last onset is moved down to the tonic (at most 11 semitones, so it stays the lowest) and ``Stinger.moved``
says so. The notes of the last onset are held to the end of the clip, a final chord.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

from overworld.config import MAX_SEED, SampleConfig
from overworld.errors import ConfigError
from overworld.generation.arrangement import Arrangement
from overworld.midi.gm import DRUMS
from overworld.tokenizers.abilities import bars_of

__all__ = [
    "MAX_STINGERS",
    "Stinger",
    "check_count",
    "ends_on_tonic",
    "stingers",
    "tonic_of",
]

MAX_STINGERS = 64
TPQ = 480
_LETTERS = {"c": 0, "d": 2, "e": 4, "f": 5, "g": 7, "a": 9, "b": 11}


@dataclass(frozen=True)
class Stinger:
    """One clip: its score (ticks, one exact tempo and metre), bars, key and tonic pitch class, and
    whether its last note was moved to the tonic (no take ended there by itself)."""

    score: Any
    bars: int
    bpm: float
    time_signature: str
    key: str
    tonic: int
    seed: int
    moved: bool


def check_count(n: int) -> int:
    """``n`` stingers, or a one-line :class:`ConfigError`."""
    if type(n) is not int or not 1 <= n <= MAX_STINGERS:
        raise ConfigError(f"stingers must be between 1 and {MAX_STINGERS}, not {n!r}")
    return n


def tonic_of(key: str) -> int:
    """The tonic pitch class of a key such as ``"F# dorian"`` (0 = C)."""
    from overworld.theory import parse_key

    parse_key(key)  # a one-line error for a bad key
    word = key.strip().lower().split()[0]
    return (_LETTERS[word[0]] + word.count("#") - word[1:].count("b")) % 12


def _lowest_last(notes: dict[int, np.ndarray]) -> tuple[int, int, int] | None:
    """``(instrument, row, onset)`` of the lowest pitched note at the last pitched onset."""
    pitched = [
        (int(a[r, 0]), -int(a[r, 2]), i, r) for i, a in notes.items() if i != DRUMS for r in range(len(a))
    ]
    if not pitched:
        return None
    onset, _, inst, row = max(pitched)
    return inst, row, onset


def ends_on_tonic(score: Any, tonic: int) -> bool:
    """Whether the lowest pitched note of the last pitched onset of ``score`` has pitch class ``tonic``."""
    notes = Arrangement.from_score(score, TPQ * 4).notes
    found = _lowest_last(notes)
    return found is not None and int(notes[found[0]][found[1], 2]) % 12 == tonic


def _ending(piece: Arrangement, tonic: int, end: int, fallback: int) -> tuple[Arrangement, bool]:
    """``piece`` ending on ``tonic`` (see the module docstring), its last onset held to tick ``end``;
    and whether a note had to move. A clip with no pitched note gets a tonic on ``fallback``."""
    notes = {i: a.copy() for i, a in piece.notes.items()}
    found = _lowest_last(notes)
    if found is None:
        pitch = 48 + tonic
        notes[fallback] = np.array([[0, end, pitch, 80]], dtype=np.int64)
        return Arrangement(piece.tpq, piece.bar, notes), True
    inst, row, onset = found
    a = notes[inst]
    moved = int(a[row, 2]) % 12 != tonic
    a[row, 2] -= (int(a[row, 2]) - tonic) % 12
    if a[row, 2] < 12:
        a[row, 2] += 12
    for i, b in notes.items():  # hold the final chord
        last = (b[:, 0] == onset) & (i != DRUMS)
        b[last, 1] = np.maximum(b[last, 1], end - onset)
        keep = np.unique(b[:, [0, 2]], axis=0, return_index=True)[1]
        notes[i] = b[np.sort(keep)]
    return Arrangement(piece.tpq, piece.bar, notes).closed(end // piece.bar), moved


def _source(model: Any, source: Any, seed: int) -> tuple[Any, SampleConfig, list[int]]:
    """The model (at the piece's intensity), the sampling settings and the primer of ``source``."""
    from overworld.generation.compose import ComposeConfig, Composition, base_settings, resolve_key
    from overworld.generation.intensity import Intensity, with_intensity

    if isinstance(source, Composition):
        if source.intensity is not None:
            model = with_intensity(model, Intensity(source.intensity))
        tokenizer = bars_of(model.tokenizer, "stingers")
        ids = np.asarray(tokenizer.encode(source.score), dtype=np.int64)
        bars = tokenizer.bar_ticks(source.score)
        return model, source.sampling, tokenizer.tail(ids, max(0, len(bars) - 2)) if len(ids) else []
    if isinstance(source, ComposeConfig):
        return model, base_settings(model, source, resolve_key(source.key, seed), None), []
    if isinstance(source, SampleConfig):
        if not (source.key and source.bpm and source.time_signature):
            raise ConfigError("stinger settings need a key, a bpm and a time signature")
        return model, source, []
    raise ConfigError(
        f"stingers come from a Composition, a ComposeConfig or a SampleConfig, not {type(source).__name__}"
    )


def stingers(
    model: Any, source: Any, n: int, seed: int = 0, *, bars: tuple[int, ...] = (1, 2), candidates: int = 4
) -> list[Stinger]:
    """``n`` (1-64) clips of 1 or 2 bars (drawn from ``bars``) in the key, tempo and metre of ``source``
    (a :class:`~overworld.generation.compose.Composition`, a ``ComposeConfig`` with a key, or a
    ``SampleConfig`` with ``key``, ``bpm`` and ``time_signature``), each ending on the tonic; see the
    module docstring. The same seed gives the same clips."""
    from overworld.generation.sampler import generate
    from overworld.theory import parse_time_signature

    check_count(n)
    bars_of(model.tokenizer, "stingers")  # a one-line ConfigError before any work
    if not bars or any(b not in (1, 2) for b in bars):
        raise ConfigError(f"a stinger is 1 or 2 bars, not {bars!r}")
    model, settings, primer = _source(model, source, seed)
    settings = dataclasses.replace(settings, steady=True)
    num, den = parse_time_signature(settings.time_signature)
    bar = TPQ * 4 * num // den
    tonic, rng, out = tonic_of(settings.key), np.random.default_rng(seed), []
    for k in range(n):
        length, take_seed = int(rng.choice(bars)), (seed * 1009 + k) % (MAX_SEED + 1)
        takes = generate(
            model, config=settings, primer_ids=primer, num=candidates, bars=length, seed=take_seed
        )
        pieces = [Arrangement.from_score(model.tokenizer.decode(ids), bar).closed(length) for ids in takes]
        scores = [p.score(settings.bpm, num, den) for p in pieces]
        best = next((i for i, s in enumerate(scores) if ends_on_tonic(s, tonic)), 0)
        fallback = min((i for i in settings.instruments if i != DRUMS), default=80)
        ending, moved = _ending(pieces[best], tonic, length * bar, fallback)
        out.append(
            Stinger(
                score=ending.score(settings.bpm, num, den),
                bars=length,
                bpm=settings.bpm,
                time_signature=settings.time_signature,
                key=settings.key,
                tonic=tonic,
                seed=take_seed,
                moved=moved,
            )
        )
    return out
