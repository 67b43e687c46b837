"""Downloads against a local server (local_site.Site): a file is kept only when it is shown whole, a
broken one resumes with Range from where it stopped, and errors count what really arrived."""

from __future__ import annotations

import hashlib
import json

import pytest
from local_site import MID, make_zip

from overworld.cli import main
from overworld.datasets import FetchOptions, fetch
from overworld.datasets.download import download
from overworld.errors import DownloadError

DATA = bytes(range(256)) * 400  # 102,400 bytes


def test_truncated_download_is_an_error_and_resumes_with_range(site, tmp_path):
    site.routes["/big.bin"] = DATA
    site.faults["/big.bin"] = {"truncate"}
    with pytest.raises(DownloadError, match=r"truncated, got 51200 of 102400 bytes; run again to resume"):
        download(site.url + "big.bin", tmp_path / "big.bin")
    assert not (tmp_path / "big.bin").exists()  # never a final file
    assert (tmp_path / "big.bin.part").stat().st_size == len(DATA) // 2
    site.faults.clear()
    assert download(site.url + "big.bin", tmp_path / "big.bin").read_bytes() == DATA
    resumed = site.headers[-1]
    assert resumed["Range"] == "bytes=51200-" and resumed["If-Range"].startswith('"')  # the ETag
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.bin"]  # no .part, no .part.json


def test_a_body_with_no_length_is_not_kept_unless_something_vouches_for_it(site, tmp_path):
    """A server that sends no Content-Length and closes the connection half-way looks exactly like one
    that sent it all: neither becomes a final .mid without a checksum."""
    site.routes["/song.mid"] = MID
    site.faults["/song.mid"] = {"no-length", "cut", "no-etag"}
    with pytest.raises(DownloadError, match=r"may be cut short; kept as song.mid.part, not used"):
        fetch("url", tmp_path / "a", FetchOptions(url=site.url + "song.mid"))
    assert not (tmp_path / "a" / "song.mid").exists() and not (tmp_path / "a" / "dataset.json").exists()
    site.faults["/song.mid"] = {"no-length", "no-etag"}  # all of it, but nothing says so
    with pytest.raises(DownloadError, match="may be cut short"):
        download(site.url + "song.mid", tmp_path / "b" / "song.mid")
    digest = hashlib.sha256(MID).hexdigest()  # a known checksum vouches for it
    files = fetch("url", tmp_path / "b", FetchOptions(url=site.url + "song.mid", sha256=digest))
    assert files[0].read_bytes() == MID


