"""``overworld train --data DIR --out RUN``: train a Music Transformer or the LSTM baseline."""

from __future__ import annotations

import argparse

# flag -> config field; a flag left unset keeps the --config file's value, then the default
_MODEL_FIELDS = (
    "model",
    "attention",
    "sequence_length",
    "embedding_size",
    "num_blocks",
    "num_heads",
    "feed_forward_dim",
    "dropout",
    "attention_dropout",
)
_MODEL_FLAGS = {name: name for name in _MODEL_FIELDS}
_TRAIN_FIELDS = (
    "steps",
    "batch_size",
    "grad_accumulation",
    "eval_every",
    "eval_batches",
    "log_every",
    "save_every",
    "patience",
    "seed",
    "device",
    "compile",
    "infill_rate",
)
_TRAIN_FLAGS = {"lr": "learning_rate", "warmup": "warmup_steps", **{name: name for name in _TRAIN_FIELDS}}

DESCRIPTION = (
    "Train on the shards written by `overworld prepare`. Defaults come from overworld's configs, then "
    "--config, then the flags. Multi-GPU/multi-node: run the same command under "
    "`torchrun --nproc_per_node=N -m overworld train ...`."
)
HELP = {
    "data": "a folder written by `overworld prepare` (a folder of MIDI files: run prepare first)",
    "out": "run folder (model/, latest/, metrics.csv, tensorboard/); one that already holds a run needs "
    "--resume or --overwrite",
    "max_minutes": "a wall-clock budget: stop (validate and save) after this many minutes; the progress "
    "bar's ETA ends there (default: 0, none)",
    "sequence_length": "tokens per training window (512); with --init-from, a rope or alibi model may take "
    "a longer one",
    "attention_dropout": "dropout on the attention weights (0: any makes attention use a slower unfused "
    "kernel)",
    "infill_rate": "share of windows that teach infilling a gap of bars from both sides, 0-1 (bar "
    "tokenizer; 0)",
}


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train a model on a prepared dataset", description=DESCRIPTION)
    p.add_argument("--data", required=True, help=HELP["data"])
    p.add_argument("--out", required=True, help=HELP["out"])
    p.add_argument(
        "--config", help="JSON/TOML config ({model:{...}, train:{...}}) or a Midinet parameters.json"
    )
    again = p.add_mutually_exclusive_group()  # a folder that holds a run needs one of them
    again.add_argument(
        "--resume", action="store_true", help="continue from RUN/latest exactly where it stopped"
    )
    again.add_argument(
        "--overwrite", action="store_true", help="replace the run already in RUN (its model, state, metrics)"
    )
    p.add_argument(
        "--init-from",
        metavar="MODEL",
        help="start from another model's weights (fine-tuning): a folder or Hub id user/name",
    )
    p.add_argument("--max-minutes", type=float, default=0.0, help=HELP["max_minutes"])
    _add_model_flags(p.add_argument_group("model (defaults: ModelConfig)"))
    _add_train_flags(p.add_argument_group("training (defaults: TrainConfig)"))
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def _add_model_flags(m: argparse._ArgumentGroup) -> None:
    from overworld.config import ModelConfig
    from overworld.models.build import ATTENTION, MODELS, describe  # the registries; no torch

    m.add_argument(
        "--model",
        choices=tuple(MODELS),
        help=f"architecture: {describe(MODELS)}; default {ModelConfig.model}",
    )
    m.add_argument(
        "--attention",
        choices=tuple(ATTENTION),
        help=f"attention variant: {describe(ATTENTION)}; default {ModelConfig.attention}",
    )
    m.add_argument("--sequence-length", type=int, help=HELP["sequence_length"])
    m.add_argument("--embedding-size", type=int, help="model width (256)")
    m.add_argument("--num-blocks", type=int, help="transformer blocks (4)")
    m.add_argument("--num-heads", type=int, help="attention heads (4)")
    m.add_argument("--feed-forward-dim", type=int, help="MLP width (1024)")
    m.add_argument("--dropout", type=float, help="dropout on the embedding and residual branches (0.1)")
    m.add_argument("--attention-dropout", type=float, help=HELP["attention_dropout"])


def _add_train_flags(t: argparse._ArgumentGroup) -> None:
    t.add_argument("--steps", type=int, help="the run's total optimizer steps (2000)")
    t.add_argument("--batch-size", type=int, help="windows per step (16)")
    t.add_argument("--lr", type=float, help="peak learning rate (3e-4)")
    t.add_argument("--warmup", type=int, help="warm-up steps (100)")
    t.add_argument("--grad-accumulation", type=int, help="micro-batches per step (1)")
    t.add_argument("--eval-every", type=int, help="steps between validation passes (100)")
    t.add_argument("--eval-batches", type=int, help="validation batches per pass, 0: the whole split (0)")
    t.add_argument("--log-every", type=int, help="steps between metrics.csv rows (10)")
    t.add_argument("--save-every", type=int, help="steps between latest/ checkpoints (100)")
    t.add_argument(
        "--patience", type=int, help="evaluations without improvement before stopping, 0: never (0)"
    )
    t.add_argument("--infill-rate", type=float, help=HELP["infill_rate"])
    t.add_argument("--seed", type=int, help="seed for weights, data order and dropout, 0 to 2**32-1 (0)")
    t.add_argument("--device", help="auto, cpu, cuda, cuda:1, mps (auto)")
    t.add_argument("--compile", action="store_const", const=True, help="torch.compile the model")


def run(args: argparse.Namespace) -> int:
    import logging
    from dataclasses import replace

    from overworld.config import ModelConfig, TrainConfig, configs_from_file
    from overworld.preflight import readable_file, writable_folder
    from overworld.training.loop import train

    writable_folder(args.out)  # before any work (train checks --data first itself, saying what to run)
    model_config, train_config = ModelConfig(), TrainConfig()
    if args.config:
        readable_file(args.config, "--config")
        model_config, train_config, ignored = configs_from_file(args.config)
        if ignored:
            log = logging.getLogger("overworld.train")
            log.warning("%s: ignored keys that do not apply: %s", args.config, ", ".join(ignored))
    model_config = replace(model_config, **_given(args, _MODEL_FLAGS))
    train_config = replace(train_config, **_given(args, _TRAIN_FLAGS))
    result = train(
        args.out,
        args.data,
        model_config,
        train_config,
        resume=args.resume,
        overwrite=args.overwrite,
        init_from=args.init_from,
        max_minutes=args.max_minutes,
        progress=not args.quiet,
    )
    best = "none" if result.best_val_loss is None else f"{result.best_val_loss:.4f}"
    print(f"{result.stopped} at step {result.step}; best validation loss {best}; model in {result.model_dir}")
    return 130 if result.stopped == "interrupted" else 0


def _given(args: argparse.Namespace, flags: dict[str, str]) -> dict[str, object]:
    """The config fields of the flags that were given: {field: value}."""
    return {field: getattr(args, flag) for flag, field in flags.items() if getattr(args, flag) is not None}
