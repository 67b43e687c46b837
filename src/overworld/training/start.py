"""How a training run starts: the :class:`Run` its named steps share, and :func:`setup_run` (device,
process group, tokenizer, model, optimizer and schedule; the saved state on resume or the seed; the data
windows; the model wrapped for ``torch.compile`` and DDP; the metrics). :func:`check_prepared` refuses a
folder that was never prepared, before anything is claimed or built.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import torch

from overworld.config import ModelConfig, TrainConfig, config_to_dict
from overworld.data.dataset import Augment, TokenWindows
from overworld.data.shards import read_manifest
from overworld.devices import pick_device
from overworld.errors import ConfigError, DataError
from overworld.tokenizers import Tokenizer
from overworld.tokenizers.abilities import bars_of
from overworld.training.checkpoint import TrainState, load_train_state, nonfinite, restore
from overworld.training.distributed import Distributed, setup_distributed
from overworld.training.metrics import Metrics
from overworld.training.schedule import lr_factor

__all__ = ["Run", "check_prepared", "load_init_from", "setup_run", "short_list"]

log = logging.getLogger(__name__)

MIDI_SUFFIXES = (".mid", ".midi", ".kar", ".rmi")  # a --data folder holding these was never prepared


def _param_groups(model: torch.nn.Module, weight_decay: float) -> list[dict[str, Any]]:
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        (decay if p.ndim >= 2 and "embedding" not in name and ".rel" not in name else no_decay).append(p)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


@dataclass
class Run:
    """What the named steps of one training run share: built by ``setup_run``, advanced by the loop's ``_train_step``."""

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
    metrics: Metrics | None = None
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


def load_init_from(model: Any, init_from: str | Path, tokenizer: Tokenizer) -> None:
    """Start from another model's weights (fine-tuning): same architecture, same tokenizer. The window
    (``sequence_length``) may differ where no weight depends on it (``rope`` and ``alibi`` attention):
    fine-tuning to a longer window."""
    from overworld.models import load_model

    source = load_model(init_from)
    window = replace(source.config, sequence_length=model.config.sequence_length)
    shapes = {k: v.shape for k, v in model.state_dict().items()}
    if window != model.config or {k: v.shape for k, v in source.model.state_dict().items()} != shapes:
        raise ConfigError(
            f"--init-from {init_from}: its architecture differs from this run's "
            "(use the same --config, or none to take its own; only the window of rope or alibi models may change)"
        )
    if source.tokenizer.to_dict() != tokenizer.to_dict():
        raise ConfigError(f"--init-from {init_from}: its tokenizer differs from the data's")
    weights = source.model.state_dict()
    if bad := nonfinite(weights):
        raise DataError(
            f"--init-from {init_from}: its weights hold NaN or infinite values ({short_list(bad)}); "
            "start from another model"
        )
    model.load_state_dict(weights)


def short_list(names: list[str], most: int = 3) -> str:
    """The first few of ``names`` for a one-line message."""
    more = f" and {len(names) - most} more" if len(names) > most else ""
    return ", ".join(names[:most]) + more


def setup_run(
    run_dir: Path,
    data: Path,
    model_config: ModelConfig,
    config: TrainConfig,
    resume: bool,
    init_from: str | Path | None,
) -> Run:
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
        load_init_from(model, init_from, tokenizer)
    model.to(device)
    groups = _param_groups(model, config.weight_decay)
    optimizer = torch.optim.AdamW(
        groups, lr=config.learning_rate, betas=config.betas, fused=device.type == "cuda"
    )
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: lr_factor(s, config))
    run = Run(
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
    run.metrics = Metrics(run_dir, run.step if run.resumed else None, dist.is_main)
    return run


def _restore(run: Run, state: TrainState) -> None:
    """Weights, optimizer, schedule, counters and RNG from ``latest/``: the run goes on bit for bit."""
    config = run.config
    if bad := nonfinite({"model": state.model, "optimizer": state.optimizer}):
        raise DataError(
            f"{run.state_path} holds NaN or infinite values ({short_list(bad)}) and cannot be resumed; "
            "start afresh with --overwrite, or into a new --out with --init-from a good model"
        )
    restore(state, run.model, run.optimizer, run.scheduler, run.state_path)  # checked: a DataError if unfit
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


def _attach_data(run: Run) -> None:
    """Training windows (augmented) and validation windows, when the data has a validation split."""
    length, config = run.model_config.sequence_length, run.config
    augment = Augment(config.augment_transpose, config.augment_stretch)
    if config.infill_rate:
        bars_of(run.tokenizer, "--infill-rate")  # infilling windows need bars
    run.train_windows = TokenWindows(
        run.data, "train", length, augment=augment, tokenizer=run.tokenizer, infill_rate=config.infill_rate
    )
    try:
        run.val_windows = TokenWindows(run.data, "validation", length, tokenizer=run.tokenizer)
    except DataError:
        run.val_windows = None
        log.warning("no validation split in %s: no evaluation, the last weights become the model", run.data)


def _wrap(run: Run) -> Any:
    """The model as the steps run it: ``torch.compile``d on request, in DDP under torchrun."""
    net: Any = run.model
    if run.config.compile:
        net = torch.compile(net)
    if run.dist.enabled:
        from torch.nn.parallel import DistributedDataParallel

        device_ids = [run.device.index] if run.device.type == "cuda" else None
        net = DistributedDataParallel(net, device_ids=device_ids)
    return net


def check_prepared(data: Path) -> None:
    """A prepared folder has a tokenizer.json beside its shards; a folder of MIDI files needs preparing."""
    if (data / "tokenizer.json").is_file():
        return
    if not data.is_dir():
        raise DataError(
            f"no prepared folder at {data}; run `overworld prepare MIDI_FOLDER --out {data}` first"
        )
    entries = (p for p in data.rglob("*") if p.suffix.lower() in MIDI_SUFFIXES)
    what = "holds MIDI files but is not prepared" if next(entries, None) else "is not a prepared folder"
    raise DataError(
        f"{data} {what} (no tokenizer.json); run `overworld prepare {data} --out PREPARED` first "
        "and train with --data PREPARED"
    )
