"""compose's output folder: written whole or not at all, a used folder replaced only with --overwrite,
an unwritable --out or a bad --format a one-line error before the model loads."""

from __future__ import annotations

import json

import pytest

from overworld.cli import main
from overworld.export import Staging, check_out_folder
from overworld.export.pack import write_pieces
from overworld.generation.compose import compose

from .conftest import compose_config


def _err(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert err.startswith("overworld compose: error:") and "\n" not in err, err
    return err


@pytest.mark.parametrize("out, what", [("/proc/nope", "not writable"), ("FILE", "is a file")])
def test_an_unwritable_out_is_one_line_before_the_model_loads(out, what, tmp_path, capsys):
    (tmp_path / "FILE").write_text("x")
    out = str(tmp_path / "FILE") if out == "FILE" else out
    # the model does not exist: the error names --out, so it came first
    assert main(["compose", "--model", str(tmp_path / "no-model"), "--bars", "1", "--out", out]) == 2
    assert what in _err(capsys)


def test_an_unknown_format_is_one_line(tmp_path, capsys):
    assert main(["compose", "--bars", "1", "--format", "ogg,mp4", "--out", str(tmp_path)]) == 2
    assert "ogg, wav, flac, xm" in _err(capsys)


def test_a_used_folder_needs_overwrite_and_a_rerun_leaves_nothing_stale(saved_bar_model, tmp_path, capsys):
    run = [
        "compose",
        "--model",
        str(saved_bar_model),
        "--bars",
        "1",
        "--seed",
        "3",
        "--out",
        str(tmp_path),
        "--sample-rate",
        "8000",
        "--device",
        "cpu",
    ]
    assert main([*run, "--stems", "--format", "wav,xm"]) == 0
    assert (tmp_path / "3" / "stems").is_dir() and (tmp_path / "3" / "piece.xm").exists()
    capsys.readouterr()
    assert main(run) == 2  # the folder is there: refused before composing
    assert "--overwrite" in _err(capsys)
    assert main([*run, "--overwrite"]) == 0
    files = sorted(p.name for p in (tmp_path / "3").iterdir())
    assert files == ["mix.ogg", "mix.wav", "piece.json", "piece.mid"]  # no old stems/ nor piece.xm
    assert sorted(p.name for p in tmp_path.iterdir()) == ["3"]  # no staging folder left


def test_a_failing_write_leaves_the_old_folder_as_it_was(bar_model, tmp_path, monkeypatch):
    config = compose_config(0, stems=False)
    pieces = compose(bar_model, config, seed=0)
    (old := tmp_path / "0").mkdir()
    (old / "piece.mid").write_bytes(b"old")
    (old / "piece.json").write_text("{}")

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr("overworld.export.pack._write_audio", broken)  # after piece.mid is written
    with pytest.raises(OSError, match="disk full"):
        write_pieces(pieces, tmp_path, config)
    assert (old / "piece.mid").read_bytes() == b"old" and json.loads((old / "piece.json").read_text()) == {}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["0"]  # nothing half-written beside it


def test_staging_swaps_every_folder_in_at_once(tmp_path):
    with Staging() as staging:
        a, b = staging.folder(tmp_path / "a"), staging.folder(tmp_path / "b")
        (a / "x").write_text("1")
        (b / "y").write_text("2")
        assert not (tmp_path / "a").exists()  # nothing in place before commit
        staging.commit()
    assert (tmp_path / "a" / "x").read_text() == "1" and (tmp_path / "b" / "y").read_text() == "2"
    assert check_out_folder(tmp_path, ["c"]) == tmp_path
