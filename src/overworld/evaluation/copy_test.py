"""The in-context copying test: primed with a piece's opening bars, does the model repeat them as much as
the piece itself goes on to?

Game music repeats bars. For each piece with at least ``primer_bars + continuation_bars`` bars (12 + 12
by default, counted as :mod:`overworld.evaluation.structure` counts them: from the bar of the first note,
bar lines from the file's time signatures in its own ticks):

- the *primer* is its first 12 bars: the score cut at the 12th bar line (notes held across it end there),
  encoded with the model's tokenizer;
- the *real continuation* is its bars 13-24; the *generated* one is what the model composes after the
  primer: 12 bars with a tokenizer that counts bars (the bar tokenizer), otherwise as many seconds as
  reach the end of bar 24 from where the primer's tokens end (performance tokens, MidiTok);
- a continuation bar's *best match* is its largest Jaccard similarity to a primer bar with notes (bar
  signatures as :func:`~overworld.evaluation.structure.bar_signatures` makes them); a continuation bar
  with no notes matches nothing (0), so silence never passes for copying. The primer bars are the
  piece's own, for both continuations: notes a model adds to the primer's last bar (a bar-token model
  may add parts to it; a performance-token one fills the rest after the primer's last note) count as
  neither primer nor continuation;
- a piece's **primer similarity** is the mean best match of its 12 continuation bars.

Real and generated are measured the same way, on the tokenizer's decoding of their ids (the piece's first
24 bars encoded; the primer and what the model wrote after it), in ticks: a decoding with a tempo map of
its own keeps it (bar tokens), one in seconds (performance tokens) takes the piece's tempo map and time
signatures, so its bar lines fall where the piece's do. The sampling settings follow ``overworld generate
--primer``: each piece's first tempo sets ``bpm`` (:func:`~overworld.generation.pieces.settings_for`).

Pieces that are unreadable, shorter than the test or without a steady beat (structure's grid fit under
0.6 over those bars) are skipped with their reason. The report gives the per-piece figures, their means
and the ratio generated / real: near 1, the model repeats its primer as much as the music does; well
under 1, it forgets the primer.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from overworld.config import SampleConfig
from overworld.errors import ConfigError, DataError, MidiError, one_line
from overworld.evaluation.structure import (
    MIN_GRID_FIT,
    NO_STEADY_TEMPO,
    _bar_starts,
    _onsets,
    bar_signatures,
    grid_fit,
)

__all__ = [
    "CONTINUATION_BARS",
    "PRIMER_BARS",
    "CopyTestPiece",
    "CopyTestReport",
    "copy_test",
    "files_in_folder",
    "files_of_split",
    "primer_similarity",
]

PRIMER_BARS = 12
CONTINUATION_BARS = 12
NO_NOTES = "no notes"
UNREADABLE = "unreadable"


def too_short(bars: int) -> str:
    """The reason a piece with fewer than ``bars`` bars is skipped."""
    return f"fewer than {bars} bars"


@dataclass(frozen=True)
class CopyTestPiece:
    """One piece: the primer similarity of its real continuation and of the generated one (0-1), and the
    real continuation's length in seconds."""

    path: str
    real: float
    generated: float
    seconds: float

    @property
    def ratio(self) -> float:
        """generated / real (NaN when the real continuation repeats nothing of the primer)."""
        return self.generated / self.real if self.real > 0 else math.nan

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "real": self.real,
            "generated": self.generated,
            "ratio": self.ratio,
            "seconds": self.seconds,
        }


@dataclass(frozen=True)
class CopyTestReport:
    """The tested pieces, the skipped ones as ``(path, reason)``, and the test's settings."""

    pieces: tuple[CopyTestPiece, ...]
    skipped: tuple[tuple[str, str], ...]
    primer_bars: int = PRIMER_BARS
    continuation_bars: int = CONTINUATION_BARS
    seed: int = 0

    @property
    def mean_real(self) -> float:
        """Mean primer similarity of the real continuations (NaN with no piece)."""
        return float(np.mean([p.real for p in self.pieces])) if self.pieces else math.nan

    @property
    def mean_generated(self) -> float:
        """Mean primer similarity of the generated continuations (NaN with no piece)."""
        return float(np.mean([p.generated for p in self.pieces])) if self.pieces else math.nan

    @property
    def ratio(self) -> float:
        """``mean_generated / mean_real`` (NaN when the real mean is 0 or undefined)."""
        real = self.mean_real
        return self.mean_generated / real if real > 0 else math.nan

    @property
    def skipped_by_reason(self) -> dict[str, int]:
        """How many pieces were skipped, by reason."""
        counts: dict[str, int] = {}
        for _, reason in self.skipped:
            counts[reason] = counts.get(reason, 0) + 1
        return counts

    def to_dict(self) -> dict[str, Any]:
        return {
            "primer_bars": self.primer_bars,
            "continuation_bars": self.continuation_bars,
            "seed": self.seed,
            "mean_real": self.mean_real,
            "mean_generated": self.mean_generated,
            "ratio": self.ratio,
            "pieces": [p.to_dict() for p in self.pieces],
            "skipped": [{"path": path, "reason": reason} for path, reason in self.skipped],
            "skipped_by_reason": self.skipped_by_reason,
        }


