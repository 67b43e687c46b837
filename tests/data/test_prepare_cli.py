"""prepare's flags: --max-piece-minutes limits a piece's length (the old --max-minutes still works, warns)."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import pytest

from overworld.cli import main

sys.path.insert(0, str(Path(__file__).parents[1] / "midi"))
from pathological import good_midi


def _failed(out: Path) -> list[str]:
    return [f["reason"] for f in json.loads((out / "report.json").read_text())["failures"]]


def test_max_piece_minutes_rejects_longer_pieces_and_the_old_name_still_works(tmp_path, caplog, capsys):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "chords.mid").write_bytes(good_midi())  # about a second of music
    base = ["prepare", str(tmp_path / "in"), "--workers", "1"]
    with caplog.at_level(logging.WARNING):
        assert main([*base, "--out", str(tmp_path / "a"), "--max-piece-minutes", "0.001"]) == 0
        assert len(_failed(tmp_path / "a")) == 1 and "limit" in _failed(tmp_path / "a")[0]  # 0.06 s allowed
        assert not caplog.records
        assert main([*base, "--out", str(tmp_path / "b"), "--max-minutes", "0.001"]) == 0  # the old spelling
        assert len(_failed(tmp_path / "b")) == 1
    [warning] = caplog.records  # one warning, naming the new flag
    assert "--max-piece-minutes" in warning.getMessage()
    assert main([*base, "--out", str(tmp_path / "c"), "--max-minutes", "1", "--max-piece-minutes", "1"]) == 2
    assert (
        capsys.readouterr().err.strip().splitlines()[-1].startswith("overworld prepare: error: --max-minutes")
    )
    with pytest.raises(SystemExit):
        main(["prepare", "--help"])
    shown = capsys.readouterr().out
    assert "--max-piece-minutes" in shown and "--max-minutes" not in shown  # only the unambiguous name
