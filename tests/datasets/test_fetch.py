"""Fetching against a local HTTP server started here: downloads, resume, truncation, malicious archives,
a fake VGMusic site; and the Debian-packaged soundtracks."""

from __future__ import annotations

import hashlib
import http.server
import io
import json
import tarfile
import threading
import zipfile
from pathlib import Path

import pytest

from overworld.cli import main
from overworld.datasets import FetchOptions, fetch
from overworld.datasets.download import download
from overworld.datasets.extract import extract_midi
from overworld.errors import DataError, DownloadError

MID = b"MThd\x00\x00\x00\x06\x00\x00\x00\x01\x01\xe0MTrk\x00\x00\x00\x0c\x00\x90\x3c\x40\x60\x80\x3c\x00\x00\xff\x2f\x00"


class Site:
    """Serves ``routes`` {path: bytes}; honours Range; ``truncate`` paths send half and close."""

    def __init__(self) -> None:
        self.routes: dict[str, bytes] = {}
        self.truncate: set[str] = set()
        self.requests: list[str] = []
        site = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_GET(self):
                site.requests.append(self.path)
                body = site.routes.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                start = 0
                rng = self.headers.get("Range")
                if rng:
                    start = int(rng.split("=")[1].split("-")[0])
                    self.send_response(206)
                else:
                    self.send_response(200)
                part = body[start:]
                self.send_header("Content-Length", str(len(part)))
                self.end_headers()
                if self.path in site.truncate:
                    self.wfile.write(part[: len(part) // 2])
                    self.wfile.flush()
                    self.connection.shutdown(2)
                    return
                self.wfile.write(part)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def site():
    s = Site()
    yield s
    s.server.shutdown()


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def _tar(add) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        add(tf)
    return buf.getvalue()


def test_url_fetches_a_midi_and_an_archive(site, tmp_path):
    site.routes["/song.mid"] = MID
    site.routes["/pack.zip"] = _zip({"a/one.mid": MID, "a/readme.txt": b"hi", "two.MID": MID + b"\0"})
    assert [p.name for p in fetch("url", tmp_path / "a", FetchOptions(url=site.url + "song.mid"))] == [
        "song.mid"
    ]
    files = fetch("url", tmp_path / "b", FetchOptions(url=site.url + "pack.zip"))
    assert sorted(p.name for p in files) == ["one.mid", "two.MID"]
    record = json.loads((tmp_path / "b" / "dataset.json").read_text())
    assert record["source"] == "url" and len(record["files"]) == 2
    assert record["files"][0]["sha256"] == hashlib.sha256(MID).hexdigest()


def test_truncated_download_is_an_error_and_resumes_with_range(site, tmp_path):
    data = bytes(range(256)) * 400
    site.routes["/big.bin"] = data
    site.truncate.add("/big.bin")
    with pytest.raises(DownloadError, match=r"truncated|broke off"):
        download(site.url + "big.bin", tmp_path / "big.bin")
    assert not (tmp_path / "big.bin").exists()  # never a final file
    part = tmp_path / "big.bin.part"
    assert 0 < part.stat().st_size < len(data)
    site.truncate.clear()
    out = download(site.url + "big.bin", tmp_path / "big.bin", sha256=hashlib.sha256(data).hexdigest())
    assert out.read_bytes() == data


def test_checksum_and_size_mismatch_remove_the_file(site, tmp_path):
    site.routes["/x.mid"] = MID
    with pytest.raises(DownloadError, match="SHA-256"):
        download(site.url + "x.mid", tmp_path / "x.mid", sha256="0" * 64)
    with pytest.raises(DownloadError, match="size"):
        download(site.url + "x.mid", tmp_path / "x.mid", size=5)
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize(
    "kind,fragment",
    [("traversal", "path traversal"), ("absolute", "path traversal"), ("symlink", "link"), ("bomb", "bomb"),
     ("members", "members")],
)  # fmt: skip
def test_malicious_archives_are_refused(tmp_path, kind, fragment):
    archive = tmp_path / "evil.tar.gz"
    limits = {}

    def add(tf):
        def file(name, data):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))

        if kind == "traversal":
            file("../../escape.mid", MID)
        elif kind == "absolute":
            file("/tmp/abs.mid", MID)
        elif kind == "symlink":
            info = tarfile.TarInfo("link.mid")
            info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
            tf.addfile(info)
        elif kind == "bomb":
            file("zeros.mid", b"\0" * 200_000)  # compresses to almost nothing
        else:
            for i in range(30):
                file(f"m{i}.mid", MID)

    if kind == "bomb":
        limits["max_total_bytes"] = 100_000
    if kind == "members":
        limits["max_members"] = 20
    archive.write_bytes(_tar(add))
    with pytest.raises(DownloadError, match=fragment):
        extract_midi(archive, tmp_path / "out", **limits)
    assert not (tmp_path.parent / "escape.mid").exists()


def test_zip_traversal_is_refused(tmp_path):
    archive = tmp_path / "evil.zip"
    archive.write_bytes(_zip({"../evil.mid": MID}))
    with pytest.raises(DownloadError, match="path traversal"):
        extract_midi(archive, tmp_path / "out")


