"""A prepared folder on disk, read and written in one place.

Token shards: ``<split>.bin`` holds uint16 tokens of every file of a split, each as BOS ... EOS;
``<split>.idx.npy`` holds int64 offsets (``n_files + 1``), so file i is ``bin[idx[i]:idx[i+1]]``.
``manifest.json`` records the tokenizer, the splits and every file. Whatever is missing or damaged is a
:class:`DataError` with a one-line reason.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import numpy as np

from overworld.atomic import write_atomically
from overworld.data.splits import SPLITS
from overworld.errors import DataError, one_line

__all__ = ["read_json_object", "read_manifest", "read_shard", "read_split", "write_shard"]


def write_shard(folder: Path, split: str, sequences: list[np.ndarray]) -> int:
    """Write one split's sequences (already wrapped in BOS/EOS); return its token count."""
    lengths = np.array([len(s) for s in sequences], dtype=np.int64)
    index = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    tokens = np.concatenate(sequences).astype(np.uint16) if sequences else np.zeros(0, np.uint16)
    # each file whole or not at all: a full disk is a PathError naming it, with no .tmp left behind (numpy
    # said only "104443 requested and 0 written")
    write_atomically(folder / f"{split}.bin", tokens.tofile)

    def save_index(path: Path) -> None:
        with path.open("wb") as handle:  # np.save on a path would add .npy to the temporary name
            np.save(handle, index)

    write_atomically(folder / f"{split}.idx.npy", save_index)
    return int(index[-1])


def _folder(prepared_dir: str | Path) -> Path:
    folder = Path(prepared_dir)
    if folder.is_file():
        raise DataError(f"{folder} is a file; a prepared folder (written by `overworld prepare`) is needed")
    if not folder.is_dir():
        raise DataError(f"prepared folder {folder} does not exist; run `overworld prepare` first")
    return folder


def read_shard(prepared_dir: str | Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    """(tokens as a read-only uint16 memmap, int64 offsets) of one split."""
    folder = _folder(prepared_dir)
    if split not in SPLITS:
        raise DataError(f"unknown split {split!r}; choose one of {', '.join(SPLITS)}")
    bin_path, idx_path = folder / f"{split}.bin", folder / f"{split}.idx.npy"
    if not bin_path.is_file() or not idx_path.is_file():
        raise DataError(
            f"{folder} has no {split} split ({bin_path.name} / {idx_path.name} missing); "
            "run `overworld prepare` first"
        )
    try:
        index = np.load(idx_path, allow_pickle=False)
        nbytes = bin_path.stat().st_size
        if nbytes % 2:
            raise ValueError(f"{bin_path.name} has an odd number of bytes, not uint16 tokens")
        tokens = np.memmap(bin_path, dtype=np.uint16, mode="r") if nbytes else np.zeros(0, np.uint16)
    except (OSError, ValueError, EOFError) as exc:
        raise DataError(f"cannot read the {split} split of {folder}: {one_line(exc)}") from exc
    size = nbytes // 2
    if (
        index.ndim != 1
        or len(index) < 1
        or not np.issubdtype(index.dtype, np.integer)
        or index[0] != 0
        or index[-1] != size
        or np.any(np.diff(index) < 0)
    ):
        raise DataError(f"{idx_path} does not index {bin_path.name} ({size} tokens); prepare again")
    return tokens, index.astype(np.int64)


def read_split(prepared_dir: str | Path, split: str) -> list[np.ndarray]:
    """Every non-empty file of ``split`` (or ``"all"``: every split present) as int64 ids ``BOS ... EOS``,
    in shard order."""
    if split == "all":
        folder = _folder(prepared_dir)
        present = [name for name in SPLITS if (folder / f"{name}.bin").is_file()]
        if not present:
            raise DataError(f"{folder} holds no shards ({', '.join(f'{s}.bin' for s in SPLITS)})")
        return [ids for name in present for ids in read_split(folder, name)]
    if split not in SPLITS:
        raise DataError(f"unknown split {split!r}; choose one of {', '.join((*SPLITS, 'all'))}")
    tokens, index = read_shard(prepared_dir, split)
    return [np.asarray(tokens[a:b], dtype=np.int64) for a, b in itertools.pairwise(index) if b > a]


# a manifest holds a few hundred bytes a file: this is about 800,000 files (Lakh MIDI's full set is 178,561)
MAX_MANIFEST_BYTES = 256 << 20


def read_json_object(path: Path, max_bytes: int = MAX_MANIFEST_BYTES) -> dict[str, Any]:
    """A JSON file of a prepared folder that must hold an object; :class:`DataError` in one line if not,
    and for one over ``max_bytes`` before it is read (parsing takes several times a file's size)."""
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise DataError(f"{path} is {size:,} bytes, over the {max_bytes:,} it may have; prepare again")
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot read {path}: {one_line(exc)}; prepare again") from exc
    if not isinstance(data, dict):
        raise DataError(f"{path} must hold an object, not {type(data).__name__}; prepare again")
    return data


def read_manifest(prepared_dir: str | Path) -> dict[str, Any]:
    """``manifest.json`` of a prepared folder: at least ``tokenizer``, ``vocab_size``, ``splits`` and
    ``files``."""
    path = _folder(prepared_dir) / "manifest.json"
    if not path.exists():
        raise DataError(f"{path.parent} is not a prepared folder: no manifest.json")
    manifest = read_json_object(path)
    missing = [k for k in ("tokenizer", "vocab_size", "splits", "files") if k not in manifest]
    if missing:
        raise DataError(f"{path} is not a prepared folder's manifest: no {', '.join(missing)}; prepare again")
    if not isinstance(manifest["files"], list) or not isinstance(manifest["splits"], dict):
        raise DataError(f"{path} is damaged: files must be a list and splits an object; prepare again")
    return manifest
