"""The training loop: AdamW, warm-up + cosine, clipping, accumulation, bf16 on CUDA, evaluation with
best/latest checkpoints, early stopping, TensorBoard + metrics.csv, exact resume, torchrun.

A run directory holds ``model/`` (the best model: config.json, model.safetensors, tokenizer.json, a model
card README.md), ``latest/state.pt`` (weights, optimizer, scheduler, step, RNG: everything resume needs,
see :class:`~overworld.training.checkpoint.TrainState`), ``metrics.csv``, ``tensorboard/`` and
``train_config.json``.

``train`` reads top to bottom: ``_setup`` (device, data, model, optimizer; ``_restore`` on resume), then
``_train_step`` and ``_after_step`` until the run's total of steps, then ``_finish``. A :class:`_Run`
holds what they share.
"""

from __future__ import annotations

import csv
import json
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from overworld.config import ModelConfig, TrainConfig, config_to_dict
from overworld.data.dataset import Augment, TokenWindows
from overworld.data.shards import read_manifest
from overworld.devices import pick_device
from overworld.errors import ConfigError, DataError, OverworldError
from overworld.evaluation.likelihood import evaluate_windows
from overworld.tokenizers import Tokenizer
from overworld.training.checkpoint import TrainState, load_train_state, save_train_state
from overworld.training.distributed import Distributed, setup_distributed
from overworld.training.schedule import lr_factor

__all__ = ["TrainResult", "TrainingError", "train"]

log = logging.getLogger(__name__)

METRIC_COLUMNS = (
    "step",
    "elapsed_s",
    "lr",
    "train_loss",
    "train_accuracy",
    "tokens_per_s",
    "val_loss",
    "val_accuracy",
    "val_bits_per_token",
)


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


def _param_groups(model: torch.nn.Module, weight_decay: float) -> list[dict[str, Any]]:
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        (decay if p.ndim >= 2 and "embedding" not in name and ".rel" not in name else no_decay).append(p)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


class _Metrics:
    """metrics.csv (one row per logged step) and TensorBoard, written by rank 0 only."""

    def __init__(self, run: Path, resume_step: int | None, enabled: bool) -> None:
        self.enabled = enabled
        self.path = run / "metrics.csv"
        self.writer = None
        if not enabled:
            return
        rows = []
        if resume_step is not None and self.path.exists():
            with open(self.path, newline="") as handle:
                rows = [r for r in csv.DictReader(handle) if int(r["step"]) <= resume_step]
        with open(self.path, "w", newline="") as handle:
            w = csv.DictWriter(handle, METRIC_COLUMNS)
            w.writeheader()
            w.writerows(rows)
        try:
            from torch.utils.tensorboard import SummaryWriter

            self.writer = SummaryWriter(str(run / "tensorboard"), purge_step=resume_step)
        except ImportError:  # tensorboard missing: metrics.csv still has everything
            log.warning("tensorboard is not installed; logging to metrics.csv only")

    def log(self, row: dict[str, float]) -> None:
        if not self.enabled:
            return
        with open(self.path, "a", newline="") as handle:
            csv.DictWriter(handle, METRIC_COLUMNS).writerow({k: row.get(k, "") for k in METRIC_COLUMNS})
        if self.writer is not None:
            for key, value in row.items():
                if key != "step":
                    self.writer.add_scalar(key.replace("_", "/", 1), value, int(row["step"]))
            self.writer.flush()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


@dataclass
class _Run:
    """What the named steps of one training run share: built by ``_setup``, advanced by ``_train_step``."""

    run: Path
    data: Path
    model_config: ModelConfig
    config: TrainConfig
    device: torch.device
    dist: Distributed
    tokenizer: Tokenizer
    model: Any  # the LanguageModel itself: what is saved and evaluated
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LambdaLR
    manifest: dict[str, Any]
    init_from: str | None
    amp: bool
    net: Any = None  # what the steps run: the model, compiled and/or wrapped for DDP
    train_windows: TokenWindows | None = None
    val_windows: TokenWindows | None = None
    metrics: _Metrics | None = None
    resumed: bool = False
    step: int = 0
    best: float | None = None
    bad_evals: int = 0
    saved_best: bool = False
    started: float = field(default_factory=time.monotonic)
    tokens_seen: int = 0
    window_start: float = field(default_factory=time.monotonic)

    @property
    def state_path(self) -> Path:
        return self.run / "latest" / "state.pt"

    @property
    def model_dir(self) -> Path:
        return self.run / "model"


