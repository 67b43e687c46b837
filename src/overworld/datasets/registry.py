"""The dataset registry: one module per source, each describing itself and knowing how to fetch."""

from __future__ import annotations

import datetime as _dt
import importlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from overworld.errors import ConfigError, DataError

__all__ = [
    "SOURCES",
    "ArchiveLimits",
    "FetchOptions",
    "Progress",
    "Source",
    "fetch",
    "get_source",
    "sources",
    "write_dataset_json",
]

SOURCES = ("freedoom", "openmsx", "lakh", "vgmusic", "music21", "tracker", "url", "folder")


@dataclass(frozen=True)
class ArchiveLimits:
    """What an archive may unpack to before extraction stops and refuses it (extract.py).

    The defaults hold any game-music collection: VGMusic, the largest, is ~30,000 files, and MIDI files
    are tens of KB (Lakh's average is ~30 KB), so 50,000 members and 2 GiB leave room to spare while a
    100,000-member zip or a multi-GiB bomb is refused. A source that knows it is bigger declares its own
    (lakh: 250,000 and 8 GiB). MIDI compresses ~3-5:1 (gzip); a member, or the archive as a whole, that
    expands more than ``max_ratio``:1 past ``ratio_floor`` bytes is a decompression bomb, not music.
    """

    max_members: int = 50_000  # entries of any kind, folders included
    max_bytes: int = 2 << 30  # what extraction decompresses: MIDI members of a zip, everything of a tar
    max_ratio: float = 100.0  # expanded : compressed, per member and for the whole archive
    ratio_floor: int = 4 << 20  # ratios are judged only past this many expanded bytes

    def __post_init__(self) -> None:
        for name in ("max_members", "max_bytes", "max_ratio", "ratio_floor"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or isinstance(value, bool) or not value > 0:
                raise ConfigError(f"archive limit {name} must be a positive number, not {value!r}")


@dataclass(frozen=True)
class Progress:
    """One report of a fetch's progress: ``done`` of ``total`` (None: not known yet) in ``unit``."""

    task: str  # what is being done: "lmd_full.tar.gz", "extracting lmd_full.tar.gz", "vgmusic nes"
    done: int
    total: int | None
    unit: str  # "B" (bytes of a download) or "file" (a crawl, an extraction)


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
    sha256: str | None = None  # url: the file's known SHA-256, checked before it is kept
    max_archive_bytes: int | None = None  # archives: raise (or lower) the source's ArchiveLimits
    max_archive_members: int | None = None
    # called with a Progress as bytes arrive and files are written; the library itself never prints
    progress: Callable[[Progress], None] | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.sha256 is not None and not (
            len(self.sha256) == 64 and all(c in "0123456789abcdefABCDEF" for c in self.sha256)
        ):
            raise ConfigError(f"a SHA-256 is 64 hexadecimal digits, not {self.sha256!r}")
        self.archive_limits(ArchiveLimits())  # the same one-line error for a bad limit, now

    def archive_limits(self, default: ArchiveLimits) -> ArchiveLimits:
        """The source's ``default`` limits with the ones given here in place of its own."""
        given = {"max_bytes": self.max_archive_bytes, "max_members": self.max_archive_members}
        return replace(default, **{k: v for k, v in given.items() if v is not None})


@dataclass(frozen=True)
class Source:
    name: str
    licence: str
    homepage: str
    size: str
    how: str
    fetch: Callable[[Path, FetchOptions], list[Path]] = field(repr=False)
    archive_limits: ArchiveLimits = ArchiveLimits()  # what its archives may unpack to
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
