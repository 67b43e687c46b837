"""``pick_device(name)``: the one way a device name (``auto``, ``cpu``, ``cuda``, ``cuda:1``, ``mps``) becomes a
:class:`torch.device`, for training, evaluation and generation alike."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from overworld.errors import ConfigError

if TYPE_CHECKING:
    import torch

__all__ = ["DEVICE_KINDS", "free_memory", "pick_device"]

DEVICE_KINDS = ("auto", "cpu", "cuda", "mps")


def _mps_available() -> bool:
    import torch

    mps = getattr(torch.backends, "mps", None)
    return mps is not None and mps.is_available()


def pick_device(name: str = "auto") -> torch.device:
    """``auto``: CUDA, then Apple MPS, then CPU; otherwise the named device, which must be available.

    Raises :class:`ConfigError` with a one-line reason for an unknown or unavailable device.
    """
    import torch

    text = str(name).strip().lower()
    if text == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    kind, _, index = text.partition(":")
    if kind not in DEVICE_KINDS or (index and (kind != "cuda" or not index.isdigit())):
        raise ConfigError(f"unknown device {name!r}; choose auto, cpu, cuda, cuda:N or mps")
    if kind == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError(
                f"device {name!r} is not available: this torch sees no CUDA GPU; use auto or cpu"
            )
        count = torch.cuda.device_count()
        if index and int(index) >= count:
            raise ConfigError(f"device {name!r} is not available: {count} CUDA GPU(s), numbered from 0")
    if kind == "mps" and not _mps_available():
        raise ConfigError(f"device {name!r} is not available on this machine; use auto or cpu")
    return torch.device(text)


def free_memory(device: torch.device | str) -> int | None:
    """Bytes free for new tensors on ``device``: CUDA's free memory (and torch's unused cache); on the CPU
    the kernel's ``MemAvailable`` (Linux), else the physical memory; None where it cannot be told (MPS)."""
    import torch

    device = torch.device(device)
    if device.type == "cuda":
        cached = torch.cuda.memory_reserved(device) - torch.cuda.memory_allocated(device)
        return int(torch.cuda.mem_get_info(device)[0]) + cached
    if device.type != "cpu":
        return None
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None
