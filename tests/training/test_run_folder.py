"""The run folder: one run at a time, a trained run is never silently replaced, a killed save's temporary
files do not pile up, and the CLI's bad input is one line."""

from __future__ import annotations

import csv
import os
from dataclasses import replace

import pytest

from overworld.cli import main
from overworld.errors import DataError
from overworld.models import load_model
from overworld.training.loop import train
from overworld.training.run_folder import RunFolderError

TINY = [
    "--sequence-length",
    "32",
    "--embedding-size",
    "32",
    "--num-blocks",
    "1",
    "--num-heads",
    "2",
    "--feed-forward-dim",
    "64",
    "--batch-size",
    "2",
    "--quiet",
    "--device",
    "cpu",
]


def steps_logged(run):
    with open(run / "metrics.csv") as handle:
        return [int(r["step"]) for r in csv.DictReader(handle)]


def test_a_second_run_into_a_folder_in_use_is_a_one_line_error(
    prepared, tmp_path, tiny_model, tiny_train, capsys
):
    run, answers = tmp_path / "r", []

    def second_run(step):  # while the first run holds the folder, a second one tries to resume it
        if step == 2:
            code = main(
                ["train", "--data", str(prepared), "--out", str(run), "--resume", "--steps", "4", *TINY]
            )
            answers.append((code, capsys.readouterr().err))

    train(run, prepared, tiny_model, tiny_train, progress=False, on_step=second_run)
    code, err = answers[0]
    assert code == 2 and err.count("\n") == 1
    assert f"{run} is in use by another training run (pid {os.getpid()})" in err
    assert steps_logged(run) == [1, 2, 3, 4, 5, 6]  # nothing interleaved
    # released on exit, and after a failure too
    with pytest.raises(DataError):
        train(tmp_path / "f", prepared, tiny_model, tiny_train, progress=False, init_from=tmp_path / "none")
    assert train(tmp_path / "f", prepared, tiny_model, replace(tiny_train, steps=1), progress=False).step == 1
    assert (
        train(run, prepared, tiny_model, replace(tiny_train, steps=7), resume=True, progress=False).step == 7
    )


def test_training_again_into_a_run_needs_resume_or_overwrite(
    prepared, tmp_path, tiny_model, tiny_train, capsys
):
    run = tmp_path / "r"
    train(run, prepared, tiny_model, tiny_train, progress=False)
    weights, metrics = (run / "model" / "model.safetensors").read_bytes(), (run / "metrics.csv").read_text()
    with pytest.raises(RunFolderError, match="--resume to continue it or --overwrite to replace it"):
        train(run, prepared, tiny_model, tiny_train, progress=False)
    assert main(["train", "--data", str(prepared), "--out", str(run), "--steps", "2", *TINY]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "already holds a training run" in err
    assert (run / "model" / "model.safetensors").read_bytes() == weights  # nothing replaced
    assert (run / "metrics.csv").read_text() == metrics
    with pytest.raises(SystemExit):  # argparse: they contradict each other
        main(["train", "--data", str(prepared), "--out", str(run), "--resume", "--overwrite", *TINY])
    assert (
        main(["train", "--data", str(prepared), "--out", str(run), "--steps", "2", "--overwrite", *TINY]) == 0
    )
    assert steps_logged(run) == [2] and load_model(run / "model").card["steps"] == 2
    with pytest.raises(DataError, match=r"no run at .* to resume"):
        train(tmp_path / "absent", prepared, tiny_model, tiny_train, resume=True, progress=False)
    assert not (tmp_path / "absent").exists()


def test_temporary_files_of_a_killed_save_are_removed_on_the_next_start(
    prepared, tmp_path, tiny_model, tiny_train
):
    run = tmp_path / "r"
    train(run, prepared, tiny_model, replace(tiny_train, steps=2), progress=False)
    # what a SIGKILL in the middle of the atomic writers leaves
    (run / "latest" / ".state.pt.k1ll3d.tmp").write_bytes(b"half a checkpoint")
    (run / "model" / ".model.safetensors.x7q.tmp").write_bytes(b"half a model")
    (run / "notes.tmp").write_text("the user's, not a writer's")
    train(run, prepared, tiny_model, replace(tiny_train, steps=3), resume=True, progress=False)
    assert not list(run.rglob(".*.tmp"))
    assert (run / "notes.tmp").exists()


@pytest.mark.parametrize(
    "flags, reason",
    [
        (["--steps", "-5"], "steps must be at least 1"),
        (["--batch-size", "0"], "batch_size must be at least 1"),
    ],
)
def test_bad_numbers_are_one_line_errors(prepared, tmp_path, capsys, flags, reason):
    assert main(["train", "--data", str(prepared), "--out", str(tmp_path / "r"), *TINY, *flags]) == 2
    err = capsys.readouterr().err
    assert err.startswith("overworld train: error: ") and err.count("\n") == 1 and reason in err


def test_a_folder_of_midi_files_says_run_prepare_first(tmp_path, capsys):
    raw = tmp_path / "raw" / "doom"
    raw.mkdir(parents=True)
    (raw / "e1m1.MID").write_bytes(b"MThd")
    assert main(["train", "--data", str(tmp_path / "raw"), "--out", str(tmp_path / "r"), *TINY]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "holds MIDI files" in err and "run `overworld prepare" in err
    assert not (tmp_path / "r").exists()  # no run folder for a run that cannot start
    assert main(["train", "--data", str(tmp_path / "nowhere"), "--out", str(tmp_path / "r"), *TINY]) == 2
    assert "overworld prepare" in capsys.readouterr().err
