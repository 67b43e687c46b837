"""The dataset registry: one module per source, each describing itself and knowing how to fetch."""

from __future__ import annotations

import datetime as _dt
import importlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from overworld.errors import DataError

__all__ = ["SOURCES", "FetchOptions", "Source", "fetch", "get_source", "sources", "write_dataset_json"]

SOURCES = ("freedoom", "openmsx", "lakh", "vgmusic", "music21", "tracker", "url", "folder")


@dataclass(frozen=True)
class FetchOptions:
    """What a fetch may need besides the target folder; each source reads the fields it uses."""

    url: str | None = None  # url: the address; freedoom/openmsx/lakh: an upstream archive instead
    path: str | None = None  # folder: the directory; freedoom/openmsx: another install location
    subset: str = "clean"  # lakh: "clean" or "full"
    consoles: tuple[str, ...] = ()  # vgmusic: console folders to scrape (e.g. "nes"); empty: all
    delay: float = 2.0  # vgmusic: seconds between requests
    limit: int = 0  # vgmusic, music21: stop after this many files; 0: no limit
    collections: tuple[str, ...] = ()  # music21: corpus collections (e.g. "bach"); empty: the default
    copy: bool = True  # folder: copy the files (True) or only record them in dataset.json (False)


@dataclass(frozen=True)
class Source:
    name: str
    licence: str
    homepage: str
    size: str
    how: str
    fetch: Callable[[Path, FetchOptions], list[Path]] = field(repr=False)
    # (out, file) -> extra fields of that file's entry in dataset.json (a per-file licence...), if any
    file_info: Callable[[Path, Path], dict[str, Any]] | None = field(default=None, repr=False)


def get_source(name: str) -> Source:
    if name not in SOURCES:
        raise DataError(f"unknown dataset {name!r}; `overworld datasets` lists them: {', '.join(SOURCES)}")
    return importlib.import_module(f"overworld.datasets.{name}").SOURCE


def sources() -> list[Source]:
    return [get_source(name) for name in SOURCES]


def write_dataset_json(
    out: Path, source: Source, files: list[Path], extra: dict[str, Any] | None = None
) -> Path:
    """Record where a dataset folder came from: name, licence, homepage, date, and every file's hash."""
    from overworld.datasets.download import sha256_file

    entries = []
    for f in sorted(files):
        try:
            entries.append(
                {"path": str(f.relative_to(out)), "sha256": sha256_file(f), "bytes": f.stat().st_size}
            )
        except ValueError:  # recorded in place, outside the folder
            entries.append({"path": str(f), "sha256": sha256_file(f), "bytes": f.stat().st_size})
        if source.file_info is not None:
            entries[-1].update(source.file_info(out, f))
    record = {
        "name": source.name,
        "source": source.name,
        "licence": source.licence,
        "homepage": source.homepage,
        "fetched": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        **(extra or {}),
        "files": entries,
    }
    path = out / "dataset.json"
    path.write_text(json.dumps(record, indent=1), encoding="utf-8")
    return path


def fetch(name: str, out: str | Path, options: FetchOptions = FetchOptions()) -> list[Path]:
    """Fetch dataset ``name`` into ``out`` and write its ``dataset.json``; return the MIDI files."""
    source = get_source(name)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    files = source.fetch(out, options)
    write_dataset_json(out, source, files, {"url": options.url} if options.url else None)
    return files
