"""Held-out likelihood of a language model over a whole prepared split.

Every file of the split is scored, BOS..EOS: each token after BOS is predicted exactly once. A file longer
than the model's ``sequence_length`` L is scored with sliding windows (the Hugging Face "perplexity of
fixed-length models" recipe): the first window covers tokens ``0..L`` and scores all its L targets; each
later window starts ``stride`` tokens further on and scores only the targets the previous windows did not,
so with the default ``stride = L // 2`` every token after the first window is predicted with at least
``L - stride`` tokens of context (stride 1 gives the most context at L times the cost).

Bits per note and bits per second divide the same total by the tokenizer's ``count_notes`` and
``seconds`` of the split, so models with different tokenizers compare on the same music.
"""

from __future__ import annotations

import itertools
import json
import logging
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from overworld.errors import DataError

if TYPE_CHECKING:
    import torch

    from overworld.models.base import LanguageModel
    from overworld.tokenizers.base import Tokenizer

__all__ = [
    "SPLITS",
    "LikelihoodResult",
    "count_music",
    "evaluate_model",
    "read_split",
    "result_from_totals",
    "sliding_windows",
]

log = logging.getLogger(__name__)

SPLITS = ("train", "validation", "test")
_LN2 = math.log(2.0)


@dataclass(frozen=True)
class LikelihoodResult:
    """Negative log-likelihood of a split; ``tokens`` counts the predicted tokens (BOS is never one)."""

    bits_per_token: float
    bits_per_note: float
    bits_per_second: float
    perplexity: float
    accuracy: float
    tokens: int
    notes: int
    seconds: float
    files: int = 0

    def to_dict(self) -> dict[str, Any]:
        """The JSON form written by ``overworld evaluate --json``."""
        return asdict(self)


def read_split(prepared_dir: str | Path, split: str) -> list[np.ndarray]:
    """Every file of ``split`` (or ``"all"``) as int64 ids ``BOS ... EOS``, in shard order.

    Raises :class:`DataError` if the folder, the split or its shards are missing or inconsistent.
    """
    root = Path(prepared_dir)
    if not root.is_dir():
        raise DataError(f"prepared folder {root} does not exist; run `overworld prepare` first")
    if split == "all":
        files: list[np.ndarray] = []
        for name in SPLITS:
            if (root / f"{name}.bin").is_file():
                files.extend(read_split(root, name))
        if not files:
            raise DataError(f"{root} holds no shards (train.bin, validation.bin, test.bin)")
        return files
    if split not in SPLITS:
        raise DataError(f"unknown split {split!r}; choose one of {', '.join((*SPLITS, 'all'))}")
    bin_path, idx_path = root / f"{split}.bin", root / f"{split}.idx.npy"
    if not bin_path.is_file() or not idx_path.is_file():
        raise DataError(f"{root} has no {split} split ({bin_path.name} / {idx_path.name} missing)")
    tokens = np.fromfile(bin_path, dtype=np.uint16)
    try:
        index = np.load(idx_path, allow_pickle=False).astype(np.int64)
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot read {idx_path}: {exc}") from exc
    if (
        index.ndim != 1
        or len(index) < 1
        or index[0] != 0
        or index[-1] != len(tokens)
        or np.any(np.diff(index) < 0)
    ):
        raise DataError(f"{idx_path} does not index {bin_path.name} ({len(tokens)} tokens)")
    return [tokens[a:b].astype(np.int64) for a, b in itertools.pairwise(index) if b > a]


def sliding_windows(n: int, length: int, stride: int) -> Iterator[tuple[int, int, int]]:
    """Windows over a sequence of ``n`` tokens: ``(start, end, first_scored)`` for inputs
    ``ids[start:end]`` whose targets are ``ids[start+1:end+1]``; targets at positions ``>= first_scored``
    (absolute index of the target token) are the ones this window scores. Every position ``1..n-1`` is
    scored exactly once."""
    if length < 1 or stride < 1:
        raise ValueError("length and stride must be positive")
    last_target = n - 1  # targets are positions 1 .. n-1
    if last_target < 1:
        return
    start, scored_up_to = 0, 0  # targets 1..scored_up_to are already scored
    while scored_up_to < last_target:
        end = min(start + length, last_target)  # inputs start..end-1, targets start+1..end
        yield max(0, end - length), end, scored_up_to + 1  # the last window reaches back a full L
        scored_up_to = end
        start = min(start + stride, scored_up_to)  # a stride longer than L must not skip targets


