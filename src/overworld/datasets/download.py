"""Verified, resumable downloads: streamed to ``<name>.part``, resumed with HTTP Range, checked for size
and SHA-256, then renamed into place. A truncated or unverifiable transfer never becomes a final file.

Complete means one of: the bytes match the length the server announced (Content-Length, or the total
of a 206's Content-Range), a chunked body ended with its terminating chunk, or a known ``size`` or
``sha256`` matches. A body that simply stops when the connection closes, with none of these, cannot be
told from a cut-off one: it is kept as ``.part``, never used, and the error says so.

Resuming: beside ``<name>.part`` lies ``<name>.part.json`` with the URL and the validator (a strong
ETag, else Last-Modified) the bytes came with. A rerun asks ``Range: bytes=N-`` with ``If-Range`` set to
it; a 206 whose Content-Range starts at N appends, a 200 (the file changed, or the server ignores Range)
starts over, and a 416 is complete if its Content-Range says the file is N bytes, else starts over.
Without a validator (or a ``sha256`` that would catch a mix of two versions) the part is not resumed.

Why not pooch (the usual library for this): ``pooch.retrieve`` also streams to a temporary file and
moves it into place only once its known hash matches, but it cannot resume (a broken transfer's
temporary file is deleted and a retry starts from byte 0; the Lakh archive is 1.7 GB), has no byte cap for
a server that sends more than it promised, and moves a file it has no hash for without checking its
length. What is here and not in pooch: the resumable ``.part``, the length checks, the ``max_bytes``
cap, and no rename of a file that failed a check. It is the standard library only; pooch would add
requests and platformdirs for less. Archive extraction (extract.py) is separate.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import re
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from overworld.errors import DownloadError

__all__ = ["USER_AGENT", "download", "sha256_file"]

USER_AGENT = "overworld/0.1 (MIDI dataset fetcher; +https://pypi.org/project/overworld/)"
_CHUNK = 1 << 16
_RANGE = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+|\*)")
_UNSATISFIED = re.compile(r"bytes\s+\*/(\d+)")


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class _Part:
    """``<dest>.part`` and ``<dest>.part.json``: the bytes so far and what they are a part of."""

    def __init__(self, dest: Path) -> None:
        self.path = dest.with_name(dest.name + ".part")
        self.meta = dest.with_name(dest.name + ".part.json")

    def size(self) -> int:
        return self.path.stat().st_size if self.path.exists() else 0

    def validator(self, url: str) -> str | None:
        try:
            meta = json.loads(self.meta.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(meta, dict) or meta.get("url") != url:
            return None
        etag = meta.get("etag")
        if isinstance(etag, str) and etag and not etag.startswith("W/"):  # If-Range needs a strong one
            return etag
        modified = meta.get("last_modified")
        return modified if isinstance(modified, str) and modified else None

    def remember(self, url: str, headers: Any) -> None:
        record = {"url": url, "etag": headers.get("ETag"), "last_modified": headers.get("Last-Modified")}
        self.meta.write_text(json.dumps(record), encoding="utf-8")

    def discard(self) -> None:
        self.path.unlink(missing_ok=True)
        self.meta.unlink(missing_ok=True)

    def finish(self, dest: Path) -> Path:
        os.replace(self.path, dest)
        self.meta.unlink(missing_ok=True)
        return dest


def _request(url: str, part: _Part, checked: bool, timeout: float) -> tuple[int, Any]:
    """Ask for the rest of ``part`` when its bytes can be tied to what the server sends now (a validator
    for If-Range, or a checksum to check the whole), else for the whole file; return (bytes kept, response)."""
    have, validator = part.size(), part.validator(url)
    headers = {"User-Agent": USER_AGENT}
    if have and (validator or checked):
        headers["Range"] = f"bytes={have}-"
        if validator:
            headers["If-Range"] = validator
    elif have or part.meta.exists():
        part.discard()
        have = 0
    try:
        return have, urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and have:
            return have, exc  # the range starts at or past the end: the response says where the end is
        raise DownloadError(f"{url}: HTTP {exc.code} {exc.reason}") from exc
    except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
        raise DownloadError(f"{url}: {getattr(exc, 'reason', exc)}") from exc


def _stream(
    response: Any,
    part: _Part,
    have: int,
    total: int | None,
    max_bytes: int,
    url: str,
    progress: Callable[[int, int | None], None] | None,
    again: str,
) -> int:
    """Append the body to the part file as it arrives (read1: whatever came, so a stall after N bytes
    keeps and reports N); return the bytes the part file holds."""
    got = have
    with open(part.path, "ab" if have else "wb") as handle:
        try:
            while block := response.read1(_CHUNK):
                got += len(block)
                if got > max_bytes:
                    handle.close()
                    part.discard()
                    raise DownloadError(f"{url}: more than the {max_bytes}-byte limit; stopped")
                handle.write(block)
                if progress:
                    progress(got, total)
        except (OSError, http.client.HTTPException) as exc:  # a timeout, a reset, a chunked body cut short
            reason = str(exc) or type(exc).__name__
            raise DownloadError(
                f"{url}: transfer broke off after {got} bytes ({reason}); they are kept in "
                f"{part.path.name}: {again}"
            ) from exc
        finally:
            if not handle.closed:
                handle.flush()
                os.fsync(handle.fileno())
    return got


def _expected(response: Any) -> tuple[int | None, int | None]:
    """(first byte, whole file's length) from a response's headers; None where they do not say."""
    if response.status == 206:
        found = _RANGE.fullmatch((response.headers.get("Content-Range") or "").strip())
        if not found:
            return None, None
        return int(found[1]), None if found[3] == "*" else int(found[3])
    length = response.headers.get("Content-Length")
    return 0, int(length) if length is not None and length.strip().isdigit() else None


def _fetch_part(
    url: str,
    part: _Part,
    checked: bool,
    max_bytes: int,
    timeout: float,
    progress: Callable[[int, int | None], None] | None,
) -> tuple[int, bool]:
    """Bring the part file to the end of the file; return (its size, whether the transport proved it
    complete). A partial file that cannot be continued is started over, once."""
    for _attempt in range(2):
        have, response = _request(url, part, checked, timeout)
        with response:
            if response.status == 416:
                said = _UNSATISFIED.fullmatch((response.headers.get("Content-Range") or "").strip())
                if said and int(said[1]) == have:
                    return have, True  # all of it was here already
                part.discard()
                continue
            start, total = _expected(response)
            if response.status == 206 and start != have:
                part.discard()  # not the rest of our bytes
                continue
            if response.status != 206:  # a whole file: a new start
                part.discard()
                have = 0
                part.remember(url, response.headers)
            if total is not None and total > max_bytes:
                raise DownloadError(f"{url}: {total} bytes is over the {max_bytes}-byte limit")
            resumable = checked or part.validator(url) is not None
            again = "run again to resume" if resumable else "run again to retry"
            got = _stream(response, part, have, total, max_bytes, url, progress, again)
            if total is not None and got != total:
                raise DownloadError(f"{url}: truncated, got {got} of {total} bytes; {again}")
            return got, total is not None or bool(getattr(response, "chunked", False))
    raise DownloadError(f"{url}: the server answered the resume request inconsistently; run again")


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
    """Fetch ``url`` to ``dest``, resuming a ``.part`` an interrupted run left (see the module's
    docstring); ``progress(bytes_so_far, total_or_None)`` is called as bytes arrive. Raises
    DownloadError with a one-line reason, keeping the part file wherever a rerun can continue it."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = _Part(dest)
    got, complete = _fetch_part(url, part, sha256 is not None, max_bytes, timeout, progress)
    if size is not None and got < size and not complete:
        raise DownloadError(f"{url}: truncated, got {got} of {size} bytes; run again to resume")
    if size is not None and got != size:
        part.discard()
        raise DownloadError(f"{url}: size {got} bytes, expected {size}; the partial file was removed")
    if sha256 is not None:
        actual = sha256_file(part.path)
        if actual != sha256.lower():
            part.discard()
            raise DownloadError(
                f"{url}: SHA-256 {actual[:16]}... does not match the expected {sha256[:16]}..."
            )
    elif not complete and size is None:
        raise DownloadError(
            f"{url}: the server sent neither a length nor a chunked end and no checksum is known, so the "
            f"{got} bytes received may be cut short; kept as {part.path.name}, not used (give the "
            "file's SHA-256 to accept it)"
        )
    return part.finish(dest)
