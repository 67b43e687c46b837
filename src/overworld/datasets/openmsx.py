"""OpenTTD's OpenMSX soundtrack (GPL-2.0), from Debian's ``openttd-openmsx`` or the upstream archive."""

from __future__ import annotations

import shutil
from pathlib import Path

from overworld.datasets.registry import FetchOptions, Source
from overworld.errors import DataError

__all__ = ["SOURCE"]

DEBIAN_DIR = Path("/usr/share/games/openttd/baseset/openmsx")


def fetch(out: Path, options: FetchOptions) -> list[Path]:
    if options.url:
        from overworld.datasets.url import fetch_archive_or_midi

        return fetch_archive_or_midi(options.url, out)
    folder = Path(options.path) if options.path else DEBIAN_DIR
    mids = sorted(folder.glob("*.mid"))
    if not mids:
        raise DataError(
            f"no OpenMSX files in {folder}; install them with `sudo apt-get install openttd-openmsx` "
            "or pass --url with the release archive"
        )
    files = []
    for mid in mids:
        shutil.copyfile(mid, out / mid.name)
        files.append(out / mid.name)
    return files


SOURCE = Source(
    name="openmsx",
    licence="GPL-2.0",
    homepage="https://github.com/OpenTTD/OpenMSX",
    size="31 MIDI files, 0.5 MB",
    how="Debian package `openttd-openmsx`, or --url of the release archive",
    fetch=fetch,
)
