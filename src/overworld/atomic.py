"""Temporary files for atomic writes (write beside the target, then ``os.replace``) that end up with the
permissions any new file of the user's gets: ``tempfile.mkstemp`` alone makes them private (0600), so a
model folder or checkpoint written that way could not be read by the user's group, a web server or a
shared results folder, whatever the user's umask said.

:func:`write_atomically` is the whole pattern: a full disk, a read-only folder or a denied permission
leaves nothing behind (no half file, no ``.tmp``), and is one :class:`~overworld.errors.PathError` line
naming the file."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from overworld.errors import PathError, one_line

__all__ = ["new_file_mode", "temp_file_beside", "write_atomically"]


def new_file_mode() -> int:
    """The mode ``open()`` gives a new file: 0666 less the process's umask (read by setting it back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


def temp_file_beside(path: Path) -> tuple[int, Path]:
    """An open descriptor and the path of a new file ``.NAME.XXXX.tmp`` beside ``path``, with the mode of
    :func:`new_file_mode`; the caller closes it and moves it onto ``path`` (or removes it)."""
    handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.chmod(temp, new_file_mode())
    except BaseException:
        os.close(handle)
        os.unlink(temp)
        raise
    return handle, Path(temp)


def write_atomically(
    path: str | Path, write: Callable[[Path], Any], errors: tuple[type[BaseException], ...] = ()
) -> Path:
    """Call ``write(temp)`` for a new file beside ``path``, then move it onto ``path``; returns ``path``.

    On any failure the temporary file is removed and ``path`` is untouched; an ``OSError`` (a full disk,
    a read-only folder, a denied permission), or one of ``errors`` (a library's own error for the same,
    e.g. soundfile's "System error."), is a :class:`PathError` naming ``path``."""
    path = Path(path)
    try:
        handle, temp = temp_file_beside(path)
    except OSError as exc:
        raise PathError(f"cannot write {path}: {_reason(path, exc)}") from exc
    os.close(handle)
    try:
        write(temp)
        os.chmod(temp, new_file_mode())  # again: a writer may have made the file anew (safetensors: 0600)
        os.replace(temp, path)
    except (OSError, *errors) as exc:
        temp.unlink(missing_ok=True)
        raise PathError(f"cannot write {path}: {_reason(path, exc)}") from exc
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return path


def _reason(path: Path, exc: BaseException) -> str:
    """The OS's reason, or where a library hides it ("System error."), a full disk when the folder has
    (next to) no room left."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    try:
        stats = os.statvfs(path.parent)
        if stats.f_bavail * stats.f_frsize < 1 << 20:
            return f"no space left on the device ({one_line(exc)})"
    except OSError:
        pass
    return one_line(exc)