def _model_config_for(
    model_config: ModelConfig, state: TrainState | None, tokenizer: Tokenizer, data: Path
) -> ModelConfig:
    """The run's architecture: the saved one on resume, with the vocabulary taken from the tokenizer."""
    if state is not None:
        saved = state.model_config
        defaults = replace(ModelConfig(), vocab_size=saved.vocab_size)
        if replace(model_config, vocab_size=saved.vocab_size) not in (saved, defaults):
            log.warning("--resume keeps the run's model config; the one given now is ignored")
        model_config = saved
    if model_config.vocab_size == 0:
        return replace(model_config, vocab_size=tokenizer.vocab_size)
    if model_config.vocab_size != tokenizer.vocab_size:
        raise ConfigError(
            f"config vocab_size {model_config.vocab_size} does not match the tokenizer of {data} "
            f"({tokenizer.name}, {tokenizer.vocab_size} tokens); drop vocab_size from the config"
        )
    return model_config


def _load_init_from(model: Any, init_from: str | Path, tokenizer: Tokenizer) -> None:
    """Start from another model's weights (fine-tuning): same architecture, same tokenizer."""
    from overworld.models import load_model

    source = load_model(init_from)
    if source.config != model.config:
        raise ConfigError(
            f"--init-from {init_from}: its architecture differs from this run's "
            "(use the same --config, or none to take its own)"
        )
    if source.tokenizer.to_dict() != tokenizer.to_dict():
        raise ConfigError(f"--init-from {init_from}: its tokenizer differs from the data's")
    model.load_state_dict(source.model.state_dict())


def _setup(
    run_dir: Path,
    data: Path,
    model_config: ModelConfig,
    config: TrainConfig,
    resume: bool,
    init_from: str | Path | None,
) -> _Run:
    """Device, process group, tokenizer, model, optimizer and schedule; then the saved state on resume
    (or the seed), the data windows, the wrapped model and the metrics."""
    from overworld.models import build_model
    from overworld.tokenizers import load_tokenizer

    device = pick_device(config.device)
    dist = setup_distributed(device)
    if device.type == "cuda" and dist.enabled:
        device = torch.device("cuda", dist.local_rank)
        torch.cuda.set_device(device)
    tokenizer = load_tokenizer(data)
    manifest = read_manifest(data) if (data / "manifest.json").exists() else {}
    state = load_train_state(run_dir / "latest" / "state.pt") if resume else None
    model_config = _model_config_for(model_config, state, tokenizer, data)
    if dist.is_main:
        run_dir.mkdir(parents=True, exist_ok=True)
        record = {"model": config_to_dict(model_config), "train": config_to_dict(config), "data": str(data)}
        (run_dir / "train_config.json").write_text(json.dumps(record, indent=1), encoding="utf-8")
    model = build_model(model_config, seed=config.seed)
    if init_from is not None and state is None:
        _load_init_from(model, init_from, tokenizer)
    model.to(device)
    groups = _param_groups(model, config.weight_decay)
    optimizer = torch.optim.AdamW(
        groups, lr=config.learning_rate, betas=config.betas, fused=device.type == "cuda"
    )
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: lr_factor(s, config))
    run = _Run(
        run=run_dir,
        data=data,
        model_config=model_config,
        config=config,
        device=device,
        dist=dist,
        tokenizer=tokenizer,
        model=model,
        optimizer=optimizer,
        scheduler=scheduler,
        manifest=manifest,
        init_from=init_from and str(init_from),
        amp=config.amp and device.type == "cuda",
    )
    if state is not None:
        _restore(run, state)
    else:
        torch.manual_seed(config.seed)
    _attach_data(run)
    run.net = _wrap(run)
    run.metrics = _Metrics(run_dir, run.step if run.resumed else None, dist.is_main)
    return run


