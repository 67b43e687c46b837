"""Pieces as the CLI, the notebook and the studio want them: sampled, decoded, at their tempo, written.

:func:`compose_pieces` resolves a primer (:class:`Primer`: a MIDI file, a Magenta melody, a chord or a
slice of a prepared dataset), applies the primer-tempo rule to the sampling settings
(:func:`settings_for`), samples with :func:`overworld.generation.sampler.generate` and returns
:class:`Piece` objects: the ids, the score as it will be written (with its tempo), its notes and length.
:func:`write_pieces` writes them as ``overworld-<seed>-<n>.mid``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from overworld.config import SampleConfig
from overworld.generation import primers
from overworld.generation.sampler import generate, score_of

__all__ = ["Piece", "Primer", "compose_pieces", "settings_for", "write_pieces"]


@dataclass(frozen=True)
class Primer:
    """What to continue: one of ``file`` (a MIDI or module file), ``melody`` (Magenta's convention),
    ``pitches`` (a chord held one beat) or ``dataset`` (a prepared folder: a seeded random slice)."""

    file: str | None = None
    melody: str | None = None
    pitches: str | None = None
    dataset: str | None = None
    seconds: float | None = None  # file: its opening S seconds; dataset: slice length (default 4)
    split: str = "train"  # dataset: which split
    bpm: float = 120.0  # melody/chord tempo
    program: int = 80  # melody/chord GM program (128: drums)


@dataclass(frozen=True)
class Piece:
    """One composed piece: its ids, the score as written (in ticks or seconds, with its tempo map), the
    first tempo (0.0 when the score keeps none), its notes and its length in seconds."""

    ids: np.ndarray
    score: Any
    bpm: float
    notes: int
    seconds: float


def read_primer(primer: Primer | None, tokenizer: Any, seed: int) -> tuple[np.ndarray | None, Any]:
    """The primer's ids, and the primer file's score (for its tempo; None for the other kinds)."""
    if primer is None:
        return None, None
    kw = {"bpm": primer.bpm, "program": primer.program}
    if primer.file:
        from overworld.midi import load_score

        score = load_score(primer.file)  # read once: its tempo and its notes
        return primers.from_score(score, tokenizer, seconds=primer.seconds, name=primer.file), score
    if primer.melody:
        return primers.from_melody(primer.melody, tokenizer, **kw), None
    if primer.pitches:
        return primers.from_pitches(primer.pitches, tokenizer, **kw), None
    if primer.dataset:
        ids = primers.from_dataset(
            primer.dataset, tokenizer, split=primer.split, seconds=primer.seconds or 4.0, seed=seed
        )
        return ids, None
    return None, None


def settings_for(base: SampleConfig, changes: dict[str, Any], primer_score: Any = None) -> SampleConfig:
    """``base`` with ``changes``; a primer file's first tempo sets ``bpm`` unless it was given, and a grid
    with no tempo takes 120 bpm."""
    changes = dict(changes)
    if primer_score is not None and "bpm" not in changes and len(primer_score.tempos):
        changes["bpm"] = float(primer_score.tempos[0].qpm)
    config = dataclasses.replace(base, **changes)
    if config.grid and not config.bpm:
        config = dataclasses.replace(config, bpm=120.0)
    return config


def compose_pieces(
    model: Any,
    config: SampleConfig,
    *,
    primer: Primer | None = None,
    num: int = 1,
    length: int | None = None,
    seconds: float | None = None,
    bars: int | None = None,
    seed: int = 0,
    inclusive: bool = False,
    progress: Callable[[int, int], None] | None = None,
    primer_ids: np.ndarray | None = None,
    plans: list[Any] | None = None,
) -> list[Piece]:
    """Sample ``num`` pieces (see :func:`~overworld.generation.sampler.generate`) and decode each at
    its tempo: a grid's (performance tokens, the first beat where the primer's grid puts it), its own
    (bar tokens, MidiTok), else the tempo its onsets keep. ``primer_ids`` (already read) wins over
    ``primer``; ``plans``: one arrangement plan per piece (bar tokens)."""
    tokenizer = model.tokenizer
    ids = primer_ids if primer_ids is not None else read_primer(primer, tokenizer, seed)[0]
    pieces = generate(
        model,
        config=config,
        primer_ids=ids,
        num=num,
        length=length,
        seconds=seconds,
        bars=bars,
        seed=seed,
        inclusive=inclusive,
        progress=progress,
        plans=plans,
    )
    bpm = config.bpm if config.grid else 0.0
    offset = 0.0  # where the first beat falls in the written piece: the grid counts from the primer's start
    if bpm and ids is not None and len(ids) and not inclusive:
        offset = -tokenizer.seconds(np.asarray(ids)) % (60.0 / bpm)
    out = []
    for piece in pieces:
        score = score_of(piece, tokenizer, bpm=bpm, offset=offset)
        tempo = float(score.tempos[0].qpm) if len(score.tempos) else 0.0
        out.append(Piece(piece, score, tempo, tokenizer.count_notes(piece), tokenizer.seconds(piece)))
    return out


def write_pieces(pieces: list[Piece], out_dir: str | Path, seed: int) -> list[Path]:
    """Write each piece as ``overworld-<seed>-<n>.mid`` (n from 0) into ``out_dir``."""
    from overworld.midi import write_score

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    return [write_score(p.score, out / f"overworld-{seed}-{n}.mid") for n, p in enumerate(pieces)]
