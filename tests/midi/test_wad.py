"""WAD lump extraction: real Freedoom WADs when installed, and broken WADs built in code."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from overworld.errors import DataError
from overworld.midi import load_score
from overworld.midi.wad import read_music_lumps

from .pathological import good_midi

FREEDOOM = Path("/usr/share/games/doom/freedoom2.wad")


def _wad(lumps: list[tuple[str, bytes]], bad_offset: bool = False) -> bytes:
    body = b"".join(data for _, data in lumps)
    directory = b""
    pos = 12
    for name, data in lumps:
        directory += struct.pack("<ii8s", pos + (10**6 if bad_offset else 0), len(data), name.encode())
        pos += len(data)
    return b"PWAD" + struct.pack("<ii", len(lumps), 12 + len(body)) + body + directory


def test_music_lumps_come_out_as_midi(tmp_path):
    wad = tmp_path / "x.wad"
    wad.write_bytes(
        _wad([("D_RUNNIN", good_midi()), ("MAP01", b"\0" * 10), ("D_STALKS", good_midi((50, 53)))])
    )
    lumps = read_music_lumps(wad)
    assert [n for n, _ in lumps] == ["D_RUNNIN", "D_STALKS"]
    assert load_score(lumps[1][1]).note_num() == 2


def test_broken_wads_give_a_reason(tmp_path):
    (tmp_path / "a.wad").write_bytes(b"<html>")
    (tmp_path / "b.wad").write_bytes(_wad([("D_X", good_midi())], bad_offset=True))
    (tmp_path / "c.wad").write_bytes(b"IWAD" + struct.pack("<ii", 1000, 12))
    for name, fragment in [("a.wad", "not a WAD"), ("b.wad", "outside the file"), ("c.wad", "runs past")]:
        with pytest.raises(DataError, match=fragment):
            read_music_lumps(tmp_path / name)


@pytest.mark.skipif(not FREEDOOM.exists(), reason="Debian package freedoom not installed")
def test_freedoom2_has_its_music():
    lumps = read_music_lumps(FREEDOOM)
    assert len(lumps) >= 30 and all(data[:4] == b"MThd" for _, data in lumps)
