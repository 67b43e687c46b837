"""Training state on disk: written atomically (temporary file, fsync, rename), so a kill at any moment
leaves the previous state loadable; read with ``weights_only=True`` (tensors and plain containers only)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import torch

from overworld.errors import DataError

__all__ = ["load_state", "save_state"]


def save_state(path: Path, state: dict[str, Any]) -> None:
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
