"""Folders written whole or not at all: a piece is written into a hidden staging folder beside its target
and renamed into place once every file is there, so a failing run leaves the old folder as it was and
nothing half-written; a folder already there is replaced only when asked (``overwrite``).

:func:`check_out_folder` finds an unwritable output folder (a file, ``/proc/...``, a read-only disk) and a
used target before any work is done; :class:`Staging` does the writing and the swap.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

from overworld.errors import ConfigError

__all__ = ["Staging", "check_out_folder", "staged"]


def _nearest_existing(path: Path) -> Path:
    for folder in (path, *path.parents):
        if folder.exists():
            return folder
    return Path(".")


def check_out_folder(out: str | Path, names: Sequence[str] = (), *, overwrite: bool = False) -> Path:
    """``out`` as a Path once it is known to be writable (a folder there, or one that can be made) and
    none of ``names`` in it is a folder already there (unless ``overwrite``); else a one-line
    :class:`ConfigError`. Creates nothing: a probe folder is made and removed."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out} is a file, not a folder")
    base = _nearest_existing(out)
    if not base.is_dir():
        raise ConfigError(f"--out {out}: {base} is a file, not a folder")
    try:
        os.rmdir(tempfile.mkdtemp(prefix=".overworld-probe-", dir=base))
    except OSError as exc:
        raise ConfigError(f"--out {out} is not writable: {exc.strerror or exc}") from None
    for name in names:
        target = out / name
        if target.exists() and not overwrite:
            raise ConfigError(
                f"{target} already exists; pass --overwrite to replace it, or choose another --out"
            )
        if target.exists() and not target.is_dir():
            raise ConfigError(f"{target} is a file, not a folder")
    return out


class Staging:
    """Staging folders for several targets, swapped in together by :meth:`commit` (or all removed)::

    with Staging() as staging:
        write_files(staging.folder(target))   # a hidden folder beside target
        staging.commit()                      # each target replaced by its folder
    """

    def __init__(self) -> None:
        self._pending: dict[Path, Path] = {}  # target -> staging folder

    def folder(self, target: str | Path) -> Path:
        """A fresh, empty hidden folder beside ``target`` (on its filesystem, so the rename is atomic)."""
        target = Path(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        staged = Path(tempfile.mkdtemp(prefix=f".{target.name}.partial-", dir=target.parent))
        self._pending[target] = staged
        return staged

    def commit(self) -> list[Path]:
        """Move every staged folder into place: an old target is renamed aside first and removed once the
        new one is in; returns the targets."""
        done = []
        for target, staged in list(self._pending.items()):
            old = None
            if target.exists():
                old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
                os.rmdir(old)
                os.rename(target, old)
            try:
                os.rename(staged, target)
            except OSError:
                if old is not None:
                    os.rename(old, target)
                raise
            del self._pending[target]
            if old is not None:
                shutil.rmtree(old, ignore_errors=True)
            done.append(target)
        return done

    def discard(self) -> None:
        """Remove every staged folder not yet committed."""
        for staged in self._pending.values():
            shutil.rmtree(staged, ignore_errors=True)
        self._pending.clear()

    def __enter__(self) -> Staging:
        return self

    def __exit__(self, *exc: object) -> None:
        self.discard()


@contextlib.contextmanager
def staged(target: str | Path) -> Iterator[Path]:
    """One folder: yields its staging folder, swapped in when the block ends without an error."""
    with Staging() as staging:
        folder = staging.folder(target)
        yield folder
        staging.commit()
