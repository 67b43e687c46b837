"""Copy detection: how much of a generated piece appears verbatim in the training set.

A piece is a sequence of notes ordered by onset (then instrument, then pitch), each note the triple
``(pitch, instrument, inter-onset interval)`` with onsets quantised to the tokenizer's 10 ms grid (so a
chord is notes with interval 0, and a copied melody matches at any start time). Drums are left out by
default: a generated drum groove found in the training set is no one's tune.

The training set becomes a hash index: every ``n``-note window (``n = 8`` by default) of every training
file, hashed to 64 bits with a polynomial hash, in a sorted array. A generated note position is *copied*
when the ``n``-note window starting there is in the index; a run of ``m`` consecutive copied positions is
a run of ``m + n - 1`` notes every ``n``-window of which occurs in the training set, and the longest such
run is reported. (Windows could come from different places in the training set; with n = 8 notes of
pitch, instrument and timing that is rare, and it is still a warning worth reading.)

Spans: each piece is cut into consecutive 4-bar spans at its first tempo in 4/4 (8 s, four bars at
120 bpm, when the file has no tempo). A span is *found* when all of its notes lie inside one copied run;
spans with fewer than ``n`` notes cannot be judged and are not counted.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from overworld.errors import DataError
from overworld.midi import in_seconds

__all__ = [
    "CopyIndex",
    "CopyReport",
    "PieceCopy",
    "build_index",
    "detect_copies",
    "detect_copies_in_folder",
    "note_sequence",
    "train_scores",
]

log = logging.getLogger(__name__)

GRID_SECONDS = 0.010
DEFAULT_SPAN_SECONDS = 8.0
_PRIME = np.uint64(0x100000001B3)  # FNV-style multiplier; arithmetic wraps modulo 2**64


def note_sequence(score: Any, *, include_drums: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Note codes (int64, one per note, in onset order) and the notes' onsets in seconds."""
    score = in_seconds(score)
    on, pitch, inst = [], [], []
    for track in score.tracks:
        if track.is_drum and not include_drums:
            continue
        a = track.notes.numpy()
        if len(a["time"]) == 0:
            continue
        on.append(np.rint(a["time"].astype(np.float64) / GRID_SECONDS).astype(np.int64))
        pitch.append(a["pitch"].astype(np.int64) % 128)
        inst.append(np.full(len(a["time"]), 128 if track.is_drum else int(track.program) % 128, np.int64))
    if not on:
        return np.zeros(0, np.int64), np.zeros(0)
    steps, pitches, insts = np.concatenate(on), np.concatenate(pitch), np.concatenate(inst)
    order = np.lexsort((pitches, insts, steps))
    steps, pitches, insts = steps[order], pitches[order], insts[order]
    ioi = np.minimum(np.diff(steps, prepend=steps[0]), 2**20 - 1)
    codes = pitches | (insts << 7) | (ioi << 15)
    return codes, steps * GRID_SECONDS


def _ngram_hashes(codes: np.ndarray, n: int) -> np.ndarray:
    """The 64-bit polynomial hash of every ``n``-window of ``codes`` (length ``len(codes) - n + 1``)."""
    if len(codes) < n:
        return np.zeros(0, np.uint64)
    c = codes.astype(np.uint64) + np.uint64(1)
    h = np.zeros(len(codes) - n + 1, np.uint64)
    with np.errstate(over="ignore"):
        for j in range(n):
            h = h * _PRIME + c[j : len(c) - n + 1 + j]
    return h


@dataclass(frozen=True)
class CopyIndex:
    """Sorted hashes of every ``n``-note window of the training notes."""

    n: int
    hashes: np.ndarray
    notes: int
    files: int

    def contains(self, hashes: np.ndarray) -> np.ndarray:
        if len(self.hashes) == 0:
            return np.zeros(len(hashes), bool)
        pos = np.minimum(np.searchsorted(self.hashes, hashes), len(self.hashes) - 1)
        return self.hashes[pos] == hashes


def build_index(sequences: Iterable[np.ndarray], n: int = 8) -> CopyIndex:
    """Index the ``n``-note windows of training note sequences (from :func:`note_sequence`)."""
    if n < 1:
        raise DataError("the copy n-gram length must be at least 1")
    parts, notes, files = [], 0, 0
    for codes in sequences:
        parts.append(_ngram_hashes(codes, n))
        notes += len(codes)
        files += 1
    hashes = np.unique(np.concatenate(parts)) if parts else np.zeros(0, np.uint64)
    log.info("copy index: %d distinct %d-note windows from %d files", len(hashes), n, files)
    return CopyIndex(n=n, hashes=hashes, notes=notes, files=files)