def _restore(run: _Run, state: TrainState) -> None:
    """Weights, optimizer, schedule, counters and RNG from ``latest/``: the run goes on bit for bit."""
    config = run.config
    run.model.load_state_dict(state.model)
    run.optimizer.load_state_dict(state.optimizer)
    run.scheduler.load_state_dict(state.scheduler)
    for group in run.optimizer.param_groups:  # a new --lr or --steps applies from here on
        group["initial_lr"] = config.learning_rate
    groups = len(run.optimizer.param_groups)
    run.scheduler.base_lrs = [config.learning_rate] * groups
    run.scheduler.lr_lambdas = [lambda s: lr_factor(s, config)] * groups
    run.step, run.best, run.bad_evals = state.step, state.best, state.bad_evals
    run.resumed = True
    run.saved_best = run.model_dir.exists()
    if state.rng_cpu is not None:
        torch.set_rng_state(state.rng_cpu)
    if run.device.type == "cuda" and state.rng_cuda is not None:
        torch.cuda.set_rng_state(state.rng_cuda)


def _attach_data(run: _Run) -> None:
    """Training windows (augmented) and validation windows, when the data has a validation split."""
    length, config = run.model_config.sequence_length, run.config
    augment = Augment(config.augment_transpose, config.augment_stretch)
    run.train_windows = TokenWindows(run.data, "train", length, augment=augment, tokenizer=run.tokenizer)
    try:
        run.val_windows = TokenWindows(run.data, "validation", length, tokenizer=run.tokenizer)
    except DataError:
        run.val_windows = None
        log.warning("no validation split in %s: no evaluation, the last weights become the model", run.data)


def _wrap(run: _Run) -> Any:
    """The model as the steps run it: ``torch.compile``d on request, in DDP under torchrun."""
    net: Any = run.model
    if run.config.compile:
        net = torch.compile(net)
    if run.dist.enabled:
        from torch.nn.parallel import DistributedDataParallel

        device_ids = [run.device.index] if run.device.type == "cuda" else None
        net = DistributedDataParallel(net, device_ids=device_ids)
    return net


def _train_step(run: _Run) -> tuple[float, float, float]:
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


def _train_row(run: _Run, loss_value: float, hits: float, count: float) -> dict[str, float]:
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


def _validate(run: _Run) -> dict[str, float]:
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


def _after_step(run: _Run, loss_value: float, hits: float, count: float, bar: Any) -> None:
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


def _save_latest(run: _Run) -> None:
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


def _save_best(run: _Run) -> None:
    from overworld.models import save_model

    if run.dist.is_main:
        save_model(run.model_dir, run.model, run.tokenizer, _card(run))


def _card(run: _Run) -> dict[str, Any]:
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


def _run_steps(run: _Run, max_minutes: float, progress: bool, on_step: Callable[[int], None] | None) -> str:
    """Step until the run's total, early stopping, the time budget or Ctrl-C; returns why it stopped."""
    config, bar = run.config, None
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
            if config.patience and run.bad_evals >= config.patience:
                return "early_stopping"
            if max_minutes and time.monotonic() - run.started > max_minutes * 60:
                return "time_budget"
    except KeyboardInterrupt:
        return "interrupted"
    finally:
        if bar is not None:
            bar.close()
        run.metrics.close()
    return "done"


def _finish(run: _Run, stopped: str) -> TrainResult:
    """Save the latest state, and the model when no validation chose one; leave the process group."""
    _save_latest(run)
    if not run.saved_best or run.val_windows is None:
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
) -> TrainResult:
    """Train into ``run_dir`` on the prepared ``data_dir``. ``train_config.steps`` is the run's total.

    ``on_step(step)`` is called after every optimizer step (tests interrupt through it). Ctrl-C saves the
    latest state and returns with ``stopped="interrupted"``.
    """
    run = _setup(Path(run_dir), Path(data_dir), model_config, train_config, resume, init_from)
    stopped = _run_steps(run, max_minutes, progress, on_step)
    return _finish(run, stopped)
