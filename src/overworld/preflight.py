"""Checks of the paths a command was given, made before any work (a model load, a progress bar): an input
that is missing or of the wrong kind, an output folder or file that cannot be created or written. Each
failure is one :class:`~overworld.errors.PathError` line naming the path.

Every verb calls these first: ``readable_file(args.primer, "--primer")``, ``writable_folder(args.out)``,
``writable_file(args.out, (".png", ".svg"))``. Nothing is left behind by a check: a folder to be made is
probed by making (and removing) a temporary one beside where it would go.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

from overworld.errors import PathError

__all__ = ["readable_file", "readable_folder", "writable_file", "writable_folder"]

_PROBE = ".overworld-write-check-"


def readable_file(path: str | Path, what: str = "input") -> Path:
    """``path`` if it is a file this process can open for reading; a folder, a missing path or one that
    cannot be opened is a :class:`PathError` naming it."""
    path = Path(path)
    if path.is_dir():
        raise PathError(f"{what} {path} is a folder; a file is needed here")
    if not path.exists():
        raise PathError(f"{what} {path} does not exist")
    if not path.is_file():
        raise PathError(f"{what} {path} is not a regular file")
    try:
        with path.open("rb"):
            pass
    except OSError as exc:
        raise PathError(f"cannot read {what} {path}: {exc.strerror or exc}") from exc
    return path


def readable_folder(path: str | Path, what: str = "folder") -> Path:
    """``path`` if it is a folder whose entries can be listed; else a :class:`PathError` naming it."""
    path = Path(path)
    if not path.exists():
        raise PathError(f"{what} {path} does not exist")
    if not path.is_dir():
        raise PathError(f"{what} {path} is a file; a folder is needed here")
    try:
        next(os.scandir(path), None)
    except OSError as exc:
        raise PathError(f"cannot read {what} {path}: {exc.strerror or exc}") from exc
    return path


def writable_folder(path: str | Path, what: str = "--out") -> Path:
    """``path`` if it is a folder (existing, or one that can be made) where files can be written: a file in
    the way, a read-only or pseudo file system (``/proc``), a folder without permission is a
    :class:`PathError` naming it. Nothing is created."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise PathError(f"{what} {path} is a file; a folder is needed here")
    reason = _unwritable(path)
    if reason:
        raise PathError(f"{what} {path}: {reason}")
    return path


def writable_file(path: str | Path, suffixes: Sequence[str] = (), what: str = "--out") -> Path:
    """``path`` if a file can be written there (its folder exists or can be made, and can be written in;
    it is not a folder) and, where ``suffixes`` are given, it ends in one of them (case-insensitive)."""
    path = Path(path)
    if path.is_dir():
        raise PathError(f"{what} {path} is a folder; a file name is needed here")
    if suffixes and path.suffix.lower() not in suffixes:
        kind = f"{path.suffix!r} files" if path.suffix else "a file without an extension"
        raise PathError(f"{what} {path}: cannot write {kind}; use {', '.join(suffixes)}")
    reason = _unwritable(path.parent)
    if reason:
        raise PathError(f"{what} {path}: {reason}")
    return path


def _unwritable(folder: Path) -> str | None:
    """Why no file can be written in ``folder`` (made first if missing), or None: probed by making and
    removing a temporary file in it, or a temporary folder in its nearest existing parent."""
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        return f"{existing} is a file, not a folder"
    try:
        if existing == folder:
            handle, probe = tempfile.mkstemp(prefix=_PROBE, dir=folder)
            os.close(handle)
            os.unlink(probe)
        else:
            os.rmdir(tempfile.mkdtemp(prefix=_PROBE, dir=existing))
    except OSError as exc:
        where = folder if existing == folder else existing
        doing = "write in" if existing == folder else f"make {folder} in"
        return f"cannot {doing} {where} ({exc.strerror or exc})"
    return None
