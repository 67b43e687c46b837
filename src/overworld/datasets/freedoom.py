"""Freedoom phase 1 and 2: the music lumps of its two WADs (BSD licence), from Debian's ``freedoom``
package or the upstream release zip."""

from __future__ import annotations

import tempfile
from pathlib import Path

from overworld.datasets.registry import FetchOptions, Source
from overworld.errors import DataError

__all__ = ["SOURCE"]

DEBIAN_DIR = Path("/usr/share/games/doom")
WADS = ("freedoom1.wad", "freedoom2.wad")


def _wads_from_zip(url: str, work: Path) -> list[Path]:
    from overworld.datasets.download import download

    archive = download(url, work / "freedoom.zip")
    import zipfile

    found = []
    with zipfile.ZipFile(archive) as zf:
        for info in zf.infolist():
            base = Path(info.filename).name.lower()
            if base in WADS and info.file_size < 256 << 20:
                target = work / base
                target.write_bytes(zf.read(info))
                found.append(target)
    return found


def fetch(out: Path, options: FetchOptions) -> list[Path]:
    from overworld.midi.wad import read_music_lumps

    with tempfile.TemporaryDirectory() as tmp:
        if options.url:
            wads = _wads_from_zip(options.url, Path(tmp))
        else:
            folder = Path(options.path) if options.path else DEBIAN_DIR
            wads = [folder / w for w in WADS if (folder / w).exists()]
        if not wads:
            raise DataError(
                "no Freedoom WADs found; install them with `sudo apt-get install freedoom` "
                "or pass --url with the release zip"
            )
        files = []
        for wad in wads:
            for lump, data in read_music_lumps(wad):
                target = out / f"{wad.stem}_{lump}.mid"
                target.write_bytes(data)
                files.append(target)
    return files


SOURCE = Source(
    name="freedoom",
    licence="BSD-3-Clause",
    homepage="https://freedoom.github.io/",
    size="67 MIDI lumps, 0.6 MB",
    how="Debian package `freedoom` (WADs in /usr/share/games/doom), or --url of the release zip",
    fetch=fetch,
)
