"""The training loop: AdamW, warm-up + cosine, clipping, accumulation, bf16 on CUDA, evaluation with
best/latest checkpoints, early stopping, TensorBoard + metrics.csv, exact resume, torchrun.

A run directory holds ``model/`` (the best model: config.json, model.safetensors, tokenizer.json, a model
card README.md), ``latest/state.pt`` (weights, optimizer, scheduler, step, RNG: everything resume needs),
``metrics.csv``, ``tensorboard/`` and ``train_config.json``.
"""

from __future__ import annotations

import csv
import json
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from overworld.config import ModelConfig, TrainConfig, config_from_dict, config_to_dict
from overworld.data.dataset import Augment, TokenWindows
from overworld.errors import ConfigError, DataError, OverworldError
from overworld.training.checkpoint import load_state, save_state
from overworld.training.distributed import setup_distributed
from overworld.training.schedule import lr_factor

__all__ = ["TrainResult", "TrainingError", "evaluate_windows", "pick_device", "train"]

log = logging.getLogger(__name__)

METRIC_COLUMNS = ("step", "elapsed_s", "lr", "train_loss", "train_accuracy", "tokens_per_s",
                  "val_loss", "val_accuracy", "val_bits_per_token")  # fmt: skip


class TrainingError(OverworldError):
    """Training cannot go on (a NaN or infinite loss...); the last good checkpoint is intact."""


@dataclass(frozen=True)
class TrainResult:
    step: int
    best_val_loss: float | None
    stopped: str  # "done", "early_stopping", "interrupted", "time_budget"
    model_dir: Path


def pick_device(name: str = "auto") -> torch.device:
    """CUDA, then Apple MPS, then CPU for ``auto``; otherwise the named device."""
    if name != "auto":
        return torch.device(name)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def _loss_and_hits(model: Any, batch: torch.Tensor, pad_id: int, device: torch.device, amp: bool):
    x, y = batch[:, :-1].to(device), batch[:, 1:].to(device)
    with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=amp):
        logits = model(x)  # (B, T, V)
    logits = logits.float()
    mask = y != pad_id
    loss_sum = F.cross_entropy(logits.transpose(1, 2), y, ignore_index=pad_id, reduction="sum")
    hits = ((logits.argmax(-1) == y) & mask).sum()
    return loss_sum, hits, mask.sum()


@torch.no_grad()
def evaluate_windows(model: Any, windows: TokenWindows, batch_size: int, device: torch.device, amp: bool = False,
                     max_batches: int = 0) -> dict[str, float]:  # fmt: skip
    """Mean loss (nats), accuracy and bits per token over the split's windows (all, or ``max_batches``)."""
    was_training = model.training
    model.eval()
    total = hits = count = 0.0
    for i, batch in enumerate(windows.eval_batches(batch_size)):
        if max_batches and i >= max_batches:
            break
        loss_sum, h, n = _loss_and_hits(model, batch, windows.tokenizer.pad_id, device, amp)
        total, hits, count = total + float(loss_sum), hits + float(h), count + float(n)
    model.train(was_training)
    loss = total / max(count, 1.0)
    return {
        "val_loss": loss,
        "val_accuracy": hits / max(count, 1.0),
        "val_bits_per_token": loss / math.log(2),
    }


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