def test_the_cli_says_so_in_one_line_and_keeps_the_part(site, tmp_path, capsys):
    site.routes["/song.mid"] = MID
    site.faults["/song.mid"] = {"no-length", "cut"}
    out = tmp_path / "out"
    assert main(["fetch", "url", "--url", site.url + "song.mid", "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("overworld fetch: error: ") and "cut short" in err[0]
    assert (out / "song.mid.part").read_bytes() == MID[: len(MID) // 2]
    site.faults["/song.mid"] = {"no-length"}  # a rerun asks for the rest; the 206 says the whole length
    assert main(["fetch", "url", "--url", site.url + "song.mid", "--out", str(out), "--quiet"]) == 0
    assert (out / "song.mid").read_bytes() == MID and site.headers[-1]["Range"] == f"bytes={len(MID) // 2}-"


def test_chunked_bodies_are_whole_only_with_their_terminating_chunk(site, tmp_path):
    site.routes["/c.bin"] = DATA
    site.faults["/c.bin"] = {"chunked", "cut"}
    with pytest.raises(DownloadError, match=r"broke off after 51000 bytes"):
        download(site.url + "c.bin", tmp_path / "c.bin")
    assert not (tmp_path / "c.bin").exists()
    site.faults["/c.bin"] = {"chunked", "ignore-range"}
    assert download(site.url + "c.bin", tmp_path / "c.bin").read_bytes() == DATA


def test_a_stall_reports_the_bytes_that_did_arrive_and_keeps_them(site, tmp_path):
    site.routes["/slow.bin"] = DATA
    site.faults["/slow.bin"] = {"stall"}
    with pytest.raises(DownloadError, match=r"broke off after 1000 bytes \(timed out\)"):
        download(site.url + "slow.bin", tmp_path / "slow.bin", timeout=0.5)
    assert (tmp_path / "slow.bin.part").read_bytes() == DATA[:1000]


def test_an_archive_download_resumes_across_runs(site, tmp_path):
    archive = make_zip({f"m{i}.mid": MID + bytes([i]) * 3000 for i in range(40)})
    site.routes["/pack.zip"] = archive
    site.faults["/pack.zip"] = {"truncate"}
    out = tmp_path / "out"
    with pytest.raises(DownloadError, match="run again to resume"):
        fetch("url", out, FetchOptions(url=site.url + "pack.zip"))
    assert (out / "pack.zip.part").stat().st_size == len(archive) // 2  # kept between runs
    site.faults.clear()
    assert len(fetch("url", out, FetchOptions(url=site.url + "pack.zip"))) == 40
    assert site.headers[-1]["Range"] == f"bytes={len(archive) // 2}-"
    assert not list(out.glob("pack.zip*"))  # the archive is gone once extracted
    assert len(json.loads((out / "dataset.json").read_text())["files"]) == 40


def test_a_file_that_changed_since_the_break_starts_over(site, tmp_path):
    site.routes["/big.bin"] = DATA
    site.faults["/big.bin"] = {"truncate"}
    with pytest.raises(DownloadError):
        download(site.url + "big.bin", tmp_path / "big.bin")
    site.routes["/big.bin"] = DATA[::-1]  # a new ETag: If-Range gets the whole new file (200)
    site.faults.clear()
    assert download(site.url + "big.bin", tmp_path / "big.bin").read_bytes() == DATA[::-1]


def test_without_a_validator_the_part_is_not_resumed(site, tmp_path):
    site.routes["/big.bin"] = DATA
    site.faults["/big.bin"] = {"truncate", "no-etag"}
    with pytest.raises(DownloadError, match="run again to retry"):
        download(site.url + "big.bin", tmp_path / "big.bin")
    site.faults["/big.bin"] = {"no-etag"}
    assert download(site.url + "big.bin", tmp_path / "big.bin").read_bytes() == DATA
    assert "Range" not in site.headers[-1]  # nothing ties the old bytes to what the server has now


@pytest.mark.parametrize("extra", [0, 10])
def test_416_completes_a_whole_part_and_restarts_a_longer_one(site, tmp_path, extra):
    """The part may already hold the whole file (a run killed before the rename: 416, complete) or more
    than the file now has (it shrank: 416 with another length, start over)."""
    site.routes["/big.bin"] = DATA
    site.faults["/big.bin"] = {"no-length"}  # all of it arrives but cannot be verified
    with pytest.raises(DownloadError, match="cut short"):
        download(site.url + "big.bin", tmp_path / "big.bin")
    if extra:
        with open(tmp_path / "big.bin.part", "ab") as handle:
            handle.write(bytes(extra))
    site.faults.clear()
    assert download(site.url + "big.bin", tmp_path / "big.bin").read_bytes() == DATA
    assert site.headers[-1 if not extra else -2]["Range"] == f"bytes={len(DATA) + extra}-"


def test_checksum_and_size_mismatch_remove_the_file(site, tmp_path):
    site.routes["/x.mid"] = MID
    with pytest.raises(DownloadError, match="SHA-256"):
        download(site.url + "x.mid", tmp_path / "x.mid", sha256="0" * 64)
    with pytest.raises(DownloadError, match="size"):
        download(site.url + "x.mid", tmp_path / "x.mid", size=5)
    assert not list(tmp_path.iterdir())
