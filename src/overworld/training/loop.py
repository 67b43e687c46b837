"""The training loop: AdamW, warm-up + cosine, clipping, accumulation, bf16 on CUDA, evaluation with
best/latest checkpoints, early stopping, TensorBoard + metrics.csv, exact resume, torchrun.

A run directory holds ``model/`` (the best model: config.json, model.safetensors, tokenizer.json, a model
card README.md), ``latest/state.pt`` (weights, optimizer, scheduler, step, RNG: everything resume needs,
see :class:`~overworld.training.checkpoint.TrainState`), ``metrics.csv``, ``tensorboard/`` and
``train_config.json``. One run holds a folder at a time (``RUN/.lock``), and a folder that holds a run
is trained into again only with ``resume`` or ``overwrite`` (see :mod:`overworld.training.run_folder`).

``train`` reads top to bottom: ``check_prepared`` and ``claim_run_folder``, then ``setup_run`` (device,
data, model, optimizer; the saved state on resume: :mod:`overworld.training.start`), then ``_train_step``
and ``_after_step`` until the run's total of steps, then ``_finish``. A
:class:`~overworld.training.start.Run` holds what they share.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from overworld.config import ModelConfig, TrainConfig
from overworld.errors import ConfigError, OverworldError
from overworld.evaluation.likelihood import evaluate_windows
from overworld.training.checkpoint import TrainState, nonfinite, reporting_disk_full, save_train_state
from overworld.training.distributed import is_main_process
from overworld.training.run_folder import claim_run_folder
from overworld.training.start import Run, check_prepared, setup_run, short_list

__all__ = ["TrainResult", "TrainingError", "train"]

log = logging.getLogger(__name__)


class TrainingError(OverworldError):
    """Training cannot go on (a NaN or infinite loss...); the last good checkpoint is intact."""


@dataclass(frozen=True)
class TrainResult:
    step: int
    best_val_loss: float | None
    stopped: str  # "done", "early_stopping", "interrupted", "time_budget"
    model_dir: Path


def _loss_and_hits(model: Any, batch: torch.Tensor, pad_id: int, device: torch.device, amp: bool):
    x, y = batch[:, :-1].to(device), batch[:, 1:].to(device)
    with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=amp):
        logits = model(x)  # (B, T, V)
    logits = logits.float()
    mask = y != pad_id
    loss_sum = F.cross_entropy(logits.transpose(1, 2), y, ignore_index=pad_id, reduction="sum")
    hits = ((logits.argmax(-1) == y) & mask).sum()
    return loss_sum, hits, mask.sum()


def _train_step(run: Run) -> tuple[float, float, float]:
    """One optimizer step over ``grad_accumulation`` micro-batches: (mean loss, hits, scored tokens)."""
    config = run.config
    accumulation = config.grad_accumulation
    loss_total = hits_total = count_total = 0.0
    for micro in range(accumulation):
        index = run.step * accumulation + micro
        batch = run.train_windows.batch(
            index, config.batch_size, config.seed, run.dist.rank, run.dist.world_size
        )
        loss_sum, hits, count = _loss_and_hits(run.net, batch, run.tokenizer.pad_id, run.device, run.amp)
        loss = loss_sum / count.clamp(min=1) / accumulation
        loss.backward()
        loss_total += float(loss.detach()) * accumulation
        hits_total, count_total = hits_total + float(hits), count_total + float(count)
    loss_value = loss_total / accumulation
    if not math.isfinite(loss_value):
        raise TrainingError(
            f"the loss became {loss_value} at step {run.step + 1}; stopped. The last good "
            f"checkpoint in {run.run / 'latest'} is intact (try a lower --lr)"
        )
    if config.grad_clip:
        torch.nn.utils.clip_grad_norm_(run.model.parameters(), config.grad_clip)
    run.optimizer.step()
    run.scheduler.step()
    run.optimizer.zero_grad(set_to_none=True)
    run.step += 1
    run.tokens_seen += int(count_total)
    return loss_value, hits_total, count_total


def _train_row(run: Run, loss_value: float, hits: float, count: float) -> dict[str, float]:
    """The training columns of a metrics row, with the token rate since the last row."""
    now = time.monotonic()
    rate = run.tokens_seen * run.dist.world_size / max(now - run.window_start, 1e-9)
    run.tokens_seen, run.window_start = 0, time.monotonic()
    return {
        "step": run.step,
        "elapsed_s": round(time.monotonic() - run.started, 2),
        "lr": run.scheduler.get_last_lr()[0],
        "train_loss": run.dist.all_mean(loss_value, run.device),
        "train_accuracy": hits / max(count, 1),
        "tokens_per_s": round(rate, 1),
    }


def _validate(run: Run) -> dict[str, float]:
    """Score the validation split; a new best is saved as the run's model."""
    config = run.config
    scores = evaluate_windows(
        run.model, run.val_windows, config.batch_size, run.device, run.amp, config.eval_batches
    )
    if run.best is None or scores["val_loss"] < run.best:
        run.best, run.bad_evals = scores["val_loss"], 0
        _save_best(run)
        run.saved_best = True
    else:
        run.bad_evals += 1
    return {"step": run.step, "elapsed_s": round(time.monotonic() - run.started, 2), **scores}