def _card(data: Path, model_config: ModelConfig, train_config: TrainConfig, step: int, best: float | None,
          params: int, init_from: str | None) -> dict[str, Any]:  # fmt: skip
    manifest = {}
    if (data / "manifest.json").exists():
        manifest = json.loads((data / "manifest.json").read_text(encoding="utf-8"))
    sources = sorted({f.get("source", "?") for f in manifest.get("files", [])})
    return {
        "data": {"prepared": str(data), "sources": sources, "splits": manifest.get("splits", {})},
        "steps": step,
        "best_validation_loss": None if best is None else round(best, 5),
        "best_validation_bits_per_token": None if best is None else round(best / math.log(2), 5),
        "batch_size": train_config.batch_size,
        "learning_rate": train_config.learning_rate,
        "initialised_from": init_from,
        "parameters": params,
    }


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
    from overworld.models import build_model, load_model, save_model
    from overworld.tokenizers import load_tokenizer

    run, data = Path(run_dir), Path(data_dir)
    device = pick_device(train_config.device)
    dist = setup_distributed(device)
    if device.type == "cuda" and dist.enabled:
        device = torch.device("cuda", dist.local_rank)
        torch.cuda.set_device(device)
    tokenizer = load_tokenizer(data)
    state_path = run / "latest" / "state.pt"
    state = load_state(state_path, "cpu") if resume else None
    if state is not None:
        saved = config_from_dict(ModelConfig, json.loads(state["model_config"]))
        if replace(model_config, vocab_size=saved.vocab_size) not in (
            saved,
            replace(ModelConfig(), vocab_size=saved.vocab_size),
        ):
            log.warning("--resume keeps the run's model config; the one given now is ignored")
        model_config = saved
    if model_config.vocab_size == 0:
        model_config = replace(model_config, vocab_size=tokenizer.vocab_size)
    elif model_config.vocab_size != tokenizer.vocab_size:
        raise ConfigError(f"config vocab_size {model_config.vocab_size} does not match the tokenizer of {data} "
                          f"({tokenizer.name}, {tokenizer.vocab_size} tokens); drop vocab_size from the config")  # fmt: skip
    if dist.is_main:
        run.mkdir(parents=True, exist_ok=True)
        (run / "train_config.json").write_text(json.dumps(
            {"model": config_to_dict(model_config), "train": config_to_dict(train_config), "data": str(data)},
            indent=1), encoding="utf-8")  # fmt: skip

    model = build_model(model_config, seed=train_config.seed)
    if init_from is not None and state is None:
        source = load_model(init_from)
        if source.config != model_config:
            raise ConfigError(f"--init-from {init_from}: its architecture differs from this run's "
                              "(use the same --config, or none to take its own)")  # fmt: skip
        if source.tokenizer.to_dict() != tokenizer.to_dict():
            raise ConfigError(f"--init-from {init_from}: its tokenizer differs from the data's")
        model.load_state_dict(source.model.state_dict())
    model.to(device)
    optimizer = torch.optim.AdamW(_param_groups(model, train_config.weight_decay), lr=train_config.learning_rate,
                                  betas=train_config.betas, fused=device.type == "cuda")  # fmt: skip
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: lr_factor(s, train_config))
    step, best, bad_evals = 0, None, 0
    if state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        for group in optimizer.param_groups:  # a new --lr or --steps applies from here on
            group["initial_lr"] = train_config.learning_rate
        scheduler.base_lrs = [train_config.learning_rate] * len(optimizer.param_groups)
        scheduler.lr_lambdas = [lambda s: lr_factor(s, train_config)] * len(optimizer.param_groups)
        step = int(state["step"])
        best = None if state["best"].isnan() else float(state["best"])
        bad_evals = int(state["bad_evals"])
        torch.set_rng_state(state["rng_cpu"])
        if device.type == "cuda" and "rng_cuda" in state:
            torch.cuda.set_rng_state(state["rng_cuda"])
    else:
        torch.manual_seed(train_config.seed)

    length = model_config.sequence_length
    augment = Augment(train_config.augment_transpose, train_config.augment_stretch)
    train_windows = TokenWindows(data, "train", length, augment=augment, tokenizer=tokenizer)
    try:
        val_windows: TokenWindows | None = TokenWindows(data, "validation", length, tokenizer=tokenizer)
    except DataError:
        val_windows = None
        log.warning("no validation split in %s: no evaluation, the last weights become the model", data)
    amp = train_config.amp and device.type == "cuda"
    net: Any = model
    if train_config.compile:
        net = torch.compile(net)
    if dist.enabled:
        from torch.nn.parallel import DistributedDataParallel

        net = DistributedDataParallel(net, device_ids=[device.index] if device.type == "cuda" else None)
    metrics = _Metrics(run, step if state is not None else None, dist.is_main)
    model_dir = run / "model"
    saved_best = state is not None and model_dir.exists()

    def save_latest() -> None:
        if not dist.is_main:
            return
        save_state(state_path, {
            "model": model.state_dict(), "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
            "step": step, "best": torch.tensor(float("nan") if best is None else best),
            "bad_evals": bad_evals, "rng_cpu": torch.get_rng_state(),
            **({"rng_cuda": torch.cuda.get_rng_state()} if device.type == "cuda" else {}),
            "model_config": json.dumps(config_to_dict(model_config)),
        })  # fmt: skip

    def save_best() -> None:
        if dist.is_main:
            save_model(model_dir, model, tokenizer, _card(data, model_config, train_config, step, best,
                                                          model.num_parameters(), init_from and str(init_from)))  # fmt: skip

    bar = None
    if progress and dist.is_main:
        from tqdm import tqdm

        bar = tqdm(total=train_config.steps, initial=step, desc="train", unit="step", dynamic_ncols=True)
    started = time.monotonic()
    stopped = "done"
    tokens_seen, window_start = 0, time.monotonic()
    model.train()
    try:
        while step < train_config.steps:
            loss_total = hits_total = count_total = 0.0
            for micro in range(train_config.grad_accumulation):
                batch = train_windows.batch(step * train_config.grad_accumulation + micro, train_config.batch_size,
                                            train_config.seed, dist.rank, dist.world_size)  # fmt: skip
                loss_sum, hits, count = _loss_and_hits(net, batch, tokenizer.pad_id, device, amp)
                loss = loss_sum / count.clamp(min=1) / train_config.grad_accumulation
                loss.backward()
                loss_total += float(loss.detach()) * train_config.grad_accumulation
                hits_total, count_total = hits_total + float(hits), count_total + float(count)
            loss_value = loss_total / train_config.grad_accumulation
            if not math.isfinite(loss_value):
                raise TrainingError(f"the loss became {loss_value} at step {step + 1}; stopped. The last good "
                                    f"checkpoint in {run / 'latest'} is intact (try a lower --lr)")  # fmt: skip
            if train_config.grad_clip:
                torch.nn.utils.clip_grad_norm_(model.parameters(), train_config.grad_clip)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            step += 1
            tokens_seen += int(count_total)
            if bar is not None:
                bar.update(1)
            row: dict[str, float] = {}
            if step % train_config.log_every == 0 or step == train_config.steps:
                rate = tokens_seen * dist.world_size / max(time.monotonic() - window_start, 1e-9)
                tokens_seen, window_start = 0, time.monotonic()
                row.update(step=step, elapsed_s=round(time.monotonic() - started, 2), lr=scheduler.get_last_lr()[0],
                           train_loss=dist.all_mean(loss_value, device),
                           train_accuracy=hits_total / max(count_total, 1), tokens_per_s=round(rate, 1))  # fmt: skip
                if bar is not None:
                    bar.set_postfix(loss=f"{loss_value:.3f}", tok_s=f"{rate:.0f}")
            if val_windows is not None and (
                step % train_config.eval_every == 0 or step == train_config.steps
            ):
                scores = evaluate_windows(model, val_windows, train_config.batch_size, device, amp,
                                          train_config.eval_batches)  # fmt: skip
                row.update(step=step, elapsed_s=round(time.monotonic() - started, 2), **scores)
                if best is None or scores["val_loss"] < best:
                    best, bad_evals = scores["val_loss"], 0
                    save_best()
                    saved_best = True
                else:
                    bad_evals += 1
                if bar is not None:
                    bar.set_postfix(loss=f"{loss_value:.3f}", val=f"{scores['val_loss']:.3f}")
            if row:
                metrics.log(row)
            if step % train_config.save_every == 0:
                save_latest()
            if on_step is not None:
                on_step(step)
            if train_config.patience and bad_evals >= train_config.patience:
                stopped = "early_stopping"
                break
            if max_minutes and time.monotonic() - started > max_minutes * 60:
                stopped = "time_budget"
                break
    except KeyboardInterrupt:
        stopped = "interrupted"
    finally:
        if bar is not None:
            bar.close()
        metrics.close()
    save_latest()
    if not saved_best or val_windows is None:
        save_best()
    dist.barrier()
    dist.close()
    return TrainResult(step=step, best_val_loss=best, stopped=stopped, model_dir=model_dir)
