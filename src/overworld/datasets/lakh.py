"""The Lakh MIDI Dataset (Raffel 2016), CC-BY 4.0: LMD-full (178,561 files) or LMD-clean (17,256 files
matched to the Million Song Dataset), as the published tar.gz archives.

No SHA-256 or exact byte size is published, so the download is checked for the full length the server
announces (Content-Length, or Content-Range when it resumes with HTTP Range after a break) and the
archive is extracted with overworld's safe extractor (path, link, member-count, size and ratio limits).
LMD-full is the biggest collection overworld knows: 178,561 files in 17 folders, ~5 GiB unpacked, so
this source allows 250,000 members and 8 GiB (the default for other archives is 50,000 and 2 GiB).
"""

from __future__ import annotations

from pathlib import Path

from overworld.datasets.registry import ArchiveLimits, FetchOptions, Source
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
    url = options.url or ARCHIVES[options.subset]
    limits = options.archive_limits(SOURCE.archive_limits)
    return fetch_archive_or_midi(url, out, sha256=options.sha256, limits=limits, progress=options.progress)


SOURCE = Source(
    name="lakh",
    licence="CC-BY-4.0",
    homepage="https://colinraffel.com/projects/lmd/",
    size="full: 178,561 files, 1.7 GB archive; clean: 17,256 files",
    how="download of the published archive (--subset full|clean)",
    fetch=fetch,
    archive_limits=ArchiveLimits(max_members=250_000, max_bytes=8 << 30),
)