def _after_step(run: Run, loss_value: float, hits: float, count: float, bar: Any) -> None:
    """Log, validate and save on their schedules."""
    config, last = run.config, run.step == run.config.steps
    if bar is not None:
        bar.update(1)
    row: dict[str, float] = {}
    if run.step % config.log_every == 0 or last:
        row.update(_train_row(run, loss_value, hits, count))
        if bar is not None:
            bar.set_postfix(loss=f"{loss_value:.3f}", tok_s=f"{row['tokens_per_s']:.0f}")
    if run.val_windows is not None and (run.step % config.eval_every == 0 or last):
        row.update(_validate(run))
        if bar is not None:
            bar.set_postfix(loss=f"{loss_value:.3f}", val=f"{row['val_loss']:.3f}")
    if row:
        run.metrics.log(row)
    if run.step % config.save_every == 0:
        _save_latest(run)


def _check_finite(run: Run) -> None:
    """Never save non-finite weights (a finite loss can still step into NaN weights): stop instead."""
    if bad := nonfinite(run.model.state_dict()):
        raise TrainingError(
            f"the weights became NaN or infinite at step {run.step} ({short_list(bad)}); stopped before "
            f"saving them. The last good checkpoint in {run.run / 'latest'} is intact (try a lower --lr)"
        )


def _save_latest(run: Run) -> None:
    _check_finite(run)
    if not run.dist.is_main:
        return
    state = TrainState(
        model=run.model.state_dict(),
        optimizer=run.optimizer.state_dict(),
        scheduler=run.scheduler.state_dict(),
        model_config=run.model_config,
        step=run.step,
        best=run.best,
        bad_evals=run.bad_evals,
        rng_cpu=torch.get_rng_state(),
        rng_cuda=torch.cuda.get_rng_state() if run.device.type == "cuda" else None,
    )
    save_train_state(run.state_path, state)


def _save_best(run: Run) -> None:
    from overworld.generation.controls import settings_from_data
    from overworld.generation.plans import PLANS_FILE, write_plans
    from overworld.models import save_model
    from overworld.tokenizers.abilities import has_bars

    _check_finite(run)
    if run.dist.is_main:
        with reporting_disk_full(run.model_dir):
            arranges = has_bars(run.tokenizer)  # bar tokens: plans to draw from
            save_model(
                run.model_dir,
                run.model,
                run.tokenizer,
                _card(run),
                sampling=settings_from_data(run.manifest, plans=arranges),
            )
            if arranges and not (run.model_dir / PLANS_FILE).is_file():
                write_plans(run.data, run.model_dir / PLANS_FILE)


def _card(run: Run) -> dict[str, Any]:
    """What the model card says about this run: the data, the steps and the best validation loss."""
    sources = sorted({f.get("source", "?") for f in run.manifest.get("files", [])})
    best, config = run.best, run.config
    return {
        "data": {"prepared": str(run.data), "sources": sources, "splits": run.manifest.get("splits", {})},
        "steps": run.step,
        "best_validation_loss": None if best is None else round(best, 5),
        "best_validation_bits_per_token": None if best is None else round(best / math.log(2), 5),
        "batch_size": config.batch_size,
        "learning_rate": config.learning_rate,
        "initialised_from": run.init_from,
        "parameters": run.model.num_parameters(),
    }


