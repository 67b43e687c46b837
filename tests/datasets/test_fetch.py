"""The sources, against a local HTTP server started here (local_site.py): a URL, a fake VGMusic site, the
CLI's flags and progress bars; and the Debian-packaged soundtracks. Downloads are in test_download.py,
archives in test_extract.py."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from local_site import MID, make_zip

from overworld.cli import main
from overworld.datasets import FetchOptions, fetch
from overworld.errors import DataError


def test_url_fetches_a_midi_and_an_archive(site, tmp_path):
    site.routes["/song.mid"] = MID
    site.routes["/pack.zip"] = make_zip({"a/one.mid": MID, "a/readme.txt": b"hi", "two.MID": MID + b"\0"})
    assert [p.name for p in fetch("url", tmp_path / "a", FetchOptions(url=site.url + "song.mid"))] == [
        "song.mid"
    ]
    files = fetch("url", tmp_path / "b", FetchOptions(url=site.url + "pack.zip"))
    assert sorted(p.name for p in files) == ["one.mid", "two.MID"]
    record = json.loads((tmp_path / "b" / "dataset.json").read_text())
    assert record["source"] == "url" and len(record["files"]) == 2
    assert record["files"][0]["sha256"] == hashlib.sha256(MID).hexdigest()


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


def test_vgmusic_skips_a_file_it_cannot_verify(site, tmp_path):
    site.routes["/music/console/nintendo/nes/"] = b'<a href="cut.mid">cut</a> <a href="ok.mid">ok</a>'
    site.routes["/music/console/nintendo/nes/cut.mid"] = MID
    site.faults["/music/console/nintendo/nes/cut.mid"] = {"no-length", "cut"}
    site.routes["/music/console/nintendo/nes/ok.mid"] = MID + b"k"
    files = fetch("vgmusic", tmp_path, FetchOptions(url=site.url, consoles=("nes",), delay=0.0))
    assert [p.name for p in files] == ["ok.mid"] and not list(tmp_path.rglob("cut.mid*"))


def test_progress_is_reported_through_a_callback(site, tmp_path):
    site.routes["/pack.zip"] = make_zip({f"m{i}.mid": MID for i in range(3)})
    site.routes["/music/console/nintendo/nes/"] = b'<a href="a.mid">a</a> <a href="b.mid">b</a>'
    site.routes["/music/console/nintendo/nes/a.mid"] = MID
    site.routes["/music/console/nintendo/nes/b.mid"] = MID + b"b"
    reports = []
    fetch("url", tmp_path / "u", FetchOptions(url=site.url + "pack.zip", progress=reports.append))
    size = len(site.routes["/pack.zip"])
    assert reports[0].task == "pack.zip" and reports[0].unit == "B"
    assert (reports[-1].task, reports[-1].done, reports[-1].total) == ("extracting pack.zip", 3, 3)
    assert [r.done for r in reports if r.unit == "B"][-1] == size and reports[0].total == size
    reports.clear()
    fetch(
        "vgmusic",
        tmp_path / "v",
        FetchOptions(url=site.url, consoles=("nes",), delay=0.0, progress=reports.append),
    )
    assert [(r.task, r.done, r.total, r.unit) for r in reports] == [
        ("vgmusic nes", 1, 2, "file"),
        ("vgmusic nes", 2, 2, "file"),
    ]


def test_fetch_shows_a_progress_bar_on_stderr_unless_quiet(site, tmp_path, capsys):
    site.routes["/pack.zip"] = make_zip({f"m{i}.mid": MID for i in range(3)})
    argv = ["fetch", "url", "--url", site.url + "pack.zip"]
    assert main([*argv, "--out", str(tmp_path / "a")]) == 0
    captured = capsys.readouterr()
    assert "pack.zip" in captured.err and "100%" in captured.err and "3 MIDI files" in captured.out
    assert main([*argv, "--out", str(tmp_path / "b"), "--quiet"]) == 0
    assert capsys.readouterr().err == ""


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

    listed = [
        p
        for p in corpus.getComposer("bach")
        if Path(str(p)).name in ("bwv277.krn", "bwv277.mxl", "bwv112.5-sc.mxl", "bwv112.5.mxl", "bwv281.krn")
    ]
    listed.sort(key=lambda p: ("bwv277", "bwv112.5-sc", "bwv112.5", "bwv281").index(Path(str(p)).stem))
    monkeypatch.setattr(corpus, "getComposer", lambda name: listed)
    names = ["bach-bwv277.mid", "bach-bwv112.5-sc.mid", "bach-bwv112.5.mid"]
    assert [p.name for p in fetch("music21", tmp_path, FetchOptions(collections=("bach",), limit=3))] == names
    assert [p.name for p in fetch("music21", tmp_path, FetchOptions(collections=("bach",), limit=3))] == names
    assert sorted(p.name for p in tmp_path.glob("*.mid")) == sorted(names)
