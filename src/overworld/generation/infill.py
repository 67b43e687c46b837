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
from overworld.tokenizers.abilities import BarAbilities, bars_of

__all__ = ["SETS", "Infilled", "check_span", "infill", "line_up", "load_piece", "parse_bars", "write_take"]

# the sampling settings infill() sets itself (the piece's own line-up, no drawn plan of another piece's):
# not flags of `overworld infill`, not widgets of the studio's regenerate
SETS = ("instruments", "max_instruments", "plan")


@dataclass(frozen=True)
class Infilled:
    """One take: the whole score (the file's ticks and tempo map), the span's new tokens standing alone,
    how many notes the model wrote, the span in ticks ``(start, end)``, the new notes themselves
    (instrument -> rows ``(tick, duration, pitch, velocity)`` in the score's ticks, as
    :func:`overworld.midi.write.write_spliced` takes them) and the instruments rewritten (empty: all)."""

    score: Any
    ids: np.ndarray
    notes: int
    span_ticks: tuple[int, int]
    new_notes: dict[int, np.ndarray] = dataclasses.field(default_factory=dict)
    instruments: tuple[int, ...] = ()


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


def load_piece(source: Any) -> Any:
    """A score in ticks from a path, bytes or a score (a path: :class:`MidiError` naming what is wrong)."""
    if isinstance(source, str | Path | bytes):
        from overworld.midi import load_score

        return load_score(source, ttype="tick")
    return source if str(source.ttype).lower().endswith("tick") else source.to("tick")


def check_span(score: Any, bars: tuple[int, int] | str, piece_bars: int = 0) -> tuple[int, int, int, int]:
    """``(first, last, start tick, end tick)`` of ``bars`` in ``score``, checked against its bars (counted
    from its time signatures up to the bar of its last note, at least ``piece_bars``) without a model: a
    :class:`ConfigError` for a span outside the piece."""
    from overworld.tokenizers import bar_grid

    first, last = parse_bars(bars) if isinstance(bars, str) else bars
    grid = bar_grid()
    count = len(grid.bar_ticks(score, piece_bars))
    if last > count:
        raise ConfigError(f"bars {first}-{last} are outside the piece's {count} bars")
    lines = grid.bar_ticks(score, max(piece_bars, last + 1))
    return first, last, int(lines[first - 1]), int(lines[last])


