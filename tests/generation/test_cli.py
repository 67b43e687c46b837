"""The generate verb end to end with a tiny saved model."""

from __future__ import annotations

import pytest

from overworld.cli import main

from .test_sampler import check_midi


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory, tokenizer):
    from overworld.models import build_model
    from overworld.models.storage import save_model

    from .conftest import tiny_config

    path = tmp_path_factory.mktemp("model")
    return save_model(path, build_model(tiny_config()), tokenizer, {"data": "random weights"})


def test_generate_writes_named_valid_files(model_dir, tmp_path, capsys):
    out = tmp_path / "out"
    argv = ["generate", "--model", str(model_dir), "--out", str(out), "--num", "2", "--length", "80",
            "--seed", "3", "--top-k", "40", "--instruments", "nes", "--primer-melody", "[60, -2, 64]",
            "--inclusive"]  # fmt: skip
    assert main(argv) == 0
    files = sorted(p.name for p in out.iterdir())
    assert files == ["overworld-3-0.mid", "overworld-3-1.mid"]
    for name in files:
        check_midi(out / name)
    assert "--seed 3" in capsys.readouterr().out


def test_generate_errors_are_one_line(model_dir, tmp_path, capsys):
    assert main(["generate", "--model", str(tmp_path / "missing")]) == 2
    assert main(["generate", "--model", str(model_dir), "--instruments", "kazoo-xyz"]) == 2
    assert (
        main(["generate", "--model", str(model_dir), "--primer-melody", "[x]", "--out", str(tmp_path)]) == 2
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 3 and all(line.startswith("overworld generate: error:") for line in err)