def result_from_totals(
    nats: float, correct: int, tokens: int, notes: int, seconds: float, files: int
) -> LikelihoodResult:
    """Turn summed negative log-likelihood (natural log) and counts into a :class:`LikelihoodResult`."""
    if tokens <= 0:
        raise DataError("nothing to evaluate: the split holds no predictable tokens")
    bits = nats / _LN2
    return LikelihoodResult(
        bits_per_token=bits / tokens,
        bits_per_note=bits / notes if notes > 0 else math.nan,
        bits_per_second=bits / seconds if seconds > 0 else math.nan,
        perplexity=math.exp(nats / tokens),
        accuracy=correct / tokens,
        tokens=int(tokens),
        notes=int(notes),
        seconds=float(seconds),
        files=int(files),
    )


def count_music(tokenizer: Tokenizer, files: Sequence[np.ndarray]) -> tuple[int, float]:
    """Notes and seconds of music in ``files`` (BOS/EOS stripped), by the tokenizer's own counts."""
    specials = {tokenizer.bos_id, tokenizer.eos_id, tokenizer.pad_id}
    notes, seconds = 0, 0.0
    for ids in files:
        body = ids[~np.isin(ids, list(specials))]
        if len(body):
            notes += int(tokenizer.count_notes(body))
            seconds += float(tokenizer.seconds(body))
    return notes, seconds


def _windows(files: Sequence[np.ndarray], length: int, stride: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """All windows of all files as (ids of length T+1, mask of scored targets of length T)."""
    out = []
    for ids in files:
        for start, end, first in sliding_windows(len(ids), length, stride):
            chunk = ids[start : end + 1]
            mask = np.arange(start + 1, end + 1) >= first
            out.append((chunk, mask))
    return out


def evaluate_model(
    model: LanguageModel,
    tokenizer: Tokenizer,
    prepared_dir: str | Path,
    split: str = "test",
    *,
    batch_size: int = 8,
    stride: int = 0,
    device: str | torch.device = "cpu",
    files: Sequence[np.ndarray] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> LikelihoodResult:
    """Score every file of ``split`` with ``model`` (see the module docstring for the windows).

    ``stride`` 0 means ``sequence_length // 2``. ``files`` (ids ``BOS..EOS``) replaces reading the split.
    ``progress(windows_done, windows_total)`` is called after each batch (the CLI draws a bar with it).
    """
    import torch

    if files is None:
        _check_tokenizer(prepared_dir, tokenizer)
        files = read_split(prepared_dir, split)
    if not files:
        raise DataError(f"the {split} split of {prepared_dir} holds no files")
    length = int(model.config.sequence_length)
    stride = int(stride) or max(1, length // 2)
    vocab = int(model.config.vocab_size)
    for ids in files:
        if len(ids) and int(ids.max()) >= vocab:
            raise DataError(f"token id {int(ids.max())} is outside the model's vocabulary of {vocab}")
    windows = _windows(files, length, stride)
    windows.sort(key=lambda w: len(w[0]))  # similar lengths batch together: little padding
    pad = int(tokenizer.pad_id)
    nats, correct, scored = 0.0, 0, 0
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            for i in range(0, len(windows), max(1, batch_size)):
                batch = windows[i : i + max(1, batch_size)]
                width = max(len(w[0]) for w in batch) - 1
                ids = np.full((len(batch), width + 1), pad, dtype=np.int64)
                mask = np.zeros((len(batch), width), dtype=bool)
                for row, (chunk, m) in enumerate(batch):
                    ids[row, : len(chunk)] = chunk
                    mask[row, : len(m)] = m
                x = torch.from_numpy(ids).to(device)
                m = torch.from_numpy(mask).to(device)
                logits = model(x[:, :-1]).float()  # (B, T, V)
                logp = torch.log_softmax(logits, dim=-1)
                target = x[:, 1:]
                picked = logp.gather(-1, target.unsqueeze(-1)).squeeze(-1)  # (B, T)
                nats -= float(picked[m].double().sum())
                correct += int((logits.argmax(-1) == target)[m].sum())
                scored += int(m.sum())
                if progress is not None:
                    progress(min(i + len(batch), len(windows)), len(windows))
    finally:
        model.train(was_training)
    notes, seconds = count_music(tokenizer, files)
    result = result_from_totals(nats, correct, scored, notes, seconds, len(files))
    log.info("%s: %.4f bits/token over %d tokens", split, result.bits_per_token, scored)
    return result


def _check_tokenizer(prepared_dir: str | Path, tokenizer: Tokenizer) -> None:
    """The prepared folder's tokenizer must be the model's, or the ids mean different things."""
    path = Path(prepared_dir) / "tokenizer.json"
    if not path.is_file():
        return
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot read {path}: {exc}") from exc
    kind, size = data.get("type"), data.get("vocab_size")
    if kind is not None and kind != tokenizer.name:
        raise DataError(
            f"{prepared_dir} was prepared with tokenizer {kind!r}, the model uses {tokenizer.name!r}"
        )
    if size is not None and int(size) != tokenizer.vocab_size:
        raise DataError(
            f"{prepared_dir} has vocabulary {size}, the model's tokenizer has {tokenizer.vocab_size}"
        )
