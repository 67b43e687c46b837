"""Training state on disk: written atomically (temporary file, fsync, rename), so a kill at any moment
leaves the previous state loadable; read with ``weights_only=True`` (tensors and plain containers only).
A full disk is a one-line :class:`DiskFullError`, never a C++ traceback, and the previous file stays.

``latest/state.pt`` is a dict: ``model``, ``optimizer``, ``scheduler`` (state dicts), ``step``,
``bad_evals`` (ints), ``best`` (a 0-d tensor, NaN for none yet), ``rng_cpu`` and on CUDA ``rng_cuda``
(byte tensors) and ``model_config`` (its JSON). :class:`TrainState` is that dict as a dataclass.
"""

from __future__ import annotations

import errno
import json
import math
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from overworld.config import ModelConfig, config_from_dict, config_to_dict
from overworld.errors import DataError, OverworldError

__all__ = [
    "DiskFullError",
    "TrainState",
    "load_state",
    "load_train_state",
    "nonfinite",
    "reporting_disk_full",
    "save_state",
    "save_train_state",
]


class DiskFullError(OverworldError):
    """The disk filled up during a save; the file being replaced is intact (writes go to a temporary file)."""


@dataclass
class TrainState:
    """Everything an exact resume needs, as tensors and plain values."""

    model: dict[str, torch.Tensor]
    optimizer: dict[str, Any]
    scheduler: dict[str, Any]
    model_config: ModelConfig
    step: int = 0
    best: float | None = None  # the best validation loss so far
    bad_evals: int = 0  # evaluations since it last improved
    rng_cpu: torch.Tensor | None = None
    rng_cuda: torch.Tensor | None = None

    def to_dict(self) -> dict[str, Any]:
        """The on-disk form (only tensors, numbers, strings and containers: loadable with weights_only)."""
        out: dict[str, Any] = {
            "model": self.model,
            "optimizer": self.optimizer,
            "scheduler": self.scheduler,
            "step": self.step,
            "best": torch.tensor(math.nan if self.best is None else self.best),
            "bad_evals": self.bad_evals,
            "rng_cpu": self.rng_cpu,
            "model_config": json.dumps(config_to_dict(self.model_config)),
        }
        if self.rng_cuda is not None:
            out["rng_cuda"] = self.rng_cuda
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainState:
        best = float(data["best"])
        return cls(
            model=data["model"],
            optimizer=data["optimizer"],
            scheduler=data["scheduler"],
            model_config=config_from_dict(ModelConfig, json.loads(data["model_config"])),
            step=int(data["step"]),
            best=None if math.isnan(best) else best,
            bad_evals=int(data["bad_evals"]),
            rng_cpu=data.get("rng_cpu"),
            rng_cuda=data.get("rng_cuda"),
        )


def _is_disk_full(exc: BaseException) -> bool:
    """Whether ``exc``, or an exception it came from, is ENOSPC (torch may wrap it in a RuntimeError)."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
            return True
        if "No space left" in str(exc):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


@contextmanager
def reporting_disk_full(path: Path) -> Iterator[None]:
    """Turn a full disk while saving ``path`` into a one-line :class:`DiskFullError`."""
    try:
        yield
    except (OSError, RuntimeError) as exc:
        if not _is_disk_full(exc):
            raise
        raise DiskFullError(
            f"no space left on device while saving {path}; the previous checkpoint is intact"
        ) from exc


def nonfinite(tensors: Any, prefix: str = "") -> list[str]:
    """The names of the floating-point tensors in a (nested) state dict that hold a NaN or an infinity."""
    if isinstance(tensors, torch.Tensor):
        floating = tensors.is_floating_point() or tensors.is_complex()
        return [prefix or "tensor"] if floating and not bool(torch.isfinite(tensors).all()) else []
    if isinstance(tensors, dict):
        items = tensors.items()
    elif isinstance(tensors, (list, tuple)):
        items = enumerate(tensors)
    else:
        return []
    return [
        name for key, value in items for name in nonfinite(value, f"{prefix}.{key}" if prefix else str(key))
    ]


def save_state(path: Path, state: dict[str, Any]) -> None:
    """Write ``state`` to ``path`` atomically; a full disk is a :class:`DiskFullError`."""
    with reporting_disk_full(path):
        _save_atomic(path, state)


def _save_atomic(path: Path, state: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            torch.save(state, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_state(path: Path, device: torch.device | str = "cpu") -> dict[str, Any]:
    if not path.exists():
        raise DataError(f"no training state at {path}; start without --resume")
    try:
        return torch.load(path, map_location=device, weights_only=True)
    except Exception as exc:  # a pickle with anything but tensors, or a damaged file
        raise DataError(f"cannot load training state {path}: {str(exc).splitlines()[0]}") from exc


def save_train_state(path: Path, state: TrainState) -> None:
    """Write ``state`` to ``path`` atomically."""
    save_state(path, state.to_dict())


def load_train_state(path: Path) -> TrainState:
    """Read a :class:`TrainState` (on the CPU); a missing, damaged or foreign file is a one-line DataError."""
    data = load_state(path, "cpu")
    try:
        return TrainState.from_dict(data)
    except (KeyError, TypeError, ValueError) as exc:
        raise DataError(
            f"training state {path} is incomplete ({type(exc).__name__}: {exc}); start afresh"
        ) from exc