def _steps_in_budget(run: Run, first_step: int, budget_s: float) -> int:
    """The step the run will stop at: its total, or where the time budget ends at the rate so far."""
    elapsed, done = time.monotonic() - run.started, run.step - first_step
    if elapsed >= budget_s:
        return run.step
    if done == 0:
        return run.config.steps
    return min(run.config.steps, max(run.step, first_step + int(done * budget_s / elapsed)))


def _run_steps(run: Run, max_minutes: float, progress: bool, on_step: Callable[[int], None] | None) -> str:
    """Step until the run's total, early stopping, the time budget or Ctrl-C; returns why it stopped.
    Under a time budget the bar's total is where the budget will end, so its ETA is the budget's."""
    config, bar, first_step = run.config, None, run.step
    if progress and run.dist.is_main:
        from tqdm import tqdm

        bar = tqdm(total=config.steps, initial=run.step, desc="train", unit="step", dynamic_ncols=True)
    run.started = run.window_start = time.monotonic()
    run.model.train()
    try:
        while run.step < config.steps:
            _after_step(run, *_train_step(run), bar)
            if on_step is not None:
                on_step(run.step)
            if bar is not None and max_minutes:
                bar.total = _steps_in_budget(run, first_step, max_minutes * 60)
            if config.patience and run.bad_evals >= config.patience:
                return "early_stopping"
            if max_minutes and time.monotonic() - run.started > max_minutes * 60:
                return "time_budget"
    except KeyboardInterrupt:
        return "interrupted"
    finally:
        if bar is not None:
            bar.close()
    return "done"


def _finish(run: Run, stopped: str) -> TrainResult:
    """Save the latest state; validate if nothing has been (a time budget or Ctrl-C before the first
    evaluation), so the model saved is a validated one; save the model when validation did not choose one;
    leave the process group."""
    _save_latest(run)
    if run.val_windows is not None and run.best is None:
        run.metrics.log(_validate(run))
    elif not run.saved_best or run.val_windows is None:
        _save_best(run)
    run.dist.barrier()
    run.dist.close()
    return TrainResult(step=run.step, best_val_loss=run.best, stopped=stopped, model_dir=run.model_dir)


def train(
    run_dir: str | Path,
    data_dir: str | Path,
    model_config: ModelConfig,
    train_config: TrainConfig,
    *,
    resume: bool = False,
    init_from: str | Path | None = None,
    max_minutes: float = 0.0,
    progress: bool = True,
    on_step: Callable[[int], None] | None = None,
    overwrite: bool = False,
) -> TrainResult:
    """Train into ``run_dir`` on the prepared ``data_dir``. ``train_config.steps`` is the run's total.

    A ``run_dir`` that already holds a run needs ``resume`` (go on from its ``latest/``) or ``overwrite``
    (replace it); one that another run is using is a :class:`~overworld.training.run_folder.RunFolderError`.
    ``on_step(step)`` is called after every optimizer step (tests interrupt through it). Ctrl-C saves the
    latest state and returns with ``stopped="interrupted"``.
    """
    run_dir, data_dir = Path(run_dir), Path(data_dir)
    if not 0 <= max_minutes < math.inf:  # nan fails too: -1 stopped after one step, nan never
        raise ConfigError(
            f"max_minutes must be 0 (no limit) or a positive number of minutes, not {max_minutes}"
        )
    check_prepared(data_dir)
    # rank 0 holds the folder for every rank
    claim = (
        claim_run_folder(run_dir, resume=resume, overwrite=overwrite) if is_main_process() else nullcontext()
    )
    with claim:
        run = setup_run(run_dir, data_dir, model_config, train_config, resume, init_from)
        try:
            stopped = _run_steps(run, max_minutes, progress, on_step)
            return _finish(run, stopped)
        finally:
            run.metrics.close()