def test_vgmusic_scraper_is_polite_resumable_and_dedupes(site, tmp_path):
    site.routes["/robots.txt"] = b"User-agent: *\nDisallow: /music/console/nintendo/nes/secret.mid\n"
    site.routes["/music/console/nintendo/nes/"] = (
        b'<a href="mario.mid">Mario</a> <a href="zelda.mid">Zelda</a> <a href="copy.mid">dup</a>'
        b' <a href="secret.mid">no</a> <a href="missing.mid">404</a> <a href="x.html">page</a>'
    )
    site.routes["/music/console/nintendo/nes/mario.mid"] = MID
    site.routes["/music/console/nintendo/nes/zelda.mid"] = MID + b"z"
    site.routes["/music/console/nintendo/nes/copy.mid"] = MID
    site.routes["/music/console/nintendo/nes/secret.mid"] = MID + b"s"
    options = FetchOptions(url=site.url, consoles=("nes",), delay=0.0)
    files = fetch("vgmusic", tmp_path, options)
    assert sorted(p.name for p in files) == ["mario.mid", "zelda.mid"]
    assert "/music/console/nintendo/nes/secret.mid" not in site.requests  # robots.txt honoured
    site.requests.clear()
    fetch("vgmusic", tmp_path, options)  # resume: present files are not fetched again
    assert not any(r.endswith(("mario.mid", "zelda.mid")) for r in site.requests)


def test_unknown_and_missing_sources_are_one_line_errors(tmp_path):
    with pytest.raises(DataError, match="unknown dataset"):
        fetch("nope", tmp_path)
    with pytest.raises(DataError, match="--path"):
        fetch("folder", tmp_path)
    with pytest.raises(DataError, match="apt-get install openttd-openmsx"):
        fetch("openmsx", tmp_path, FetchOptions(path=str(tmp_path / "empty")))


def test_folder_source_and_cli_listing(tmp_path, capsys):
    (tmp_path / "src" / "deep").mkdir(parents=True)
    (tmp_path / "src" / "deep" / "a.mid").write_bytes(MID)
    (tmp_path / "src" / "notes.txt").write_text("x")
    assert main(["fetch", "folder", "--path", str(tmp_path / "src"), "--out", str(tmp_path / "out")]) == 0
    assert (tmp_path / "out" / "deep" / "a.mid").read_bytes() == MID
    assert main(["datasets"]) == 0
    listing = capsys.readouterr().out
    for name in ("freedoom", "openmsx", "lakh", "vgmusic", "music21", "url", "folder"):
        assert name in listing


@pytest.mark.skipif(not Path("/usr/share/games/doom/freedoom1.wad").exists(), reason="freedoom not installed")
def test_freedoom_lumps_are_named_after_the_lump(tmp_path):
    files = fetch("freedoom", tmp_path)
    names = {p.name for p in files}
    assert "freedoom1_D_E1M1.mid" in names and len(files) == 67


def test_music21_corpus_converts_to_midi_resumes_and_names_bad_collections(tmp_path):
    pytest.importorskip("music21")
    from overworld.midi import load_score

    files = fetch("music21", tmp_path, FetchOptions(collections=("bach",), limit=3))
    assert len(files) == 3 and all(p.name.startswith("bach-") for p in files)
    for path in files:
        assert load_score(path).note_num() > 20  # a chorale, four voices
    before = {p: p.stat().st_mtime_ns for p in files}
    again = fetch("music21", tmp_path, FetchOptions(collections=("bach",), limit=3))
    assert again == files and all(p.stat().st_mtime_ns == before[p] for p in files)  # kept, not redone
    assert json.loads((tmp_path / "dataset.json").read_text())["files"]
    tunes = tmp_path / "tunes"  # a book of tunes (one file, fifty scores) stops at the limit too
    assert len(fetch("music21", tunes, FetchOptions(collections=("oneills1850",), limit=4))) == 4
    assert len(list(tunes.glob("*.mid"))) == 4
    with pytest.raises(DataError, match="no collection 'nosuchcomposer'"):
        fetch("music21", tmp_path, FetchOptions(collections=("nosuchcomposer",)))


def test_music21_counts_each_file_once(tmp_path, monkeypatch):
    """The corpus lists some chorales twice (.krn and .mxl) and names one work after another plus a
    suffix (bwv112.5-sc beside bwv112.5): --limit counts files written, fresh or resumed."""
    pytest.importorskip("music21")
    from music21 import corpus

    listed = [p for p in corpus.getComposer("bach") if Path(str(p)).name in
              ("bwv277.krn", "bwv277.mxl", "bwv112.5-sc.mxl", "bwv112.5.mxl", "bwv281.krn")]  # fmt: skip
    listed.sort(key=lambda p: ("bwv277", "bwv112.5-sc", "bwv112.5", "bwv281").index(Path(str(p)).stem))
    monkeypatch.setattr(corpus, "getComposer", lambda name: listed)
    names = ["bach-bwv277.mid", "bach-bwv112.5-sc.mid", "bach-bwv112.5.mid"]
    assert [p.name for p in fetch("music21", tmp_path, FetchOptions(collections=("bach",), limit=3))] == names
    assert [p.name for p in fetch("music21", tmp_path, FetchOptions(collections=("bach",), limit=3))] == names
    assert sorted(p.name for p in tmp_path.glob("*.mid")) == sorted(names)
