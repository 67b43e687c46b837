"""Checkpoints: a full disk is one line and keeps the previous one; NaN weights are never saved or
loaded; a damaged or tampered training state is a one-line error, never a traceback half-way through a
resume; files get the user's umask."""

from __future__ import annotations

import errno
import json
import os
import stat
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest
import torch

from overworld.cli import main
from overworld.config import ModelConfig
from overworld.errors import ConfigError, DataError
from overworld.models import build_model, save_model
from overworld.tokenizers import load_tokenizer
from overworld.training.checkpoint import (
    DiskFullError,
    TrainState,
    load_state,
    load_train_state,
    nonfinite,
    restore,
    save_state,
)
from overworld.training.loop import TrainingError, train
from overworld.training.start import load_init_from

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
    assert (
        err
        == f"overworld train: error: no space left on device while saving {run / 'model'}; the previous checkpoint is intact\n"
    )


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
    # load_model itself refuses them now, naming the file
    with pytest.raises(DataError, match=r"broken/model.safetensors: .* NaN or infinite") as info:
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


# A run's state as the loop keeps it: a model, AdamW over two weight groups (decay, no decay), a schedule.
SMALL = ModelConfig(
    vocab_size=20,
    embedding_size=16,
    sequence_length=8,
    num_blocks=1,
    num_heads=2,
    feed_forward_dim=32,
    dropout=0.0,
)


def _run_parts(config: ModelConfig = SMALL) -> tuple[torch.nn.Module, Any, Any]:
    model = build_model(config, seed=0)
    matrices = [p for p in model.parameters() if p.ndim >= 2]
    others = [p for p in model.parameters() if p.ndim < 2]
    optimizer = torch.optim.AdamW([{"params": matrices}, {"params": others, "weight_decay": 0.0}], lr=1e-3)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)
    return model, optimizer, scheduler


def _state_after_two_steps() -> dict[str, Any]:
    model, optimizer, scheduler = _run_parts()
    ids = torch.randint(
        0, SMALL.vocab_size, (2, SMALL.sequence_length), generator=torch.Generator().manual_seed(0)
    )
    for _ in range(2):
        logits = model(ids[:, :-1])  # (B, T-1, V)
        torch.nn.functional.cross_entropy(logits.transpose(1, 2), ids[:, 1:]).backward()
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad()
    state = TrainState(
        model=model.state_dict(),
        optimizer=optimizer.state_dict(),
        scheduler=scheduler.state_dict(),
        model_config=SMALL,
        step=2,
        best=3.0,
        rng_cpu=torch.get_rng_state(),
    )
    return state.to_dict()


def _other_config(s: dict[str, Any], **changes: Any) -> dict[str, Any]:
    s["model_config"] = json.dumps({**json.loads(s["model_config"]), **changes})
    return s


def _first(tensors: dict[str, Any]) -> str:
    return next(iter(tensors))


def _as_sgd(s: dict[str, Any]) -> dict[str, Any]:
    """The same weight groups, but SGD's settings and momentum buffers: another optimizer's state."""
    for group in s["optimizer"]["param_groups"]:
        for key in ("betas", "eps", "amsgrad", "decoupled_weight_decay"):
            group.pop(key, None)
        group.update(momentum=0.9, dampening=0.0, nesterov=False)
    s["optimizer"]["state"] = {
        k: {"momentum_buffer": v["exp_avg"]} for k, v in s["optimizer"]["state"].items()
    }
    return s


def _moments(s: dict[str, Any], key: str, value: torch.Tensor) -> dict[str, Any]:
    for moments in s["optimizer"]["state"].values():
        moments[key] = value
    return s


def _set(key: str, value: Any) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda s: {**s, key: value}