def files_of_split(prepared: str | Path, split: str = "test") -> list[Path]:
    """The original files of ``split`` (``"all"``: every split) of a prepared folder, from its
    ``manifest.json``; a relative path is looked up from the working directory, then beside the prepared
    folder, then inside it. Raises :class:`DataError` if there is no manifest or no file of the split."""
    folder = Path(prepared)
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        rows = [f for f in manifest["files"] if split == "all" or f["split"] == split]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DataError(
            f"{folder} is not a prepared folder with a manifest (run `overworld prepare`)"
        ) from exc
    if not rows:
        raise DataError(f"the {split!r} split of {folder} lists no files")
    out = []
    for row in rows:
        path = Path(row["path"])
        found = [p for p in (path, folder.parent / path, folder / path) if p.is_file()]
        out.append(found[0] if found else path)  # a missing file is skipped, with its reason, by copy_test
    return out


def files_in_folder(folder: str | Path) -> list[Path]:
    """The MIDI files and tracker modules under ``folder`` (recursively), sorted. Raises
    :class:`DataError` if there are none."""
    from overworld.midi import MIDI_SUFFIXES, MODULE_SUFFIXES

    root = Path(folder)
    if not root.is_dir():
        raise DataError(f"folder {root} does not exist")
    suffixes = (*MIDI_SUFFIXES, *MODULE_SUFFIXES)
    found = sorted(p for p in root.rglob("*") if p.suffix.lower() in suffixes and p.is_file())
    if not found:
        raise DataError(f"{root} holds no MIDI files or modules ({', '.join(suffixes)})")
    return found


def primer_similarity(
    score: Any,
    primer_bars: int = PRIMER_BARS,
    continuation_bars: int = CONTINUATION_BARS,
    *,
    primer: Any = None,
) -> float:
    """The mean, over the ``continuation_bars`` bars after the first ``primer_bars`` bars of ``score``
    (from the bar of its first note), of each bar's largest Jaccard similarity to a primer bar with notes;
    a continuation bar with no notes (or past the last note) counts 0. The primer bars are those of
    ``primer`` (a score beginning as ``score`` does) when given, else ``score``'s own."""
    signatures = bar_signatures(score, primer_bars + continuation_bars)
    opening = bar_signatures(primer, primer_bars) if primer is not None else signatures[:primer_bars]
    heard = [s for s in opening[:primer_bars] if s]
    continuation = list(signatures[primer_bars:])
    continuation += [frozenset()] * (continuation_bars - len(continuation))
    best = [max((len(c & p) / len(c | p) for p in heard), default=0.0) if c else 0.0 for c in continuation]
    return float(np.mean(best))


def _bar_lines(score: Any, primer_bars: int, total: int) -> tuple[int, int] | str:
    """The ticks of the bar lines that end the primer and the continuation (bars counted from the bar of
    the first note), or the reason the piece cannot be tested."""
    ticks, _, _ = _onsets(score)
    if len(ticks) == 0:
        return NO_NOTES
    tpq = int(score.ticks_per_quarter)
    longest = max(
        [4.0 * ts.numerator / ts.denominator for ts in score.time_signatures if ts.denominator > 0] + [4.0]
    )
    starts = _bar_starts(score, int(ticks.max()) + int(2 * longest * tpq))
    index = np.searchsorted(starts, ticks + tpq / 8.0, side="right") - 1  # as structure counts bars
    first = int(index.min())
    if int(index.max()) < first + total - 1 or len(starts) <= first + total:
        return too_short(total)
    return int(np.rint(starts[first + primer_bars])), int(np.rint(starts[first + total]))


def _clip(score: Any, end: int) -> Any:
    """``score`` (ticks) up to tick ``end``: notes starting before it, those held across it cut there."""
    import symusic

    clipped = score.clip(0, end)
    for track in clipped.tracks:
        a = track.notes.numpy()
        if len(a["time"]):
            duration = np.maximum(np.minimum(a["duration"], end - a["time"]), 1).astype(a["duration"].dtype)
            track.notes = symusic.Note.from_numpy(a["time"], duration, a["pitch"], a["velocity"])
    return clipped


def _seconds_at(score: Any, tick: int) -> float:
    """Where tick ``tick`` of ``score`` falls in seconds, through its tempo map."""
    import symusic

    probe = symusic.Score(score.ticks_per_quarter)
    for tempo in score.tempos:
        probe.tempos.append(tempo)
    track = symusic.Track("probe", 0, False)
    track.notes.append(symusic.Note(int(tick), 1, 60, 64))
    probe.tracks.append(track)
    return float(probe.to("second").tracks[0].notes[0].time)


