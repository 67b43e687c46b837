"""Held-out likelihood of a language model over a whole prepared split.

Every file of the split is scored, BOS..EOS: each token after BOS is predicted exactly once. A file longer
than the model's ``sequence_length`` L is scored with sliding windows (the Hugging Face "perplexity of
fixed-length models" recipe): the first window covers tokens ``0..L`` and scores all its L targets; each
later window starts ``stride`` tokens further on and scores only the targets the previous windows did not,
so with the default ``stride = L // 2`` every token after the first window is predicted with at least
``L - stride`` tokens of context (stride 1 gives the most context at L times the cost).

The training loop's validation (``evaluate_windows``) scores a split's contiguous windows with the same
``score_batch``: quicker, and what early stopping and the best checkpoint go by.

Bits per note and bits per second divide the same total by the tokenizer's ``count_notes`` and
``seconds`` of the split, so models with different tokenizers compare on the same music.
"""

from __future__ import annotations

import contextlib
import logging
import math
import numbers
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from overworld.data.shards import read_json_object, read_manifest, read_split
from overworld.errors import ConfigError, DataError

if TYPE_CHECKING:
    import torch

    from overworld.data.dataset import TokenWindows
    from overworld.models.base import LanguageModel
    from overworld.tokenizers.base import Tokenizer

__all__ = [
    "LikelihoodResult",
    "count_music",
    "evaluate_model",
    "evaluate_windows",
    "result_from_totals",
    "score_batch",
    "sliding_windows",
]

