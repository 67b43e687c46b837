"""Fixtures for the CLI's checks before work: a tiny saved model, a MIDI file, and guards that fail a test
when the work (a model load, a plot, a render, a prepare, a training run) starts before the error."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from overworld.cli import main

sys.path.insert(0, str(Path(__file__).parents[1] / "midi"))
from pathological import good_midi


def _started(what: str):
    def refuse(*args, **kwargs):
        raise AssertionError(f"{what} started before the error")

    return refuse


@pytest.fixture
def no_work(monkeypatch):
    """Every verb's work raises: an error must come before it."""
    import overworld.data.workers
    import overworld.models.storage
    import overworld.render
    import overworld.training.loop

    monkeypatch.setattr(overworld.models.storage, "load_model", _started("the model load"))
    monkeypatch.setattr(overworld.training.loop, "train", _started("training"))
    monkeypatch.setattr(overworld.data.workers, "process_files", _started("prepare's workers"))
    for name in ("render", "plot_pianoroll", "plot_curves", "plot_self_similarity"):
        monkeypatch.setattr(overworld.render, name, _started(name))


@pytest.fixture
def error_of(capsys):
    """``error_of(argv)``: runs the verb, which must fail with exit 2 and one line on stderr
    ``overworld VERB: error: ...``; returns that line."""

    def run(argv: list[str]) -> str:
        capsys.readouterr()
        assert main([str(a) for a in argv]) == 2
        lines = capsys.readouterr().err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"overworld {argv[0]}: error: "), lines
        return lines[0]

    return run


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory):
    """A saved debug-size performance-token model (random weights)."""
    from overworld.config import ModelConfig
    from overworld.models.build import build_model
    from overworld.models.storage import save_model
    from overworld.tokenizers import make_tokenizer

    tok = make_tokenizer("performance")
    config = ModelConfig(
        vocab_size=tok.vocab_size,
        embedding_size=32,
        sequence_length=64,
        num_blocks=1,
        num_heads=2,
        feed_forward_dim=64,
        dropout=0.0,
    )
    return save_model(tmp_path_factory.mktemp("model"), build_model(config, seed=0), tok, {"steps": 0})


@pytest.fixture
def tune(tmp_path) -> Path:
    path = tmp_path / "tune.mid"
    path.write_bytes(good_midi((60, 62, 64, 65, 67)))
    return path


@pytest.fixture
def full_disk(tmp_path):
    """A 64 kB tmpfs folder (root only: skipped where it cannot be mounted)."""
    folder = tmp_path / "full"
    folder.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(folder)], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs: {done.stderr.decode(errors='replace').strip()}")
    try:
        yield folder
    finally:
        with contextlib.suppress(OSError):
            subprocess.run(["umount", str(folder)], check=False, capture_output=True)
