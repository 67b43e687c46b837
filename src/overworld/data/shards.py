"""Token shards: ``<split>.bin`` holds uint16 tokens of every file of a split, each as BOS ... EOS;
``<split>.idx.npy`` holds int64 offsets (``n_files + 1``), so file i is ``bin[idx[i]:idx[i+1]]``."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from overworld.errors import DataError

__all__ = ["read_shard", "shard_files", "write_shard"]


def write_shard(folder: Path, split: str, sequences: list[np.ndarray]) -> int:
    """Write one split's sequences (already wrapped in BOS/EOS); return its token count."""
    lengths = np.array([len(s) for s in sequences], dtype=np.int64)
    index = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    tokens = np.concatenate(sequences).astype(np.uint16) if sequences else np.zeros(0, np.uint16)
    tmp = folder / f".{split}.bin.tmp"
    tokens.tofile(tmp)
    tmp.replace(folder / f"{split}.bin")
    np.save(folder / f"{split}.idx.npy", index)
    return int(index[-1])


def read_shard(folder: str | Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    """(tokens as a read-only uint16 memmap, offsets); a DataError names what is missing or broken."""
    folder = Path(folder)
    bin_path, idx_path = folder / f"{split}.bin", folder / f"{split}.idx.npy"
    if not bin_path.exists() or not idx_path.exists():
        raise DataError(f"{folder} has no {split} split ({bin_path.name}); run `overworld prepare` first")
    index = np.load(idx_path, allow_pickle=False)
    size = bin_path.stat().st_size // 2
    tokens = np.memmap(bin_path, dtype=np.uint16, mode="r") if size else np.zeros(0, np.uint16)
    if index.ndim != 1 or len(index) < 1 or index[0] != 0 or index[-1] != size or np.any(np.diff(index) < 0):
        raise DataError(f"{idx_path} does not index {bin_path.name} ({size} tokens)")
    return tokens, index


def shard_files(folder: str | Path, split: str) -> list[np.ndarray]:
    """Every file of a split as an int64 array (BOS ... EOS)."""
    tokens, index = read_shard(folder, split)
    return [np.asarray(tokens[a:b], dtype=np.int64) for a, b in zip(index[:-1], index[1:])]