def _measured(ids: np.ndarray, tokenizer: Any, piece: Any) -> Any:
    """The decoding of ``ids`` in ticks: with its own tempo map where it has one, else on the tempo map
    and time signatures of ``piece`` (a Score in ticks)."""
    from overworld.midi import in_seconds

    score = tokenizer.decode(ids)
    if len(score.tempos):
        return score if str(score.ttype).lower().endswith("tick") else score.to("tick")
    score = in_seconds(score)
    reference = piece.to("second")
    for tempo in reference.tempos:
        score.tempos.append(tempo)
    for signature in reference.time_signatures:
        score.time_signatures.append(signature)
    return score.to("tick")


def _counts_bars(tokenizer: Any) -> bool:
    """Whether ``tokenizer`` composes a length in bars: its grammar takes ``max_bars`` or refuses it."""
    import torch

    try:
        tokenizer.grammar(
            1,
            SampleConfig(),
            budgets=torch.zeros(1, dtype=torch.long),
            max_bars=1,
            device=torch.device("cpu"),
        )
    except ConfigError:
        return False
    return True


@dataclass(frozen=True)
class _Setup:
    """What every piece of one test shares."""

    model: Any
    config: SampleConfig
    seed: int
    primer_bars: int
    continuation_bars: int
    counts_bars: bool


def _test_piece(setup: _Setup, path: Path, score: Any) -> CopyTestPiece | str:
    """One piece's figures, or the reason it is skipped."""
    from overworld.generation.pieces import compose_pieces, settings_for

    tokenizer = setup.model.tokenizer
    total = setup.primer_bars + setup.continuation_bars
    lines = _bar_lines(score, setup.primer_bars, total)
    if isinstance(lines, str):
        return lines
    if grid_fit(score, total) < MIN_GRID_FIT:
        return NO_STEADY_TEMPO
    primer_end, end = lines
    primer_ids = np.asarray(tokenizer.encode(_clip(score, primer_end)), dtype=np.int64)
    real_ids = np.asarray(tokenizer.encode(_clip(score, end)), dtype=np.int64)
    if primer_ids.size == 0:
        return NO_NOTES
    config = settings_for(setup.config, {}, score)  # the primer-tempo rule of `overworld generate --primer`
    if setup.counts_bars:  # a tokenizer with bars writes them up to its last note: make up the silent ones
        written = len(bar_signatures(_measured(primer_ids, tokenizer, score), setup.primer_bars))
        length: dict[str, Any] = {"bars": setup.continuation_bars + setup.primer_bars - written}
    else:
        length = {"seconds": max(_seconds_at(score, end) - tokenizer.seconds(primer_ids), 0.01)}
    piece = compose_pieces(
        setup.model, config, primer_ids=primer_ids, seed=setup.seed, inclusive=True, **length
    )[0]
    bars = (setup.primer_bars, setup.continuation_bars)
    real = _measured(real_ids, tokenizer, score)
    return CopyTestPiece(
        path=str(path),
        real=primer_similarity(real, *bars),
        # against the primer as given: notes the model adds to the primer's last bar count for neither
        generated=primer_similarity(_measured(piece.ids, tokenizer, score), *bars, primer=real),
        seconds=_seconds_at(score, end) - _seconds_at(score, primer_end),
    )


def copy_test(
    model: Any,
    files: Sequence[str | Path],
    config: SampleConfig,
    *,
    seed: int = 0,
    primer_bars: int = PRIMER_BARS,
    continuation_bars: int = CONTINUATION_BARS,
    progress: Callable[[int, int], None] | None = None,
) -> CopyTestReport:
    """The copying test (see the module docstring) of ``model`` (what ``load_model`` returns: ``.model``,
    ``.tokenizer``) over ``files`` (MIDI files or tracker modules), sampling with ``config`` and ``seed``
    (every piece with the same seed, so the same seed gives the same report). ``progress(done, total)`` is
    called after each file. Raises :class:`ConfigError` for bar counts under 1 or bad sampling settings."""
    from overworld.midi import load_score

    if primer_bars < 1 or continuation_bars < 1:
        raise ConfigError(
            f"the copy test needs at least one bar each, not {primer_bars} + {continuation_bars}"
        )
    setup = _Setup(model, config, int(seed), primer_bars, continuation_bars, _counts_bars(model.tokenizer))
    pieces: list[CopyTestPiece] = []
    skipped: list[tuple[str, str]] = []
    for done, path in enumerate(map(Path, files), start=1):
        try:
            score = load_score(path, ttype="tick")
        except (MidiError, OSError, ValueError, RuntimeError) as exc:  # one bad file never stops the test
            skipped.append((str(path), f"{UNREADABLE}: {one_line(exc)}"))
        else:
            result = _test_piece(setup, path, score)
            if isinstance(result, str):
                skipped.append((str(path), result))
            else:
                pieces.append(result)
        if progress is not None:
            progress(done, len(files))
    return CopyTestReport(tuple(pieces), tuple(skipped), primer_bars, continuation_bars, int(seed))