def _drop(key: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda s: {k: v for k, v in s.items() if k != key}


def _model(change: Callable[[dict[str, torch.Tensor]], None]) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def tamper(s: dict[str, Any]) -> dict[str, Any]:
        change(s["model"])
        return s

    return tamper


def _schedule(key: str, value: Any) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda s: {**s, "scheduler": {**s["scheduler"], key: value}}


# name: (what is done to the saved dict, what the one-line error says); before these checks, 27 of these 32
# were tracebacks half-way through a resume or were silently accepted
TAMPERINGS: dict[str, tuple[Callable[[dict[str, Any]], Any], str]] = {
    **{
        f"no {key}": (_drop(key), f"it has no {key}")
        for key in ("model", "optimizer", "scheduler", "step", "best", "bad_evals", "rng_cpu", "model_config")
    },
    "a list, not a dict": (lambda s: [1, 2], "it holds a list"),
    "a negative step": (_set("step", -5), "step must be a whole number at least 0, not -5"),
    "a fractional step": (_set("step", 1.5), "not 1.5"),
    "a step as text": (_set("step", "two"), "not 'two'"),
    "a step ahead of its schedule": (
        _set("step", 10**12),
        "step 1000000000000 disagrees with its schedule's 2",
    ),
    "step and schedule ahead of the optimizer": (
        lambda s: {**s, "step": 3, "scheduler": {**s["scheduler"], "last_epoch": 3}},
        "its optimizer took 2 steps, but its step is 3",
    ),
    "a negative bad_evals": (_set("bad_evals", -1), "bad_evals must be a whole number at least 0"),
    "best as text": (_set("best", "low"), "best must be a one-number float tensor"),
    "an infinite best": (_set("best", torch.tensor(float("inf"))), "best validation loss is inf"),
    "a float rng state": (_set("rng_cpu", torch.zeros(5)), "rng_cpu must be a random generator's byte state"),
    "a short rng state": (_set("rng_cpu", torch.zeros(5, dtype=torch.uint8)), "rng_cpu must be"),
    "model_config not JSON": (_set("model_config", "{nope"), "cannot be resumed: Expecting property name"),
    "model_config a list": (_set("model_config", "[1]"), "model_config must be a JSON object"),
    "model_config with an unknown key": (lambda s: _other_config(s, wings=2), "unknown key 'wings'"),
    "model_config of another width": (
        lambda s: _other_config(s, embedding_size=32),
        "weight embedding.weight has shape (20, 16), its model_config needs (20, 32)",
    ),
    "a weight of the wrong shape": (
        _model(lambda m: m.update({_first(m): m[_first(m)][:-1]})),
        "has shape (19, 16), its model_config needs",
    ),
    "a missing weight": (_model(lambda m: m.pop(_first(m))), "missing ['embedding.weight']"),
    "an extra weight": (_model(lambda m: m.update(extra=torch.zeros(2))), "unexpected ['extra']"),
    "integer weights": (
        _model(lambda m: m.update({k: v.long() for k, v in m.items()})),
        "is a torch.int64 tensor of shape",
    ),
    "weights not a dict": (_set("model", torch.zeros(3)), "model must be a dict of tensors"),
    "an optimizer not a dict": (
        _set("optimizer", [1, 2]),
        "optimizer is a list, not an optimizer's state dict",
    ),
    "SGD's state instead of AdamW's": (
        _as_sgd,
        "its optimizer is not AdamW (it has dampening, momentum, nesterov",
    ),
    "one weight group instead of two": (
        lambda s: {**s, "optimizer": {**s["optimizer"], "param_groups": s["optimizer"]["param_groups"][:1]}},
        "its optimizer has weight groups of [",
    ),
    "moments of the wrong shape": (
        lambda s: _moments(s, "exp_avg", torch.zeros(3, 3)),
        "its optimizer's exp_avg has shape (3, 3)",
    ),
    "more optimizer steps than the run's": (
        lambda s: _moments(s, "step", torch.tensor(50.0)),
        "its optimizer took 50 steps, but its step is 2",
    ),
    "a schedule with no last_epoch": (_set("scheduler", {}), "scheduler last_epoch must be a whole number"),
    "a schedule setting an attribute it lacks": (
        _schedule("optimizer", None),
        "its schedule has settings this run's has not: optimizer",
    ),
    "a schedule with one rate for two groups": (_schedule("base_lrs", [1.0]), "base_lrs is a list, not 2"),
}


def test_an_untampered_state_restores_exactly(tmp_path):
    path = tmp_path / "state.pt"
    saved = _state_after_two_steps()
    save_state(path, saved)
    model, optimizer, scheduler = _run_parts()
    restore(load_train_state(path), model, optimizer, scheduler, path)
    assert all(torch.equal(model.state_dict()[k], v) for k, v in saved["model"].items())
    assert scheduler.last_epoch == 2 and optimizer.state_dict()["state"][0]["step"] == 2


@pytest.mark.parametrize("tampering", sorted(TAMPERINGS))
def test_a_tampered_training_state_is_a_one_line_error(tmp_path, tampering):
    change, reason = TAMPERINGS[tampering]
    path = tmp_path / "state.pt"
    save_state(path, change(_state_after_two_steps()))
    with pytest.raises(DataError) as info:
        state = load_train_state(path)
        model, optimizer, scheduler = _run_parts(state.model_config)
        restore(state, model, optimizer, scheduler, path)
    message = str(info.value)
    assert "\n" not in message and reason in message, message
    assert message.startswith(f"training state {path} cannot be resumed: ")
    assert message.endswith("; start afresh with --overwrite")


def test_resuming_a_tampered_state_from_the_cli_is_one_line(prepared, tmp_path, capsys):
    run = tmp_path / "r"
    assert main(["train", "--data", str(prepared), "--out", str(run), "--steps", "2", *TINY]) == 0
    path = run / "latest" / "state.pt"
    state = load_state(path)
    for moments in state["optimizer"]["state"].values():
        moments["exp_avg"] = torch.zeros(3, 3)  # used to fail at the first step with a size mismatch
    save_state(path, state)
    capsys.readouterr()
    assert main(["train", "--data", str(prepared), "--out", str(run), "--steps", "4", "--resume", *TINY]) == 2
    err = capsys.readouterr().err
    assert err.startswith(
        f"overworld train: error: training state {path} cannot be resumed: its optimizer's "
    )
    assert err.count("\n") == 1 and "Traceback" not in err


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o077, 0o600)], ids=oct)
def test_training_state_is_written_with_the_users_umask(tmp_path, umask, mode):
    old = os.umask(umask)
    try:
        save_state(tmp_path / "latest" / "state.pt", {"step": 1})
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "latest" / "state.pt").stat().st_mode) == mode


def test_starting_from_a_shorter_window_loads_every_weight(prepared, tmp_path, tiny_model):
    # rope keeps no weight per position, so a model fine-tunes to a longer window from its own weights
    tokenizer = load_tokenizer(prepared)
    short = replace(tiny_model, attention="rope", vocab_size=tokenizer.vocab_size)
    source = build_model(short, seed=1)
    save_model(tmp_path / "short", source, tokenizer)
    longer = build_model(replace(short, sequence_length=64), seed=2)
    load_init_from(longer, tmp_path / "short", tokenizer)
    weights = longer.state_dict()
    assert all(torch.equal(weights[name], value) for name, value in source.state_dict().items())


def test_a_window_that_relative_attention_weights_depend_on_cannot_change(prepared, tmp_path, tiny_model):
    tokenizer = load_tokenizer(prepared)
    short = replace(tiny_model, vocab_size=tokenizer.vocab_size)  # relative: one embedding per distance
    save_model(tmp_path / "short", build_model(short, seed=1), tokenizer)
    longer = build_model(replace(short, sequence_length=64), seed=2)
    with pytest.raises(ConfigError, match="only the window of rope or alibi") as info:
        load_init_from(longer, tmp_path / "short", tokenizer)
    assert "\n" not in str(info.value)
