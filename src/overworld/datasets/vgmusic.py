"""A polite scraper of VGMusic.com, console by console.

Polite: robots.txt is read first and honoured for every address, one request at a time with ``delay``
seconds between them, a User-Agent that names overworld. Resumable: files already in the folder are
skipped without a request. Deduplicated: a file whose content hash matches one already kept is dropped.
"""

from __future__ import annotations

import hashlib
import html.parser
import http.client
import logging
import time
import urllib.parse
import urllib.request
import urllib.robotparser
from collections.abc import Callable
from pathlib import Path

from overworld.datasets.registry import FetchOptions, Progress, Source
from overworld.errors import DataError, DownloadError

__all__ = ["CONSOLES", "SOURCE", "scrape"]

log = logging.getLogger(__name__)

BASE_URL = "https://www.vgmusic.com/"
CONSOLES = {
    "nes": "music/console/nintendo/nes/",
    "snes": "music/console/nintendo/snes/",
    "gameboy": "music/console/nintendo/gameboy/",
    "n64": "music/console/nintendo/n64/",
    "genesis": "music/console/sega/genesis/",
    "master-system": "music/console/sega/master/",
    "pc-engine": "music/console/nec/tg16/",
}


class _Links(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            href = dict(attrs).get("href")
            if href and href.lower().endswith((".mid", ".midi")):
                self.links.append(href)


class _Client:
    def __init__(self, base: str, delay: float) -> None:
        from overworld.datasets.download import USER_AGENT

        self.agent = USER_AGENT
        self.delay = delay
        self.last = 0.0
        self.robots = urllib.robotparser.RobotFileParser(urllib.parse.urljoin(base, "robots.txt"))
        try:
            self.robots.parse(
                self.get(urllib.parse.urljoin(base, "robots.txt")).decode("utf-8", "replace").splitlines()
            )
        except DownloadError:
            self.robots.parse([])  # no robots.txt: everything allowed

    def allowed(self, url: str) -> bool:
        return self.robots.can_fetch(self.agent, url)

    def get(self, url: str, *, whole: bool = False) -> bytes:
        """The body of ``url``; with ``whole``, only one shown complete by its Content-Length or its
        chunked end (a body that just stops when the connection closes may be cut short)."""
        wait = self.last + self.delay - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        self.last = time.monotonic()
        request = urllib.request.Request(url, headers={"User-Agent": self.agent})
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                data = response.read()  # raises IncompleteRead when a length or chunk is cut short
                length = response.headers.get("Content-Length")
                chunked = bool(getattr(response, "chunked", False))
        except (OSError, http.client.HTTPException) as exc:
            raise DownloadError(f"{url}: {getattr(exc, 'reason', exc)}") from exc
        if length is not None and len(data) != int(length):
            raise DownloadError(f"{url}: truncated, got {len(data)} of {length} bytes")
        if whole and length is None and not chunked:
            raise DownloadError(
                f"{url}: no Content-Length and no chunked end, so it may be cut short; skipped"
            )
        return data


def _fetch_one(client: _Client, url: str, target: Path, seen: set[str]) -> bool:
    """Fetch one file into ``target`` unless it is there, disallowed, broken or a duplicate; True if new."""
    if target.exists():
        return False  # resume: present already
    if not client.allowed(url):
        log.info("robots.txt disallows %s; skipped", url)
        return False
    try:
        data = client.get(url, whole=True)
    except DownloadError as exc:
        log.warning("%s", exc)
        return False
    digest = hashlib.sha256(data).hexdigest()
    if digest in seen:
        return False  # the same file under another name
    seen.add(digest)
    part = target.with_name(target.name + ".part")
    part.write_bytes(data)
    part.replace(target)
    return True


def scrape(
    out: Path,
    *,
    base_url: str = BASE_URL,
    consoles: tuple[str, ...] = (),
    delay: float = 2.0,
    limit: int = 0,
    progress: Callable[[Progress], None] | None = None,
) -> list[Path]:
    """Scrape ``consoles`` (keys of CONSOLES, or site paths) into ``out/<console>/``; return all files.
    ``progress`` hears, per console, how many of its index's links have been gone through."""
    client = _Client(base_url, delay)
    seen = {hashlib.sha256(p.read_bytes()).hexdigest() for p in out.rglob("*.mid")}
    files: list[Path] = sorted(out.rglob("*.mid"))
    new = 0
    for console in consoles or tuple(CONSOLES):
        index_url = urllib.parse.urljoin(base_url, CONSOLES.get(console, console))
        if not client.allowed(index_url):
            log.info("robots.txt disallows %s; skipped", index_url)
            continue
        parser = _Links()
        parser.feed(client.get(index_url).decode("utf-8", "replace"))
        folder = out / console.strip("/").replace("/", "_")
        folder.mkdir(parents=True, exist_ok=True)
        for done, href in enumerate(parser.links, start=1):
            url = urllib.parse.urljoin(index_url, href)
            target = folder / Path(urllib.parse.urlparse(url).path).name
            if _fetch_one(client, url, target, seen):
                files.append(target)
                new += 1
            if progress:
                progress(Progress(f"vgmusic {console}", done, len(parser.links), "file"))
            if limit and new >= limit:
                return files
    return files


def fetch(out: Path, options: FetchOptions) -> list[Path]:
    unknown = [c for c in options.consoles if c not in CONSOLES and "/" not in c]
    if unknown:
        raise DataError(f"unknown console {unknown[0]!r}; known: {', '.join(CONSOLES)} (or a site path)")
    return scrape(
        out,
        base_url=options.url or BASE_URL,
        consoles=options.consoles,
        delay=options.delay,
        limit=options.limit,
        progress=options.progress,
    )


SOURCE = Source(
    name="vgmusic",
    licence="per file (fan transcriptions; check before redistributing)",
    homepage="https://www.vgmusic.com/",
    size="about 30,000 files over all consoles",
    how="polite scraping (robots.txt, --delay between requests, resumable); --console nes ...",
    fetch=fetch,
)
