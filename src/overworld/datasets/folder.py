"""Any local folder of MIDI files (searched recursively), copied or recorded in place."""

from __future__ import annotations

import shutil
from pathlib import Path

from overworld.datasets.extract import MIDI_SUFFIXES
from overworld.datasets.registry import FetchOptions, Source
from overworld.errors import DataError

__all__ = ["SOURCE"]


def fetch(out: Path, options: FetchOptions) -> list[Path]:
    if not options.path:
        raise DataError("the folder dataset needs --path DIR")
    root = Path(options.path)
    if not root.is_dir():
        raise DataError(f"{root} is not a folder")
    found = sorted(p for p in root.rglob("*") if p.suffix.lower() in MIDI_SUFFIXES and p.is_file())
    if not options.copy:
        return found
    files = []
    for p in found:
        target = out / p.relative_to(root)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(p, target)
        files.append(target)
    return files


SOURCE = Source(
    name="folder",
    licence="yours",
    homepage="",
    size="any",
    how="--path DIR (searched recursively for .mid/.midi/.kar/.rmi)",
    fetch=fetch,
)
