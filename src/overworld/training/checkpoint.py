"""Training state on disk: written atomically (temporary file, fsync, rename), so a kill at any moment
leaves the previous state loadable; read with ``weights_only=True`` (tensors and plain containers only).
A full disk is a one-line :class:`DiskFullError`, never a C++ traceback, and the previous file stays.

``latest/state.pt`` is a dict: ``model``, ``optimizer``, ``scheduler`` (state dicts), ``step``,
``bad_evals`` (ints), ``best`` (a 0-d tensor, NaN for none yet), ``rng_cpu`` and on CUDA ``rng_cuda``
(byte tensors) and ``model_config`` (its JSON). :class:`TrainState` is that dict as a dataclass; reading
one checks every field's type and range, and :func:`restore` checks it against the model and optimizer
it goes into (names, shapes, optimizer kind, step) before loading, so a damaged or tampered state is a
one-line :class:`DataError`, never a traceback half-way through a resume.
"""

from __future__ import annotations

import errno
import json
import math
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from overworld.atomic import temp_file_beside
from overworld.config import ModelConfig, config_from_dict, config_to_dict
from overworld.errors import DataError, OverworldError, PathError

__all__ = [
    "DiskFullError",
    "TrainState",
    "load_state",
    "load_train_state",
    "nonfinite",
    "reporting_disk_full",
    "restore",
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
    def from_dict(cls, data: Any) -> TrainState:
        """The state ``data`` holds; a missing key or a value of the wrong type or range is a ValueError."""
        if not isinstance(data, dict):
            raise ValueError(f"it holds a {type(data).__name__}, not a training state's dict")
        if missing := [key for key in _KEYS if key not in data]:
            raise ValueError(f"it has no {', '.join(missing)}")
        step, bad_evals = _count(data["step"], "step"), _count(data["bad_evals"], "bad_evals")
        best = data["best"]
        if not (isinstance(best, torch.Tensor) and best.numel() == 1 and best.is_floating_point()):
            raise ValueError(f"best must be a one-number float tensor, not {_kind(best)}")
        best_value = float(best)
        if math.isinf(best_value):
            raise ValueError(f"best validation loss is {best_value}")
        config = data["model_config"]
        if not isinstance(config, str) or not isinstance(parsed := json.loads(config), dict):
            raise ValueError(f"model_config must be a JSON object, not {_kind(config)}")
        _check_state_dicts(data)
        _check_rng(data["rng_cpu"], "rng_cpu", torch.get_rng_state().numel())
        if data.get("rng_cuda") is not None:
            _check_rng(data["rng_cuda"], "rng_cuda", None)
        if _count(data["scheduler"].get("last_epoch"), "scheduler last_epoch") != step:
            raise ValueError(f"step {step} disagrees with its schedule's {data['scheduler']['last_epoch']}")
        return cls(
            model=data["model"],
            optimizer=data["optimizer"],
            scheduler=data["scheduler"],
            model_config=config_from_dict(ModelConfig, parsed),
            step=step,
            best=None if math.isnan(best_value) else best_value,
            bad_evals=bad_evals,
            rng_cpu=data["rng_cpu"],
            rng_cuda=data.get("rng_cuda"),
        )


_KEYS = ("model", "optimizer", "scheduler", "step", "best", "bad_evals", "rng_cpu", "model_config")


def _kind(value: Any) -> str:
    """What ``value`` is, for a message: ``a tensor of shape (3,)``, ``'abc'``, ``1.5``."""
    if isinstance(value, torch.Tensor):
        return f"a {value.dtype} tensor of shape {tuple(value.shape)}"
    return repr(value) if isinstance(value, str | int | float | bool | None) else f"a {type(value).__name__}"


def _count(value: Any, name: str) -> int:
    """``value`` as a count (an int, or a one-number integer tensor) at least 0."""
    if isinstance(value, torch.Tensor) and value.numel() == 1 and not value.is_floating_point():
        value = int(value)
    if type(value) is not int or value < 0:
        raise ValueError(f"{name} must be a whole number at least 0, not {_kind(value)}")
    return value


def _check_state_dicts(data: dict[str, Any]) -> None:
    """``model`` maps names to floating-point tensors; ``optimizer`` and ``scheduler`` are state dicts."""
    model = data["model"]
    if not isinstance(model, dict) or not model:
        raise ValueError(f"model must be a dict of tensors, not {_kind(model)}")
    for name, tensor in model.items():
        if not isinstance(tensor, torch.Tensor) or not tensor.is_floating_point():
            raise ValueError(f"model weight {name!r} is {_kind(tensor)}, not a floating-point tensor")
    optimizer = data["optimizer"]
    if not (
        isinstance(optimizer, dict)
        and isinstance(optimizer.get("state"), dict)
        and isinstance(groups := optimizer.get("param_groups"), list)
        and all(isinstance(g, dict) and isinstance(g.get("params"), list) for g in groups)
    ):
        raise ValueError(f"optimizer is {_kind(optimizer)}, not an optimizer's state dict")
    if not isinstance(data["scheduler"], dict):
        raise ValueError(f"scheduler is {_kind(data['scheduler'])}, not a schedule's state dict")


def _check_rng(value: Any, name: str, size: int | None) -> None:
    """A generator state: a 1-d uint8 tensor (of ``size`` bytes where that is known)."""
    ok = isinstance(value, torch.Tensor) and value.dtype == torch.uint8 and value.dim() == 1
    if not ok or (size is not None and value.numel() != size):
        raise ValueError(f"{name} must be a random generator's byte state, not {_kind(value)}")


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
    except (OSError, RuntimeError, PathError) as exc:  # PathError: an atomic writer's one line
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
    fd, tmp = temp_file_beside(path)  # the user's umask, not mkstemp's 0600
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
        raise _unusable(path, exc) from exc


def restore(state: TrainState, model: torch.nn.Module, optimizer: Any, scheduler: Any, path: Path) -> None:
    """Load ``state`` (read from ``path``) into ``model``, ``optimizer`` and ``scheduler``, after checking
    that it fits them: the same weight names and shapes, the same kind of optimizer over the same groups,
    moments shaped like their weights, no more optimizer steps than ``state.step``. Else a DataError."""
    try:
        _check_weights_fit(state.model, model)
        _check_optimizer_fits(state.optimizer, optimizer)
        _check_schedule_fits(state.scheduler, scheduler, len(optimizer.param_groups))
        model.load_state_dict(state.model)
        optimizer.load_state_dict(state.optimizer)
        scheduler.load_state_dict(state.scheduler)
        _check_moments(optimizer, state.step)
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:
        raise _unusable(path, exc) from exc


def _unusable(path: Path, exc: BaseException) -> DataError:
    reason = f"it has no {exc}" if isinstance(exc, KeyError) else str(exc).strip().splitlines()[0]
    return DataError(f"training state {path} cannot be resumed: {reason}; start afresh with --overwrite")


def _check_weights_fit(weights: dict[str, torch.Tensor], model: torch.nn.Module) -> None:
    expected = model.state_dict()
    missing, unexpected = sorted(set(expected) - set(weights)), sorted(set(weights) - set(expected))
    if missing or unexpected:
        raise ValueError(
            f"its weights do not fit its model_config (missing {missing[:3]}, unexpected {unexpected[:3]})"
        )
    for name, tensor in weights.items():
        if tensor.shape != expected[name].shape:
            raise ValueError(
                f"weight {name} has shape {tuple(tensor.shape)}, its model_config needs "
                f"{tuple(expected[name].shape)}"
            )


def _check_optimizer_fits(saved: dict[str, Any], optimizer: Any) -> None:
    """Same number of groups and weights per group; group settings of this optimizer's kind (another kind
    has settings this one lacks and lacks some of this one's: SGD's momentum, AdamW's betas)."""
    live = optimizer.param_groups
    saved_groups = saved["param_groups"]
    sizes = [len(g["params"]) for g in saved_groups]
    if sizes != [len(g["params"]) for g in live]:
        raise ValueError(
            f"its optimizer has weight groups of {sizes}, this run's {[len(g['params']) for g in live]}"
        )
    name = type(optimizer).__name__
    for group, ours in zip(saved_groups, live, strict=True):
        foreign, lacking = set(group) - set(ours), set(ours) - set(group)
        if foreign and lacking:
            raise ValueError(
                f"its optimizer is not {name} (it has {', '.join(sorted(foreign))}; "
                f"no {', '.join(sorted(lacking))})"
            )


def _check_schedule_fits(saved: dict[str, Any], scheduler: Any, groups: int) -> None:
    """Only the settings this schedule has (loading sets each as an attribute), one rate per group."""
    unknown = set(saved) - set(scheduler.state_dict()) - {"verbose"}  # verbose: older torch's
    if unknown:
        raise ValueError(f"its schedule has settings this run's has not: {', '.join(sorted(unknown))}")
    for key in ("base_lrs", "_last_lr"):
        rates = saved.get(key, [0.0] * groups)
        if not (isinstance(rates, list) and len(rates) == groups and all(type(r) is float for r in rates)):
            raise ValueError(f"its schedule's {key} is {_kind(rates)}, not {groups} learning rates")


def _check_moments(optimizer: Any, step: int) -> None:
    """Each weight's optimizer state is shaped like the weight, and the most steps any weight's state
    counts is ``step`` (every optimizer step updates some weight; a weight without a gradient may lag)."""
    counted = []
    for group in optimizer.param_groups:
        for param in group["params"]:
            for key, value in optimizer.state.get(param, {}).items():
                if not isinstance(value, torch.Tensor):
                    continue
                if value.dim() > 0 and value.shape != param.shape:
                    raise ValueError(
                        f"its optimizer's {key} has shape {tuple(value.shape)} for a weight of "
                        f"shape {tuple(param.shape)}"
                    )
                if key == "step" and value.numel() == 1:
                    counted.append(float(value))
    if counted and max(counted) != step:
        raise ValueError(f"its optimizer took {max(counted):.0f} steps, but its step is {step}")
