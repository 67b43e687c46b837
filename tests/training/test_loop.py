"""The trainer: resume is exact, kills leave loadable checkpoints, NaNs stop cleanly, --steps is a total."""

from __future__ import annotations

import csv
import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import replace
from types import SimpleNamespace

import pytest
import torch

from overworld.cli import main
from overworld.config import configs_from_file
from overworld.data.dataset import Augment, TokenWindows
from overworld.errors import ConfigError
from overworld.models import load_model
from overworld.training.checkpoint import load_state
from overworld.training.loop import TrainingError, _steps_in_budget, train


def weights(run):
    return load_state(run / "latest" / "state.pt")["model"]


def rows(run):
    with open(run / "metrics.csv") as handle:
        return list(csv.DictReader(handle))


def test_a_tiny_model_overfits_one_batch(prepared, tiny_model):
    from overworld.models import build_model

    windows = TokenWindows(prepared, "train", 32)
    batch = windows.batch(0, 4, seed=0)
    model = build_model(replace(tiny_model, vocab_size=520, dropout=0.0))
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    for _ in range(150):
        loss = torch.nn.functional.cross_entropy(model(batch[:, :-1]).transpose(1, 2), batch[:, 1:])
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.1


def test_interrupted_then_resumed_equals_uninterrupted(prepared, tmp_path, tiny_model, tiny_train):
    train(tmp_path / "a", prepared, tiny_model, tiny_train, progress=False)

    def interrupt(step):
        if step == 3:
            raise KeyboardInterrupt

    first = train(tmp_path / "b", prepared, tiny_model, tiny_train, progress=False, on_step=interrupt)
    assert first.stopped == "interrupted" and first.step == 3
    second = train(tmp_path / "b", prepared, tiny_model, tiny_train, resume=True, progress=False)
    assert second.step == 6
    a, b = weights(tmp_path / "a"), weights(tmp_path / "b")
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert [r["step"] for r in rows(tmp_path / "b")] == [str(s) for s in range(1, 7)]
    assert rows(tmp_path / "a")[-1]["val_loss"] == rows(tmp_path / "b")[-1]["val_loss"]


def test_steps_is_the_total_and_the_model_dir_describes_itself(prepared, tmp_path, tiny_model, tiny_train):
    train(tmp_path / "r", prepared, tiny_model, replace(tiny_train, steps=3), progress=False)
    result = train(
        tmp_path / "r", prepared, tiny_model, replace(tiny_train, steps=5), resume=True, progress=False
    )
    assert result.step == 5
    loaded = load_model(tmp_path / "r" / "model")
    assert loaded.card["steps"] in (3, 5) and loaded.card["best_validation_loss"] > 0
    assert (tmp_path / "r" / "tensorboard").is_dir() and any((tmp_path / "r" / "tensorboard").iterdir())
    # its recommended settings come from its data: top-p 0.95 and the training pieces' instrument budget
    assert loaded.sampling.top_p == 0.95 and isinstance(loaded.sampling.max_instruments, tuple)


def test_a_nan_loss_stops_with_a_clear_message_and_keeps_the_last_checkpoint(
    prepared, tmp_path, tiny_model, tiny_train
):
    with pytest.raises(TrainingError, match=r"loss became (nan|inf)") as info:
        train(tmp_path / "n", prepared, tiny_model, replace(tiny_train, steps=50, learning_rate=1e30, save_every=1),
              progress=False)  # fmt: skip
    assert "\n" not in str(info.value) and "intact" in str(info.value)
    state = load_state(tmp_path / "n" / "latest" / "state.pt")  # the last good step, loadable
    failed_at = int(str(info.value).split("at step ")[1].split(";")[0])
    assert int(state["step"]) == failed_at - 1


def test_early_stopping(prepared, tmp_path, tiny_model, tiny_train):
    config = replace(tiny_train, steps=40, eval_every=1, patience=2, learning_rate=0.5)  # diverges
    result = train(tmp_path / "e", prepared, tiny_model, config, progress=False)
    assert result.stopped == "early_stopping" and result.step < 40


def test_augmented_windows_are_a_pure_function_of_the_step(prepared):
    windows = TokenWindows(prepared, "train", 32, augment=Augment(transpose=3, stretch=0.05))
    assert torch.equal(windows.batch(7, 4, seed=1), windows.batch(7, 4, seed=1))
    assert not torch.equal(windows.batch(7, 4, seed=1), windows.batch(8, 4, seed=1))
    assert not torch.equal(
        windows.batch(7, 4, seed=1, rank=0, world_size=2), windows.batch(7, 4, seed=1, rank=1, world_size=2)
    )
    covered = sum(
        int((b[:, 1:] != 0).sum()) for b in TokenWindows(prepared, "validation", 32).eval_batches(3)
    )
    assert covered == len(TokenWindows(prepared, "validation", 32).tokens) - 1


def test_midinet_parameters_json(prepared, tmp_path, caplog):
    params = {"vocab_size": 520, "embedding_size": 32, "sequence_length": 32, "num_blocks": 1, "num_heads": 2,
              "feed_forward_dim": 64, "dropout": 0.0, "learning_rate": 0.001, "batch_size": 2, "dataset": "runescape"}  # fmt: skip
    (tmp_path / "parameters.json").write_text(json.dumps(params))
    model, training, ignored = configs_from_file(tmp_path / "parameters.json")
    assert model.num_blocks == 1 and training.batch_size == 2 and ignored == ("dataset",)
    assert main(["train", "--data", str(prepared), "--out", str(tmp_path / "m"), "--config",
                 str(tmp_path / "parameters.json"), "--steps", "2", "--quiet", "--device", "cpu"]) == 0  # fmt: skip
    assert "dataset" in caplog.text
    (tmp_path / "bad.json").write_text(json.dumps({**params, "vocab_size": 999}))
    assert main(["train", "--data", str(prepared), "--out", str(tmp_path / "m2"), "--config",
                 str(tmp_path / "bad.json"), "--quiet"]) == 2  # fmt: skip
    (tmp_path / "ours.json").write_text(json.dumps({"model": {"num_blocks": 1, "colour": "red"}}))
    with pytest.raises(ConfigError, match="colour"):
        configs_from_file(tmp_path / "ours.json")


