"""Temporary files for atomic writes (write beside the target, then ``os.replace``) that end up with the
permissions any new file of the user's gets: ``tempfile.mkstemp`` alone makes them private (0600), so a
model folder or checkpoint written that way could not be read by the user's group, a web server or a
shared results folder, whatever the user's umask said."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

__all__ = ["new_file_mode", "temp_file_beside"]


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
