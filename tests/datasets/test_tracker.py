"""``fetch tracker``: modules from (fake) Debian package lists with a licence per file, or from any folder."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from overworld.cli import main
from overworld.datasets import FetchOptions, fetch, tracker
from overworld.errors import DataError

sys.path.insert(0, str(Path(__file__).parents[1] / "midi"))
from test_modules import SONG, protracker_module


@pytest.fixture
def packages(tmp_path, monkeypatch):
    """dpkg lists for two "installed" packages whose modules live under tmp_path/usr."""
    usr = tmp_path / "usr"
    (usr / "gweled").mkdir(parents=True)
    (usr / "pingus").mkdir()
    (usr / "gweled" / "autonom.s3m").write_bytes(protracker_module(SONG))  # the content does not matter here
    (usr / "pingus" / "song.IT").write_bytes(protracker_module(SONG, orders=(0, 0)))
    (usr / "pingus" / "readme.txt").write_text("not a module")
    info = tmp_path / "dpkg"
    info.mkdir()
    (info / "gweled.list").write_text(f"/.\n{usr}/gweled\n{usr}/gweled/autonom.s3m\n")
    (info / "pingus-data:all.list").write_text(
        f"{usr}/pingus/song.IT\n{usr}/pingus/readme.txt\n{usr}/gone.xm\n"
    )
    monkeypatch.setattr(tracker, "DPKG_INFO", info)
    return usr


def _entries(out: Path) -> dict[str, dict]:
    return {e["path"]: e for e in json.loads((out / "dataset.json").read_text())["files"]}


def test_packaged_modules_are_copied_with_their_package_licence(tmp_path, packages):
    out = tmp_path / "out"
    files = fetch("tracker", out, FetchOptions())
    assert sorted(str(f.relative_to(out)) for f in files) == ["gweled/autonom.s3m", "pingus-data/song.IT"]
    entries = _entries(out)
    assert entries["gweled/autonom.s3m"]["licence"] == "GPL-2.0-or-later"
    assert entries["pingus-data/song.IT"] == {
        **entries["pingus-data/song.IT"],
        "package": "pingus-data",
        "licence": "GPL-2.0-or-later",
        "copyright": "/usr/share/doc/pingus-data/copyright",
    }
    assert json.loads((out / "dataset.json").read_text())["source"] == "tracker"


def test_packaged_modules_can_be_recorded_in_place(tmp_path, packages):
    out = tmp_path / "out"
    files = fetch("tracker", out, FetchOptions(copy=False))
    assert sorted(files) == [packages / "gweled" / "autonom.s3m", packages / "pingus" / "song.IT"]
    entries = _entries(out)
    assert entries[str(packages / "gweled" / "autonom.s3m")]["package"] == "gweled"


def test_a_folder_of_modules_is_searched_recursively_in_any_case(tmp_path, packages):
    src = tmp_path / "mine"
    (src / "a" / "b").mkdir(parents=True)
    (src / "a" / "b" / "tune.XM").write_bytes(b"Extended Module: ")
    (src / "top.mod").write_bytes(protracker_module(SONG))
    (src / "notes.txt").write_text("no")
    (src / "pingus-data").mkdir()
    (src / "pingus-data" / "other.it").write_bytes(b"IMPM")  # named like a package, but not its file
    out = tmp_path / "out"
    files = fetch("tracker", out, FetchOptions(path=str(src)))
    assert sorted(str(f.relative_to(out)) for f in files) == [
        "a/b/tune.XM",
        "pingus-data/other.it",
        "top.mod",
    ]
    assert (out / "a" / "b" / "tune.XM").read_bytes() == b"Extended Module: "
    assert all(e["licence"].startswith("unknown") and "package" not in e for e in _entries(out).values())


def test_nothing_to_fetch_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setattr(tracker, "DPKG_INFO", tmp_path / "no-dpkg")
    with pytest.raises(DataError, match="apt-get install pingus-data"):
        fetch("tracker", tmp_path / "out", FetchOptions())
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no modules"):
        fetch("tracker", tmp_path / "out", FetchOptions(path=str(tmp_path / "empty")))


def test_the_cli_lists_and_fetches_tracker(tmp_path, packages, capsys):
    assert main(["datasets"]) == 0
    assert "tracker" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exit_info:
        main(["fetch", "tracker", "--help"])
    assert exit_info.value.code == 0
    assert main(["fetch", "tracker", "--out", str(tmp_path / "out")]) == 0
    assert "tracker: 2 " in capsys.readouterr().out