@dataclass(frozen=True)
class PieceCopy:
    """One generated piece: its longest copied run (in notes) and the fraction of its 4-bar spans found."""

    path: str
    notes: int
    longest_run: int
    spans: int
    spans_found: int

    @property
    def span_fraction(self) -> float:
        return self.spans_found / self.spans if self.spans else 0.0


@dataclass(frozen=True)
class CopyReport:
    """All pieces, the worst run over them, the overall fraction of spans found, and skipped files."""

    pieces: tuple[PieceCopy, ...]
    n: int
    skipped: tuple[tuple[str, str], ...] = ()

    @property
    def longest_run(self) -> int:
        return max((p.longest_run for p in self.pieces), default=0)

    @property
    def span_fraction(self) -> float:
        spans = sum(p.spans for p in self.pieces)
        return sum(p.spans_found for p in self.pieces) / spans if spans else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "ngram": self.n,
            "longest_run": self.longest_run,
            "span_fraction": self.span_fraction,
            "pieces": [
                {
                    "path": p.path,
                    "notes": p.notes,
                    "longest_run": p.longest_run,
                    "spans": p.spans,
                    "spans_found": p.spans_found,
                    "span_fraction": p.span_fraction,
                }
                for p in self.pieces
            ],
            "skipped": [{"path": p, "reason": r} for p, r in self.skipped],
        }


def _span_seconds(score: Any) -> float:
    tempos = score.tempos
    if len(tempos) and float(tempos[0].qpm) > 0:
        return 16 * 60.0 / float(tempos[0].qpm)  # four bars of 4/4
    return DEFAULT_SPAN_SECONDS


def detect_copies(
    codes: np.ndarray, onsets: np.ndarray, index: CopyIndex, *, span_seconds: float = DEFAULT_SPAN_SECONDS
) -> tuple[int, int, int]:
    """``(longest_run, spans, spans_found)`` of one note sequence against ``index``."""
    n = index.n
    if len(codes) < n:
        return 0, 0, 0
    hit = index.contains(_ngram_hashes(codes, n))  # hit[i]: notes i..i+n-1 occur in the training set
    longest = 0
    if hit.any():
        starts = np.flatnonzero(hit & np.concatenate([[True], ~hit[:-1]]))
        ends = np.flatnonzero(hit & np.concatenate([~hit[1:], [True]]))
        longest = int((ends - starts).max()) + n  # a run of m hit windows covers m + n - 1 notes
    span_of = np.floor(onsets / span_seconds + 1e-9).astype(np.int64)
    spans = found = 0
    for span in np.unique(span_of):
        members = np.flatnonzero(span_of == span)
        if len(members) < n:
            continue
        spans += 1
        first, last = int(members[0]), int(members[-1])
        # notes first..last lie in one copied run when windows first .. last-n+1 are all hits
        found += bool(hit[first : last - n + 2].all())
    return longest, spans, found


def train_scores(prepared_dir: str | Path) -> Iterable[Any]:
    """The train split's files decoded with the prepared folder's tokenizer, one Score at a time."""
    from overworld.data.shards import read_split
    from overworld.tokenizers import load_tokenizer

    root = Path(prepared_dir)
    tokenizer = load_tokenizer(root / "tokenizer.json")
    specials = [tokenizer.bos_id, tokenizer.eos_id, tokenizer.pad_id]
    for ids in read_split(root, "train"):
        body = ids[~np.isin(ids, specials)]
        if len(body):
            yield tokenizer.decode(body)


def detect_copies_in_folder(
    generated_dir: str | Path,
    train: str | Path | Sequence[Any],
    *,
    n: int = 8,
    include_drums: bool = False,
) -> CopyReport:
    """Check every MIDI file of ``generated_dir`` against the training notes: ``train`` is a prepared
    folder (its train split is decoded) or a sequence of Scores. Unreadable files are skipped with a reason.
    """
    from overworld.evaluation.metrics import load_folder

    scores = train_scores(train) if isinstance(train, (str, Path)) else train
    index = build_index((note_sequence(s, include_drums=include_drums)[0] for s in scores), n)
    if index.files == 0:
        raise DataError("the training set holds no files to compare with")
    generated, skipped = load_folder(generated_dir)
    pieces = []
    for path, score in generated:
        codes, onsets = note_sequence(score, include_drums=include_drums)
        longest, spans, found = detect_copies(codes, onsets, index, span_seconds=_span_seconds(score))
        pieces.append(PieceCopy(str(path), len(codes), longest, spans, found))
    return CopyReport(tuple(pieces), n, tuple((str(p), r) for p, r in skipped))