log = logging.getLogger(__name__)

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

    ``stride`` 0 means ``sequence_length // 2``. ``files`` (ids ``BOS..EOS``) replaces reading the split;
    otherwise the folder must be a prepared one (a readable ``manifest.json``) for the model's tokenizer.
    ``progress(windows_done, windows_total)`` is called after each batch (the CLI draws a bar with it).
    Raises :class:`ConfigError` for a batch size or stride out of range, :class:`DataError` for bad data.
    """

    _check_sizes(batch_size, stride)
    if files is None:
        _check_tokenizer(prepared_dir, tokenizer)
        files = read_split(prepared_dir, split)
    if not files:
        raise DataError(f"the {split} split of {prepared_dir} holds no files")
    length = int(model.config.sequence_length)
    stride = stride or max(1, length // 2)
    vocab = int(model.config.vocab_size)
    for ids in files:
        if len(ids) and int(ids.max()) >= vocab:
            raise DataError(f"token id {int(ids.max())} is outside the model's vocabulary of {vocab}")
    windows = _windows(files, length, stride)
    windows.sort(key=lambda w: len(w[0]))  # similar lengths batch together: little padding
    _check_memory(model.config, min(batch_size, len(windows)), device)
    nats, correct, scored = _score_windows(
        model, windows, int(tokenizer.pad_id), batch_size, device, progress
    )
    notes, seconds = count_music(tokenizer, files)
    result = result_from_totals(nats, correct, scored, notes, seconds, len(files))
    log.info("%s: %.4f bits/token over %d tokens", split, result.bits_per_token, scored)
    return result


def _score_windows(
    model: LanguageModel,
    windows: list[tuple[np.ndarray, np.ndarray]],
    pad: int,
    batch_size: int,
    device: str | torch.device,
    progress: Callable[[int, int], None] | None,
) -> tuple[float, int, int]:
    """(nats, correct, scored) over ``windows``, batched and padded with ``pad``, in eval mode."""
    import torch

    nats, correct, scored = 0.0, 0, 0
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            for i in range(0, len(windows), batch_size):
                batch = windows[i : i + batch_size]
                width = max(len(w[0]) for w in batch) - 1
                ids = np.full((len(batch), width + 1), pad, dtype=np.int64)
                mask = np.zeros((len(batch), width), dtype=bool)
                for row, (chunk, m) in enumerate(batch):
                    ids[row, : len(chunk)] = chunk
                    mask[row, : len(m)] = m
                x = torch.from_numpy(ids).to(device)
                n, c, k = score_batch(model, x, torch.from_numpy(mask).to(device))
                nats, correct, scored = nats + n, correct + c, scored + k
                if progress is not None:
                    progress(min(i + len(batch), len(windows)), len(windows))
    finally:
        model.train(was_training)
    return nats, correct, scored


def score_batch(
    model: Any, ids: torch.Tensor, mask: torch.Tensor, amp: bool = False
) -> tuple[float, int, int]:
    """Summed negative log-likelihood (nats), correct next-token guesses and count of the targets
    ``ids[:, 1:]`` where ``mask`` (``(B, T)``) is true; ``amp``: bf16 autocast for the forward pass."""
    import torch

    autocast = torch.autocast(ids.device.type, dtype=torch.bfloat16) if amp else contextlib.nullcontext()
    with autocast:
        logits = model(ids[:, :-1])  # (B, T, V)
    logits = logits.float()
    target = ids[:, 1:]  # (B, T)
    picked = torch.log_softmax(logits, dim=-1).gather(-1, target.unsqueeze(-1)).squeeze(-1)  # (B, T)
    nats = -float(picked[mask].double().sum())
    return nats, int((logits.argmax(-1) == target)[mask].sum()), int(mask.sum())


def evaluate_windows(
    model: Any,
    windows: TokenWindows,
    batch_size: int,
    device: torch.device | str,
    amp: bool = False,
    max_batches: int = 0,
) -> dict[str, float]:
    """The training loop's validation: mean loss (nats), accuracy and bits per token over the contiguous
    windows of ``windows``' split (all of them, or the first ``max_batches`` batches). PAD targets are not
    scored."""
    import torch

    was_training = model.training
    model.eval()
    nats, hits, count = 0.0, 0, 0
    try:
        with torch.no_grad():
            for i, batch in enumerate(windows.eval_batches(batch_size)):
                if max_batches and i >= max_batches:
                    break
                x = batch.to(device)
                n, h, k = score_batch(model, x, x[:, 1:] != windows.tokenizer.pad_id, amp)
                nats, hits, count = nats + n, hits + h, count + k
    finally:
        model.train(was_training)
    loss = nats / max(count, 1)
    return {"val_loss": loss, "val_accuracy": hits / max(count, 1), "val_bits_per_token": loss / _LN2}


MAX_BATCH_SIZE = 65_536  # windows in one forward pass, whatever the memory


def _check_sizes(batch_size: int, stride: int) -> None:
    """A batch size of at least 1, and a stride of 0 (half a window) or more (one longer than the window
    scores like one of the window's length)."""
    if not _whole(batch_size) or not 1 <= batch_size <= MAX_BATCH_SIZE:
        raise ConfigError(f"batch size must be between 1 and {MAX_BATCH_SIZE:,} windows, not {batch_size}")
    if not _whole(stride) or stride < 0:
        raise ConfigError(f"stride must be 0 (half the window) or more tokens, not {stride}")


def _whole(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _check_memory(config: Any, batch: int, device: str | torch.device) -> None:
    """Refuse a batch whose forward pass would not fit in what ``device`` has free (else an allocation
    traceback, or on Linux the kernel's OOM killer)."""
    from overworld.config import ModelConfig
    from overworld.devices import free_memory

    free = free_memory(device) if isinstance(config, ModelConfig) else None
    if free is None:
        return
    need = config.scoring_bytes(batch)
    if need > 0.8 * free:
        raise ConfigError(
            f"a batch of {batch:,} windows needs about {need / 2**30:.1f} GiB, more than {device} has free "
            f"({free / 2**30:.1f} GiB); use a smaller batch size"
        )


def _check_tokenizer(prepared_dir: str | Path, tokenizer: Tokenizer) -> None:
    """The folder must be a prepared one (its ``manifest.json`` read and checked) whose tokenizer is the
    model's, or the ids mean different things (or the scores are of files nobody prepared)."""
    manifest = read_manifest(prepared_dir)
    path = Path(prepared_dir) / "tokenizer.json"
    data: Any = {}
    if path.is_file():
        data = read_json_object(path)
    for where, kind, size in (
        (path, data.get("type"), data.get("vocab_size")),
        (Path(prepared_dir) / "manifest.json", manifest["tokenizer"], manifest["vocab_size"]),
    ):
        if kind is not None and kind != tokenizer.name:
            raise DataError(f"{where} says tokenizer {kind!r}, the model uses {tokenizer.name!r}")
        if size is not None and size != tokenizer.vocab_size:
            raise DataError(
                f"{where} says vocabulary {size!r}, the model's tokenizer has {tokenizer.vocab_size}"
            )
