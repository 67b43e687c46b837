"""Regenerate bars of any piece, with a model that reads the bars before and after them.

:func:`infill` takes a MIDI (or module) file or a score, the bars to rewrite (1-based, inclusive, counted
from the file's own time signatures) and optionally the instruments to rewrite, and returns new scores
in the file's own ticks and tempo map:

* every note that starts outside the span is kept exactly (track, pitch, onset tick, duration, velocity),
  including a note that starts before the span and sounds into it: it belongs to the bar it starts in,
  as a held chord or a pedal tone does, so it is kept as written;
* inside the span, the notes of the rewritten instruments (all, or those asked) that start there are
  replaced by the model's; a new note still sounding at the span's end is ended there, so the bars after
  the span play as they were; the other instruments' notes in the span stay;
* the model reads ``past FILL future MIDDLE`` (:mod:`overworld.tokenizers.bars_infill`) and writes exactly
  the span's bars; a model never trained to infill still writes them, from the past alone in effect.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from overworld.config import SampleConfig
from overworld.errors import ConfigError
from overworld.generation.sampler import generate
from overworld.midi.gm import DRUMS, instrument_name

__all__ = ["Infilled", "infill", "parse_bars"]


@dataclass(frozen=True)
class Infilled:
    """One take: the whole score (the file's ticks and tempo map), the span's new tokens standing alone,
    how many notes the model wrote, and the span in ticks ``(start, end)``."""

    score: Any
    ids: np.ndarray
    notes: int
    span_ticks: tuple[int, int]


def parse_bars(text: str) -> tuple[int, int]:
    """``"5-8"`` -> ``(5, 8)``, ``"5"`` -> ``(5, 5)``: bars counted from 1, both ends included."""
    m = re.fullmatch(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?", str(text))
    if not m:
        raise ConfigError(f"bars are FIRST-LAST counted from 1, like 5-8 or 5; not {text!r}")
    first, last = int(m.group(1)), int(m.group(2) or m.group(1))
    if first < 1:
        raise ConfigError(f"bars count from 1; not {text!r}")
    if last < first:
        raise ConfigError(f"the span {first}-{last} runs backwards; write {last}-{first}")
    return first, last


def _load(source: Any) -> Any:
    """A score in ticks from a path, bytes or a score."""
    if isinstance(source, str | Path | bytes):
        from overworld.midi import load_score

        return load_score(source, ttype="tick")
    return source if str(source.ttype).lower().endswith("tick") else source.to("tick")


def infill(
    model: Any,
    source: Any,
    bars: tuple[int, int] | str,
    *,
    instruments: tuple[int, ...] = (),
    config: SampleConfig | None = None,
    num: int = 1,
    seed: int = 0,
    progress: Callable[[float, float], None] | None = None,
    piece_bars: int = 0,
) -> list[Infilled]:
    """Rewrite ``bars`` (``(first, last)`` from 1, or ``"5-8"``) of ``source`` ``num`` times with ``model``
    (what :func:`~overworld.models.load_model` returns, with a tokenizer that can infill). ``instruments``
    (GM programs, 128 drums): rewrite only those; ``config``: the sampling settings (default: the model's
    recommended ones); its instrument controls are replaced by ``instruments``; ``piece_bars``: how many
    bars the piece lasts where its last ones are silent (a composed loop; a file counts up to the bar of
    its last note). Raises :class:`ConfigError` for a span outside the piece or a model that cannot
    infill."""
    tokenizer = model.tokenizer
    if not getattr(tokenizer, "can_infill", False):
        raise ConfigError(f"infilling needs a bar-token model; this one uses {tokenizer.name} tokens")
    first, last = parse_bars(bars) if isinstance(bars, str) else bars
    score = _load(source)
    ids, lines = tokenizer.encode_bars(score, piece_bars)
    if last > len(lines):
        raise ConfigError(f"bars {first}-{last} are outside the piece's {len(lines)} bars")
    context, _ = tokenizer.infill_context(ids, first - 1, last, model.model.config.sequence_length)
    config = config or getattr(model, "sampling", None) or SampleConfig()
    config = dataclasses.replace(config, instruments=tuple(instruments), max_instruments=0)
    gaps = generate(model, config=config, primer_ids=context, bars=last - first + 1, num=num, seed=seed,
                    progress=progress)  # fmt: skip
    start = int(lines[first - 1])
    end = int(lines[last]) if last < len(lines) else int(tokenizer.bar_ticks(score, last + 1)[last])
    return [_merge(score, tokenizer, gap, (start, end), set(instruments)) for gap in gaps]


def _merge(score: Any, tokenizer: Any, gap: np.ndarray, span: tuple[int, int], only: set[int]) -> Infilled:
    """``score`` with the rewritten instruments' notes that start in ``span`` replaced by ``gap``'s."""
    import symusic

    start, end = span
    out = score.copy()
    scale = score.ticks_per_quarter / tokenizer.steps_per_quarter
    written = 0
    for track in out.tracks:
        inst = DRUMS if track.is_drum else int(track.program)
        if only and inst not in only:
            continue
        notes = track.notes.numpy()
        keep = (notes["time"] < start) | (notes["time"] >= end)
        track.notes = symusic.Note.from_numpy(
            *(notes[k][keep] for k in ("time", "duration", "pitch", "velocity"))
        )
    by_inst = {}
    for track in out.tracks:
        by_inst.setdefault(DRUMS if track.is_drum else int(track.program), track)
    new_notes, _, _ = tokenizer.decode_grid(gap)
    for inst, rows in sorted(new_notes.items()):
        track = by_inst.get(inst)
        if track is None:
            track = symusic.Track(name=instrument_name(inst), program=0 if inst == DRUMS else inst,
                                  is_drum=inst == DRUMS)  # fmt: skip
            out.tracks.append(track)
            by_inst[inst] = track
        for onset, duration, pitch, velocity in rows:
            t = start + round(onset * scale)
            if t >= end:
                continue
            length = max(1, min(round(duration * scale), end - t))
            track.notes.append(symusic.Note(t, length, int(pitch), int(np.clip(velocity, 1, 127))))
            written += 1
        track.notes.sort()
    return Infilled(out, np.asarray(gap, dtype=np.int64), written, (start, end))
