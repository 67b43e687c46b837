"""Any URL of a .mid file or a .zip / .tar.gz of them."""

from __future__ import annotations

import logging
import urllib.parse
from collections.abc import Callable
from pathlib import Path

from overworld.datasets.registry import ArchiveLimits, FetchOptions, Progress, Source
from overworld.errors import DataError

__all__ = ["SOURCE", "fetch_archive_or_midi"]

log = logging.getLogger(__name__)


def _reporter(
    progress: Callable[[Progress], None] | None, task: str, unit: str
) -> Callable[[int, int | None], None] | None:
    if progress is None:
        return None
    return lambda done, total: progress(Progress(task, done, total, unit))


def fetch_archive_or_midi(
    url: str,
    out: Path,
    *,
    sha256: str | None = None,
    size: int | None = None,
    limits: ArchiveLimits | None = None,
    progress: Callable[[Progress], None] | None = None,
) -> list[Path]:
    """Download ``url``; a MIDI file is kept as is, an archive has its MIDI members extracted safely.

    The archive is downloaded to ``out/<name>`` (``.part`` until it is whole, resumed by the next run)
    and removed once extracted. When it is past the ``limits`` (or the run is stopped) it stays, so a
    rerun with higher limits does not download it again; an unsafe or damaged one is removed."""
    from overworld.datasets.download import download, sha256_file
    from overworld.datasets.extract import MIDI_SUFFIXES, ArchiveRefused, extract_midi
    from overworld.errors import DownloadError

    name = Path(urllib.parse.urlparse(url).path).name or "download"
    fetched = _reporter(progress, name, "B")
    if Path(name).suffix.lower() in MIDI_SUFFIXES:
        return [download(url, out / name, sha256=sha256, size=size, progress=fetched)]
    archive = out / name
    if archive.exists() and (sha256 is None or sha256_file(archive) == sha256.lower()):
        log.info("%s: using %s, downloaded by an earlier run", url, archive)
    else:
        archive.unlink(missing_ok=True)
        download(url, archive, sha256=sha256, size=size, progress=fetched)
    try:
        files = extract_midi(
            archive, out, limits=limits, progress=_reporter(progress, f"extracting {name}", "file")
        )
    except ArchiveRefused as exc:
        raise ArchiveRefused(
            f"{exc} ({archive} is kept: a rerun with higher limits, --max-archive-gib or "
            "--max-archive-members, uses it)"
        ) from exc
    except DownloadError:  # unsafe or damaged: a rerun should download it afresh
        archive.unlink(missing_ok=True)
        raise
    archive.unlink()
    return files


def fetch(out: Path, options: FetchOptions) -> list[Path]:
    if not options.url:
        raise DataError("the url dataset needs --url (a .mid, .zip or .tar.gz address)")
    limits = options.archive_limits(SOURCE.archive_limits)
    return fetch_archive_or_midi(
        options.url, out, sha256=options.sha256, limits=limits, progress=options.progress
    )


SOURCE = Source(
    name="url",
    licence="whatever the source says",
    homepage="",
    size="any",
    how="--url of a .mid, .zip or .tar.gz",
    fetch=fetch,
)
