"""Windows of tokens over a prepared split, for training and evaluation.

``batch(step, ...)`` is a pure function of its arguments: the windows, their augmentation and their order
come from a generator seeded with (seed, step, rank), so a resumed run sees exactly the batches an
uninterrupted one would, and each torchrun rank sees different ones.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from overworld.data.shards import read_shard
from overworld.errors import DataError
from overworld.tokenizers import Tokenizer, load_tokenizer

__all__ = ["Augment", "TokenWindows"]


@dataclass(frozen=True)
class Augment:
    """On-the-fly augmentation: transposition of pitched notes by up to ``transpose`` semitones either
    way (drums untouched) and a tempo stretch of up to ``stretch`` (0.05: +-5%)."""

    transpose: int = 0
    stretch: float = 0.0


class TokenWindows:
    """Windows of ``length + 1`` tokens (inputs are ``[:-1]``, targets ``[1:]``) from one split."""

    def __init__(
        self,
        prepared: str | Path,
        split: str,
        length: int,
        *,
        augment: Augment | None = None,
        tokenizer: Tokenizer | None = None,
        infill_rate: float = 0.0,
    ) -> None:
        self.folder = Path(prepared)
        self.split = split
        self.length = int(length)
        self.augment = augment or Augment()
        self.infill_rate = float(infill_rate)  # share of windows in the tokenizer's infilling layout
        self.tokens, self.index = read_shard(self.folder, split)
        if len(self.tokens) < 2:
            raise DataError(f"the {split} split of {self.folder} is empty; prepare more files")
        self.tokenizer = tokenizer or load_tokenizer(self.folder)

    def __len__(self) -> int:
        """Non-overlapping windows in one pass over the split."""
        return max(1, -(-len(self.tokens) // self.length))

    def _window(self, rng: np.random.Generator) -> np.ndarray:
        ids = self._infill_window(rng) if self.infill_rate and rng.random() < self.infill_rate else None
        if ids is None:
            ids = self._plain_window(rng)
        return self._augmented(ids, rng)

    def _plain_window(self, rng: np.random.Generator) -> np.ndarray:
        """Consecutive tokens from a random start (a little more than a window when stretching, so a
        faster stretch still fills it)."""
        need = self.length + 1
        extra = int(need * self.augment.stretch) + 8 if self.augment.stretch else 0
        total = len(self.tokens)
        span = min(total, need + extra)
        start = int(rng.integers(0, total - span + 1))
        return np.asarray(self.tokens[start : start + span], dtype=np.int64)

    def _infill_window(self, rng: np.random.Generator) -> np.ndarray | None:
        """A window in the tokenizer's infilling layout from a piece drawn by its length, or None."""
        at = int(rng.integers(0, len(self.tokens)))
        piece = int(np.searchsorted(self.index, at, side="right")) - 1
        begin, end = int(self.index[piece]), int(self.index[min(piece + 1, len(self.index) - 1)])
        ids = self.tokenizer.infill_example(
            np.asarray(self.tokens[begin:end], dtype=np.int64), rng, self.length
        )
        return None if ids is None else ids[ids != self.tokenizer.pad_id]

    def _augmented(self, ids: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """``ids`` transposed and stretched at random, cut or PAD-filled to a window."""
        need = self.length + 1
        aug = self.augment
        shift = int(rng.integers(-aug.transpose, aug.transpose + 1)) if aug.transpose else 0
        factor = float(rng.uniform(1 - aug.stretch, 1 + aug.stretch)) if aug.stretch else 1.0
        if shift or factor != 1.0:
            ids = self.tokenizer.augment(ids, transpose=shift, stretch=factor)
        out = np.full(need, self.tokenizer.pad_id, dtype=np.int64)
        out[: min(need, len(ids))] = ids[:need]
        return out

    def batch(
        self, step: int, batch_size: int, seed: int, rank: int = 0, world_size: int = 1
    ) -> torch.Tensor:
        """``(batch_size, length + 1)`` random windows, a pure function of the arguments."""
        rng = np.random.default_rng([seed, step, rank, world_size])
        return torch.from_numpy(np.stack([self._window(rng) for _ in range(batch_size)]))

    def eval_batches(self, batch_size: int) -> Iterator[torch.Tensor]:
        """Contiguous windows covering the split once; the tail is padded with PAD (ignored as targets)."""
        starts = range(0, len(self.tokens) - 1, self.length)
        rows = []
        for start in starts:
            ids = np.asarray(self.tokens[start : start + self.length + 1], dtype=np.int64)
            row = np.full(self.length + 1, self.tokenizer.pad_id, dtype=np.int64)
            row[: len(ids)] = ids
            rows.append(row)
            if len(rows) == batch_size:
                yield torch.from_numpy(np.stack(rows))
                rows = []
        if rows:
            yield torch.from_numpy(np.stack(rows))
