"""Archive extraction: hostile members are refused, bombs stop within a few MB, limits a MIDI collection
needs (and flags to raise them), and a refusal half-way leaves the target as it was."""

from __future__ import annotations

import os
import random
import re
import subprocess
import sys
import tarfile
import time

import pytest
from local_site import MID, make_tar, make_zip, many_member_zip, tar_file, tar_gz_bomb, zip_bomb

from overworld.cli import main
from overworld.datasets import FetchOptions, get_source
from overworld.datasets.extract import ArchiveRefused, extract_midi
from overworld.datasets.registry import ArchiveLimits
from overworld.errors import ConfigError, DownloadError


def _hostile(tf: tarfile.TarFile, kind: str) -> None:
    if kind == "traversal":
        tar_file(tf, "../../escape.mid", MID)
    elif kind == "absolute":
        tar_file(tf, "/tmp/abs.mid", MID)
    elif kind == "symlink":
        info = tarfile.TarInfo("link.mid")
        info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tf.addfile(info)
    elif kind == "bomb":
        tar_file(tf, "zeros.mid", b"\0" * 200_000)  # compresses to almost nothing
    else:
        for i in range(30):
            tar_file(tf, f"m{i}.mid", MID)


@pytest.mark.parametrize(
    "kind,fragment,limits",
    [
        ("traversal", "path traversal", {}),
        ("absolute", "path traversal", {}),
        ("symlink", "link", {}),
        ("bomb", "more than 100000 bytes", {"max_bytes": 100_000}),
        ("members", "members", {"max_members": 20}),
    ],
)
def test_malicious_archives_are_refused(tmp_path, kind, fragment, limits):
    archive = tmp_path / "evil.tar.gz"
    archive.write_bytes(make_tar(lambda tf: _hostile(tf, kind)))
    with pytest.raises(DownloadError, match=fragment):
        extract_midi(archive, tmp_path / "out", limits=ArchiveLimits(**limits))
    assert not (tmp_path.parent / "escape.mid").exists()


def test_zip_traversal_is_refused(tmp_path):
    archive = tmp_path / "evil.zip"
    archive.write_bytes(make_zip({"../evil.mid": MID}))
    with pytest.raises(DownloadError, match="path traversal"):
        extract_midi(archive, tmp_path / "out")


@pytest.mark.parametrize("bad", ["symlink", "members"])
def test_a_refusal_half_way_leaves_the_target_as_it_was(tmp_path, bad):
    """Good members come first, the bad one last: none of them reach the target, nor a temporary folder."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "mine.mid").write_bytes(MID)

    def add(tf):
        for i in range(5):
            tar_file(tf, f"good/m{i}.mid", MID)
        _hostile(tf, bad)

    archive = tmp_path / "half.tar.gz"
    archive.write_bytes(make_tar(add))
    with pytest.raises(DownloadError):
        extract_midi(archive, out, limits=ArchiveLimits(max_members=20))
    assert [p.name for p in out.rglob("*")] == ["mine.mid"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["half.tar.gz", "out"]


def test_a_killed_extraction_leaves_nothing_for_long(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True)
    stale = tmp_path / f".out.extract-{int(dead.stdout)}-abc123"
    (stale / "deep").mkdir(parents=True)
    (stale / "deep" / "x.mid").write_bytes(MID)
    live = tmp_path / f".out.extract-{os.getpid()}-def456"  # a live extraction: left alone
    live.mkdir()
    archive = tmp_path / "a.zip"
    archive.write_bytes(make_zip({"a.mid": MID}))
    assert [p.name for p in extract_midi(archive, tmp_path / "out")] == ["a.mid"]
    assert not stale.exists() and live.exists()


def test_a_1_gib_zip_bomb_of_1_mb_is_refused_before_a_byte_is_written(tmp_path):
    archive = tmp_path / "bomb.zip"
    archive.write_bytes(zip_bomb(1024))  # 1 GiB of zeros, ~1 MB compressed (never written out here)
    assert len(archive.read_bytes()) < 1_100_000
    with pytest.raises(ArchiveRefused, match=r"'zeros.mid' declares more than 100:1 \(1073741824 bytes"):
        extract_midi(archive, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_1_gib_tar_gz_bomb_of_1_mb_stops_within_a_few_mb(tmp_path):
    """A tar's sizes are only known by decompressing: the stream is counted and stopped early."""
    archive = tmp_path / "bomb.tar.gz"
    archive.write_bytes(tar_gz_bomb(1024))
    assert len(archive.read_bytes()) < 1_100_000
    started = time.monotonic()
    with pytest.raises(ArchiveRefused, match=r"'zeros.mid' expands more than 100:1") as refused:
        extract_midi(archive, tmp_path / "out")
    expanded = int(re.search(r"\((\d+) bytes from", str(refused.value))[1])
    assert expanded < 8 << 20 and time.monotonic() - started < 20
    assert not (tmp_path / "out").exists() and [p.name for p in tmp_path.iterdir()] == ["bomb.tar.gz"]


