"""Checkpoints: a full disk is one line and keeps the previous one; NaN weights are never saved or
loaded."""

from __future__ import annotations

import errno
from dataclasses import replace

import pytest
import torch

from overworld.cli import main
from overworld.errors import DataError
from overworld.models import build_model, save_model
from overworld.tokenizers import load_tokenizer
from overworld.training.checkpoint import DiskFullError, load_state, nonfinite, save_state
from overworld.training.loop import TrainingError, train

TINY = ["--sequence-length", "32", "--embedding-size", "32", "--num-blocks", "1", "--num-heads", "2",
        "--feed-forward-dim", "64", "--batch-size", "2", "--quiet", "--device", "cpu"]  # fmt: skip


def _wrapped_enospc():  # what torch.save raises when the file under it hits ENOSPC
    try:
        raise OSError(errno.ENOSPC, "No space left on device")
    except OSError:
        raise RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 704 vs 598") from None


def _enospc():
    raise OSError(errno.ENOSPC, "No space left on device")


def _message():
    raise RuntimeError("PytorchStreamWriter failed writing file data/3: No space left on device")


@pytest.mark.parametrize("full", [_enospc, _wrapped_enospc, _message])
def test_a_full_disk_during_a_checkpoint_is_one_line_and_keeps_the_previous(
    prepared, tmp_path, tiny_model, tiny_train, monkeypatch, full
):
    run = tmp_path / "r"
    train(run, prepared, tiny_model, replace(tiny_train, steps=2), progress=False)
    before = (run / "latest" / "state.pt").read_bytes()

    def save(obj, handle, *args, **kwargs):
        handle.write(b"the first bytes of a checkpoint")
        full()

    monkeypatch.setattr(torch, "save", save)
    with pytest.raises(DiskFullError) as info:
        train(run, prepared, tiny_model, replace(tiny_train, steps=4), resume=True, progress=False)
    path = run / "latest" / "state.pt"
    assert (
        str(info.value) == f"no space left on device while saving {path}; the previous checkpoint is intact"
    )
    assert path.read_bytes() == before and not list(run.rglob("*.tmp"))


def test_a_full_disk_while_saving_the_model_is_one_line_from_the_cli(prepared, tmp_path, monkeypatch, capsys):
    import safetensors.torch

    def save_file(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(safetensors.torch, "save_file", save_file)
    run = tmp_path / "r"
    assert main(["train", "--data", str(prepared), "--out", str(run), "--steps", "2", *TINY]) == 2
    err = capsys.readouterr().err
    assert err == f"overworld train: error: no space left on device while saving {run / 'model'}; the previous checkpoint is intact\n"  # fmt: skip


def test_resuming_from_a_state_with_nan_weights_is_a_one_line_error(
    prepared, tmp_path, tiny_model, tiny_train
):
    run = tmp_path / "r"
    train(run, prepared, tiny_model, replace(tiny_train, steps=2), progress=False)
    path = run / "latest" / "state.pt"
    state = load_state(path)
    name = next(k for k, t in state["model"].items() if t.is_floating_point())
    state["model"][name].view(-1)[0] = float("nan")
    save_state(path, state)
    with pytest.raises(DataError, match="NaN or infinite values") as info:
        train(run, prepared, tiny_model, replace(tiny_train, steps=4), resume=True, progress=False)
    assert (
        "\n" not in str(info.value)
        and f"model.{name}" in str(info.value)
        and "--overwrite" in str(info.value)
    )


def test_starting_from_a_model_with_nan_weights_is_a_one_line_error(
    prepared, tmp_path, tiny_model, tiny_train
):
    tokenizer = load_tokenizer(prepared)
    model = build_model(replace(tiny_model, vocab_size=tokenizer.vocab_size))
    with torch.no_grad():
        next(model.parameters()).view(-1)[0] = float("inf")
    save_model(tmp_path / "broken", model, tokenizer)
    with pytest.raises(DataError, match=r"--init-from .*NaN or infinite") as info:
        train(tmp_path / "r", prepared, tiny_model, tiny_train, init_from=tmp_path / "broken", progress=False)
    assert "\n" not in str(info.value)


def test_weights_that_turn_nan_are_never_saved(prepared, tmp_path, tiny_model, tiny_train, monkeypatch):
    clip, calls = torch.nn.utils.clip_grad_norm_, []

    def clip_infinite_at_step_3(parameters, max_norm, *args, **kwargs):
        parameters = list(parameters)
        calls.append(1)
        if len(calls) == 3:  # a finite loss, but infinite gradients: the step makes the weights NaN
            for p in parameters:
                p.grad.fill_(float("inf"))
        return clip(parameters, max_norm, *args, **kwargs)

    monkeypatch.setattr(torch.nn.utils, "clip_grad_norm_", clip_infinite_at_step_3)
    run = tmp_path / "r"
    with pytest.raises(TrainingError, match=r"at step 3 .*intact") as info:
        train(run, prepared, tiny_model, replace(tiny_train, save_every=1), progress=False)
    assert "\n" not in str(info.value)
    state = load_state(run / "latest" / "state.pt")  # the last good checkpoint really is good
    assert int(state["step"]) == 2 and not nonfinite(state["model"])
