"""Verified, resumable downloads: streamed to ``<name>.part``, resumed with HTTP Range, checked for size
and SHA-256, then renamed into place. A truncated transfer never becomes a final file.

Why not pooch (the usual library for this): ``pooch.retrieve`` also streams to a temporary file and
moves it into place only once its known hash matches, but it cannot resume (a broken transfer's
temporary file is deleted and a retry starts from byte 0; the Lakh archive is 1.7 GB), has no byte cap for
a server that sends more than it promised, and moves a file it has no hash for without checking its
length against Content-Length. What is here and not in pooch: the ``.part`` kept across runs and resumed
with ``Range`` (a server that ignores Range restarts it), the Content-Length and ``size`` checks, the
``max_bytes`` cap, and no rename of a file that failed a check. It is ~80 lines of the standard library;
pooch would add requests and platformdirs for less. Archive extraction (extract.py) is separate.
"""

from __future__ import annotations

import hashlib
import os
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from overworld.errors import DownloadError

__all__ = ["USER_AGENT", "download", "sha256_file"]

USER_AGENT = "overworld/0.1 (MIDI dataset fetcher; +https://pypi.org/project/overworld/)"
_CHUNK = 1 << 16


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def download(
    url: str,
    dest: str | Path,
    *,
    sha256: str | None = None,
    size: int | None = None,
    max_bytes: int = 8 << 30,
    timeout: float = 60.0,
    progress: Callable[[int, int | None], None] | None = None,
) -> Path:
    """Fetch ``url`` to ``dest``. A ``.part`` file left by an interrupted run is resumed (Range request);
    a server that ignores Range restarts the file. Raises DownloadError with a one-line reason."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    have = part.stat().st_size if part.exists() else 0
    headers = {"User-Agent": USER_AGENT}
    if have:
        headers["Range"] = f"bytes={have}-"
    request = urllib.request.Request(url, headers=headers)
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and have:  # nothing left to fetch
            response = None
        else:
            raise DownloadError(f"{url}: HTTP {exc.code} {exc.reason}") from exc
    except (urllib.error.URLError, OSError) as exc:
        raise DownloadError(f"{url}: {getattr(exc, 'reason', exc)}") from exc
    if response is not None:
        with response:
            resumed = response.status == 206
            if not resumed:
                have = 0
            length = response.headers.get("Content-Length")
            expected_total = have + int(length) if length is not None else size
            if expected_total is not None and expected_total > max_bytes:
                raise DownloadError(f"{url}: {expected_total} bytes is over the {max_bytes}-byte limit")
            got = have
            with open(part, "ab" if resumed else "wb") as handle:
                try:
                    while block := response.read(_CHUNK):
                        got += len(block)
                        if got > max_bytes:
                            raise DownloadError(f"{url}: more than the {max_bytes}-byte limit")
                        handle.write(block)
                        if progress:
                            progress(got, expected_total)
                except (OSError, urllib.error.URLError) as exc:
                    raise DownloadError(
                        f"{url}: transfer broke off after {got} bytes ({exc}); run again to resume"
                    ) from exc
                handle.flush()
                os.fsync(handle.fileno())
            if length is not None and got != have + int(length):
                raise DownloadError(
                    f"{url}: truncated, got {got} of {have + int(length)} bytes; run again to resume"
                )
    got = part.stat().st_size
    if size is not None and got != size:
        part.unlink()
        raise DownloadError(f"{url}: size {got} bytes, expected {size}; the partial file was removed")
    if sha256 is not None:
        actual = sha256_file(part)
        if actual != sha256.lower():
            part.unlink()
            raise DownloadError(
                f"{url}: SHA-256 {actual[:16]}... does not match the expected {sha256[:16]}..."
            )
    os.replace(part, dest)
    return dest
