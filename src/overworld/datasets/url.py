"""Any URL of a .mid file or a .zip / .tar.gz of them."""

from __future__ import annotations

import tempfile
import urllib.parse
from pathlib import Path

from overworld.datasets.registry import FetchOptions, Source
from overworld.errors import DataError

__all__ = ["SOURCE", "fetch_archive_or_midi"]


def fetch_archive_or_midi(
    url: str, out: Path, *, sha256: str | None = None, size: int | None = None
) -> list[Path]:
    """Download ``url``; a MIDI file is kept as is, an archive has its MIDI members extracted safely."""
    from overworld.datasets.download import download
    from overworld.datasets.extract import MIDI_SUFFIXES, extract_midi

    name = Path(urllib.parse.urlparse(url).path).name or "download"
    if Path(name).suffix.lower() in MIDI_SUFFIXES:
        return [download(url, out / name, sha256=sha256, size=size)]
    with tempfile.TemporaryDirectory(dir=out) as tmp:
        archive = download(url, Path(tmp) / name, sha256=sha256, size=size)
        return extract_midi(archive, out)


def fetch(out: Path, options: FetchOptions) -> list[Path]:
    if not options.url:
        raise DataError("the url dataset needs --url (a .mid, .zip or .tar.gz address)")
    return fetch_archive_or_midi(options.url, out)


SOURCE = Source(
    name="url",
    licence="whatever the source says",
    homepage="",
    size="any",
    how="--url of a .mid, .zip or .tar.gz",
    fetch=fetch,
)
