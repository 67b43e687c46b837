"""The run folder's guards: one training run at a time, no silent replacement of a trained run, and no
temporary files left behind by a checkpoint write that was killed.

``RUN/.lock`` is held with ``flock`` for the whole run and names its owner's pid; the kernel drops the lock
when the process ends, however it ends, so a lock is never stale. A folder that already holds a run
(``model/``, ``latest/`` or ``metrics.csv``) is trained into again only with ``resume`` (go on from
``latest/``) or ``overwrite`` (remove the old run's outputs first).
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from overworld.errors import ConfigError, DataError, OverworldError

__all__ = ["LOCK_NAME", "RunFolderError", "claim_run_folder"]

log = logging.getLogger(__name__)

LOCK_NAME = ".lock"
OUTPUTS = ("model", "latest", "metrics.csv")  # any of these: the folder holds a run
REPLACED = (*OUTPUTS, "tensorboard", "train_config.json")  # what overwrite removes
TEMP_FOLDERS = (".", "latest", "model")  # where the atomic writers leave ``.NAME.XXXX.tmp`` when killed
_BUSY = (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES)


class RunFolderError(OverworldError):
    """The run folder is in use by another run, or holds a run that this one would replace."""


@contextmanager
def claim_run_folder(run_dir: Path, *, resume: bool, overwrite: bool) -> Iterator[None]:
    """Hold ``run_dir`` for one training run, released on exit: lock it, refuse to replace a run in it
    unless ``resume`` or ``overwrite``, remove what ``overwrite`` replaces and stale temporary files."""
    if resume and overwrite:
        raise ConfigError("--resume and --overwrite contradict each other: pick one")
    if resume and not run_dir.is_dir():
        raise DataError(f"no run at {run_dir} to resume; start without --resume")
    run_dir.mkdir(parents=True, exist_ok=True)
    handle = _lock(run_dir)
    try:
        _check_outputs(run_dir, resume, overwrite)
        _remove_stale_temps(run_dir)
        yield
    finally:
        if handle is not None:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
            handle.close()


def _lock(run_dir: Path) -> TextIO | None:
    """``RUN/.lock``, flock'd and holding this pid; None where the file system cannot lock (a warning)."""
    path = run_dir / LOCK_NAME
    handle = os.fdopen(os.open(path, os.O_RDWR | os.O_CREAT, 0o644), "r+", encoding="ascii")
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        handle.close()
        if exc.errno in _BUSY:
            raise RunFolderError(
                f"{run_dir} is in use by another training run (pid {_owner(path)}); "
                "wait for it to finish or choose another --out"
            ) from exc
        log.warning("cannot lock %s (%s); nothing stops a second run from using it", path, exc.strerror)
        return None
    handle.seek(0)
    handle.truncate()
    handle.write(f"{os.getpid()}\n")
    handle.flush()
    return handle


def _owner(path: Path) -> str:
    """The pid the lock file names ("unknown" while its owner is still writing it)."""
    try:
        text = path.read_text(encoding="ascii").strip()
    except OSError:
        return "unknown"
    return text if text.isdigit() else "unknown"


def _check_outputs(run_dir: Path, resume: bool, overwrite: bool) -> None:
    found = [name for name in OUTPUTS if (run_dir / name).exists()]
    if not found or resume:
        return
    if not overwrite:
        raise RunFolderError(
            f"{run_dir} already holds a training run ({', '.join(found)}); "
            "add --resume to continue it or --overwrite to replace it"
        )
    for name in REPLACED:
        path = run_dir / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif path.exists() or path.is_symlink():
            path.unlink()
    log.info("--overwrite: removed the previous run's %s from %s", ", ".join(found), run_dir)


def _remove_stale_temps(run_dir: Path) -> None:
    """Temporary files of writes that never finished (a SIGKILL mid-save); no writer is live: we hold
    the lock."""
    stale = [
        path
        for folder in TEMP_FOLDERS
        if (run_dir / folder).is_dir()
        for path in (run_dir / folder).glob(".*.tmp")
        if path.is_file()
    ]
    for path in stale:
        path.unlink(missing_ok=True)
    if stale:
        log.info("removed %d temporary file(s) an interrupted save left in %s", len(stale), run_dir)