def test_music_that_compresses_as_music_does_passes_the_ratio_check(tmp_path):
    """6 MiB over the ratio's 4 MiB floor that compresses a few times over, as MIDI does (~3-5:1)."""
    low = bytes(b % 16 for b in range(256))  # 4 bits of entropy a byte
    events = random.Random(0).randbytes(6 << 20).translate(low)
    archive = tmp_path / "big.zip"
    archive.write_bytes(make_zip({"big.mid": MID + events}))
    assert len(extract_midi(archive, tmp_path / "out")) == 1


def test_the_default_limits_refuse_100000_members_and_lakh_allows_its_178561(tmp_path):
    archive = tmp_path / "many.zip"
    archive.write_bytes(many_member_zip(100_000))
    with pytest.raises(ArchiveRefused, match="100000 members, over the 50000 limit"):
        extract_midi(archive, tmp_path / "out")
    lakh = get_source("lakh").archive_limits
    assert lakh.max_members >= 178_561 + 17 and lakh.max_bytes >= 5 << 30  # LMD-full: files and folders
    assert ArchiveLimits().max_bytes == 2 << 30 and get_source("url").archive_limits == ArchiveLimits()


def test_cli_flags_raise_the_limits_and_the_refused_archive_is_kept(site, tmp_path, capsys):
    site.routes["/pack.zip"] = make_zip({f"m{i}.mid": MID for i in range(5)})
    out = tmp_path / "out"
    argv = ["fetch", "url", "--url", site.url + "pack.zip", "--out", str(out), "--quiet"]
    assert main([*argv, "--max-archive-members", "3"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "5 members, over the 3 limit" in err[0] and "pack.zip is kept" in err[0]
    assert not (out / "dataset.json").exists() and (out / "pack.zip").exists()
    assert main([*argv, "--max-archive-gib", "0.0000001"]) == 2  # 107 bytes
    assert "declares more than 107 bytes" in capsys.readouterr().err
    requests = len(site.requests)
    assert main([*argv, "--max-archive-members", "10"]) == 0
    assert len(site.requests) == requests  # the kept archive, not a new download
    assert len(list(out.glob("*.mid"))) == 5 and not (out / "pack.zip").exists()


def test_bad_limits_are_one_line_errors(capsys):
    with pytest.raises(ConfigError, match="max_members must be a positive number"):
        FetchOptions(max_archive_members=-1)
    with pytest.raises(SystemExit) as exited:
        main(["fetch", "url", "--out", "x", "--max-archive-gib", "nan"])
    assert exited.value.code == 2 and "a size in GiB" in capsys.readouterr().err
    with pytest.raises(ConfigError, match="64 hexadecimal digits"):
        FetchOptions(url="http://127.0.0.1:9/x.mid", sha256="abc")