def line_up(score: Any) -> tuple[int, ...]:
    """The instruments (GM programs, 128 drums) that play notes in ``score``."""
    return tuple(sorted({DRUMS if t.is_drum else int(t.program) for t in score.tracks if len(t.notes)}))


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
    (GM programs, 128 drums): rewrite only those; empty: every instrument, the new notes written by the
    piece's own line-up; ``config``: the sampling settings (default: the model's recommended ones; its
    ``key`` binds the new pitched notes); its instrument controls are replaced by ``instruments``;
    ``piece_bars``: how many bars the piece lasts where its last ones are silent (a composed loop; a file
    counts up to the bar of its last note). Raises :class:`ConfigError` for a span outside the piece or a
    model that cannot infill."""
    tokenizer = bars_of(model.tokenizer, "infilling")
    first, last = parse_bars(bars) if isinstance(bars, str) else bars
    score = load_piece(source)
    ids, lines = tokenizer.encode_bars(score, piece_bars)
    if last > len(lines):
        raise ConfigError(f"bars {first}-{last} are outside the piece's {len(lines)} bars")
    context, _ = tokenizer.infill_context(ids, first - 1, last, model.model.config.sequence_length)
    config = config or getattr(model, "sampling", None) or SampleConfig()
    allowed = tuple(instruments) or line_up(score)
    # a gap keeps the piece's own arrangement: no drawn plan (SampleConfig.plan) of another piece's
    config = dataclasses.replace(config, instruments=allowed, max_instruments=0, plan=False)  # SETS
    gaps = generate(
        model, config=config, primer_ids=context, bars=last - first + 1, num=num, seed=seed, progress=progress
    )
    start = int(lines[first - 1])
    end = int(lines[last]) if last < len(lines) else int(tokenizer.bar_ticks(score, last + 1)[last])
    return [_take(score, tokenizer, gap, (start, end), tuple(instruments)) for gap in gaps]


def _kept(score: Any, span: tuple[int, int], only: tuple[int, ...]) -> dict[int, dict[int, list]]:
    """instrument -> pitch -> ``(onset, end)`` of the notes kept that sound in ``span``."""
    start, end = span
    out: dict[int, dict[int, list]] = {}
    for track in score.tracks:
        inst = DRUMS if track.is_drum else int(track.program)
        n = track.notes.numpy()
        time, stop = n["time"].astype(np.int64), n["time"].astype(np.int64) + n["duration"]
        kept = (time < start) | (time >= end) if not only or inst in only else np.ones(len(time), dtype=bool)
        for i in np.flatnonzero(kept & (time < end) & (stop > start)):
            out.setdefault(inst, {}).setdefault(int(n["pitch"][i]), []).append((int(time[i]), int(stop[i])))
    return out


def _new_notes(
    score: Any, tokenizer: BarAbilities, gap: np.ndarray, span: tuple[int, int], only: tuple[int, ...]
) -> dict[int, np.ndarray]:
    """The notes ``gap`` writes, instrument -> rows ``(tick, duration, pitch, velocity)`` in ``score``'s
    ticks from the span's start; a note still sounding at the span's end is ended there, and none starts
    inside a kept note of its instrument and pitch or runs into the next (:func:`fit_notes`)."""
    from overworld.midi.splice import fit_notes

    start, end = span
    kept = _kept(score, span, only)
    scale = score.ticks_per_quarter / tokenizer.steps_per_quarter
    new_notes, _, _ = tokenizer.decode_grid(gap)
    out = {}
    for inst, rows in sorted(new_notes.items()):
        rows_in = []
        for onset, duration, pitch, velocity in rows:
            t = start + round(onset * scale)
            if t < end:
                length = max(1, min(round(duration * scale), end - t))
                rows_in.append((t, length, int(pitch), int(np.clip(velocity, 1, 127))))
        fitted = fit_notes(np.array(rows_in, dtype=np.int64).reshape(-1, 4), kept.get(inst, {}))
        if len(fitted):
            out[inst] = fitted
    return out


def _take(
    score: Any, tokenizer: Any, gap: np.ndarray, span: tuple[int, int], only: tuple[int, ...]
) -> Infilled:
    """``score`` with the rewritten instruments' notes that start in ``span`` replaced by ``gap``'s."""
    import symusic

    start, end = span
    out = score.copy()
    for track in out.tracks:
        if only and (DRUMS if track.is_drum else int(track.program)) not in only:
            continue
        notes = track.notes.numpy()
        keep = (notes["time"] < start) | (notes["time"] >= end)
        track.notes = symusic.Note.from_numpy(
            *(notes[k][keep] for k in ("time", "duration", "pitch", "velocity"))
        )
    by_inst = {}
    for track in out.tracks:
        by_inst.setdefault(DRUMS if track.is_drum else int(track.program), track)
    new = _new_notes(score, tokenizer, gap, span, only)
    for inst, rows in new.items():
        track = by_inst.get(inst)
        if track is None:
            track = symusic.Track(
                name=instrument_name(inst), program=0 if inst == DRUMS else inst, is_drum=inst == DRUMS
            )
            out.tracks.append(track)
            by_inst[inst] = track
        for t, length, pitch, velocity in rows.tolist():
            track.notes.append(symusic.Note(t, length, pitch, velocity))
        track.notes.sort()
    written = sum(len(rows) for rows in new.values())
    return Infilled(out, np.asarray(gap, dtype=np.int64), written, (start, end), new, only)


def write_take(take: Infilled, path: str | Path, original: bytes | None = None) -> tuple[Path, int]:
    """Write ``take`` as a MIDI file, atomically; returns the path and how many new notes it holds. With
    ``original`` (the source file's bytes, :func:`overworld.midi.load.smf_bytes`) every event outside the
    span is the file's own (:func:`overworld.midi.write.write_spliced`); without (a module, a score), the
    take's score is written."""
    from overworld.midi.write import write_score, write_spliced

    if original is None:
        return write_score(take.score, path), take.notes
    return write_spliced(path, original, take.span_ticks, take.new_notes, take.instruments)
