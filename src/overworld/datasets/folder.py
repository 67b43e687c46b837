"""Any local folder of MIDI files and tracker modules (searched recursively), copied or recorded in place."""

from __future__ import annotations

import shutil
from pathlib import Path

from overworld.datasets.extract import MIDI_SUFFIXES
from overworld.datasets.registry import FetchOptions, Source
from overworld.errors import DataError
from overworld.midi.modules import MODULE_SUFFIXES

__all__ = ["SOURCE", "copy_tree"]


def fetch(out: Path, options: FetchOptions) -> list[Path]:
    if not options.path:
        raise DataError("the folder dataset needs --path DIR")
    root = Path(options.path)
    if not root.is_dir():
        raise DataError(f"{root} is not a folder")
    suffixes = (*MIDI_SUFFIXES, *MODULE_SUFFIXES)
    found = sorted(p for p in root.rglob("*") if p.suffix.lower() in suffixes and p.is_file())
    return copy_tree(found, root, out) if options.copy else found


def copy_tree(files: list[Path], root: Path, out: Path) -> list[Path]:
    """Copy ``files`` (under ``root``) to the same places under ``out``; returns the copies."""
    copies = []
    for p in files:
        target = out / p.relative_to(root)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(p, target)
        copies.append(target)
    return copies


SOURCE = Source(
    name="folder",
    licence="yours",
    homepage="",
    size="any",
    how="--path DIR (searched recursively for .mid/.midi/.kar/.rmi and .mod/.xm/.s3m/.it)",
    fetch=fetch,
)