def test_sigkill_during_checkpoint_writes_leaves_a_resumable_run(prepared, tmp_path):
    run = tmp_path / "k"
    cmd = [sys.executable, "-m", "overworld", "train", "--data", str(prepared), "--out", str(run), "--steps", "400",
           "--save-every", "1", "--eval-every", "1000", "--sequence-length", "32", "--embedding-size", "32",
           "--num-blocks", "1", "--num-heads", "2", "--feed-forward-dim", "64", "--batch-size", "2", "--quiet",
           "--device", "cpu"]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not (run / "latest" / "state.pt").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.7)  # it is now saving every step: the kill lands in or between writes
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    state = load_state(run / "latest" / "state.pt")  # loadable whatever the moment of the kill
    assert main(["train", "--data", str(prepared), "--out", str(run), "--resume", "--steps", str(int(state["step"]) + 2),
                 "--quiet", "--device", "cpu"]) == 0  # fmt: skip
    assert int(load_state(run / "latest" / "state.pt")["step"]) == int(state["step"]) + 2


def test_two_process_torchrun_on_gloo_trains_and_saves_one_model(prepared, tmp_path):
    run = tmp_path / "ddp"
    with socket.socket() as probe:  # a free port for the rendezvous
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "--master_addr=127.0.0.1",
           f"--master_port={port}", "-m", "overworld",
           "train", "--data", str(prepared), "--out", str(run), "--steps", "3", "--eval-every", "3", "--log-every", "1",
           "--sequence-length", "32", "--embedding-size", "32", "--num-blocks", "1", "--num-heads", "2",
           "--feed-forward-dim", "64", "--batch-size", "2", "--quiet", "--device", "cpu"]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            start_new_session=True)  # fmt: skip
    try:
        _out, err = proc.communicate(timeout=240)
    finally:
        if proc.poll() is None:  # never leave the workers behind
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 0, err[-2000:]
    assert load_model(run / "model").card["steps"] == 3
    assert len(rows(run)) == 3  # one writer: rank 0


def test_a_time_budget_before_the_first_validation_still_validates_the_model(
    prepared, tmp_path, tiny_model, tiny_train
):
    config = replace(tiny_train, steps=50, eval_every=100)
    result = train(tmp_path / "t", prepared, tiny_model, config, max_minutes=1e-6, progress=False)
    assert result.stopped == "time_budget" and result.step == 1
    assert result.best_val_loss is not None  # the model saved was validated
    assert load_model(tmp_path / "t" / "model").card["best_validation_loss"] == round(result.best_val_loss, 5)
    assert rows(tmp_path / "t")[-1]["val_loss"] != ""


def test_the_progress_bar_ends_where_the_time_budget_does(prepared, tmp_path, tiny_model, tiny_train, capsys):
    config = replace(tiny_train, steps=50, eval_every=100)
    result = train(tmp_path / "t", prepared, tiny_model, config, max_minutes=1e-6, progress=True)
    last = capsys.readouterr().err.strip().split("\r")[-1]
    assert f" {result.step}/{result.step} " in last  # not 1/50: the budget, not --steps, ended it
    # 10 steps in 10 s of a 60 s budget: the bar's total (and so its ETA) is step 60, not the 1000 asked for
    run = SimpleNamespace(started=time.monotonic() - 10, step=10, config=SimpleNamespace(steps=1000))
    assert 59 <= _steps_in_budget(run, 0, 60) <= 60
    assert _steps_in_budget(run, 0, 5) == 10  # past the budget: it stops here


def test_an_infill_rate_needs_a_tokenizer_that_can_infill(prepared, tmp_path, tiny_model, tiny_train):
    with pytest.raises(ConfigError, match="infill"):
        train(tmp_path / "run", prepared, tiny_model, replace(tiny_train, infill_rate=0.5), progress=False)
    with pytest.raises(ConfigError, match="infill_rate"):
        replace(tiny_train, infill_rate=1.5)


@pytest.mark.parametrize(
    ("flags", "reason"),
    [
        (["--steps", "-5"], "TrainConfig.steps must be at least 1, not -5"),  # wrote an untrained model once
        (["--batch-size", "0"], "TrainConfig.batch_size must be at least 1, not 0"),  # was a traceback
        (["--attention-dropout", "1.5"], "attention_dropout must be in [0, 1), not 1.5"),
        (
            ["--max-minutes", "-1"],
            "max_minutes must be 0 (no limit) or a positive number of minutes, not -1.0",
        ),
        (
            ["--max-minutes", "nan"],
            "max_minutes must be 0 (no limit) or a positive number of minutes, not nan",
        ),
    ],
)
def test_train_values_out_of_range_are_one_line_and_leave_no_run(prepared, tmp_path, capsys, flags, reason):
    run = tmp_path / "run"
    assert (
        main(["train", "--data", str(prepared), "--out", str(run), "--quiet", "--device", "cpu", *flags]) == 2
    )
    assert capsys.readouterr().err == f"overworld train: error: {reason}\n"
    assert not (run / "model").exists() and not (run / "latest").exists()
