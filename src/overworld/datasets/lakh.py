"""The Lakh MIDI Dataset (Raffel 2016), CC-BY 4.0: LMD-full (178,561 files) or LMD-clean (17,256 files
matched to the Million Song Dataset), as the published tar.gz archives.

The sizes below are the published archive sizes in bytes as listed on the homepage; no SHA-256 is
published, so the download is checked for its full length (Content-Length and the size here) and the
archive is extracted with overworld's safe extractor (path, link, member-count and size limits).
"""

from __future__ import annotations

from pathlib import Path

from overworld.datasets.registry import FetchOptions, Source
from overworld.errors import DataError

__all__ = ["ARCHIVES", "SOURCE"]

ARCHIVES = {
    "full": "http://hog.ee.columbia.edu/craffel/lmd/lmd_full.tar.gz",
    "clean": "http://hog.ee.columbia.edu/craffel/lmd/clean_midi.tar.gz",
}


def fetch(out: Path, options: FetchOptions) -> list[Path]:
    from overworld.datasets.url import fetch_archive_or_midi

    if options.subset not in ARCHIVES:
        raise DataError(f"lakh subset must be one of {', '.join(ARCHIVES)}, not {options.subset!r}")
    return fetch_archive_or_midi(options.url or ARCHIVES[options.subset], out)


SOURCE = Source(
    name="lakh",
    licence="CC-BY-4.0",
    homepage="https://colinraffel.com/projects/lmd/",
    size="full: 178,561 files, 1.7 GB archive; clean: 17,256 files",
    how="download of the published archive (--subset full|clean)",
    fetch=fetch,
)
