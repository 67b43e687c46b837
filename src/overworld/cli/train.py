"""``overworld train --data DIR --out RUN``: train a Music Transformer or the LSTM baseline."""

from __future__ import annotations

import argparse

# flag -> (config, field); a flag left unset keeps the --config file's value, then the default
_MODEL_FLAGS = {"model": "model", "attention": "attention", "sequence_length": "sequence_length",
                "embedding_size": "embedding_size", "num_blocks": "num_blocks", "num_heads": "num_heads",
                "feed_forward_dim": "feed_forward_dim", "dropout": "dropout",
                "attention_dropout": "attention_dropout"}  # fmt: skip
_TRAIN_FLAGS = {"steps": "steps", "batch_size": "batch_size", "lr": "learning_rate", "warmup": "warmup_steps",
                "grad_accumulation": "grad_accumulation", "eval_every": "eval_every",
                "eval_batches": "eval_batches", "log_every": "log_every", "save_every": "save_every",
                "patience": "patience", "seed": "seed", "device": "device", "compile": "compile",
                "infill_rate": "infill_rate"}  # fmt: skip


def add_parser(sub: argparse._SubParsersAction) -> None:
    from overworld.config import ModelConfig
    from overworld.models.build import ATTENTION, MODELS, describe  # the registries; no torch

    p = sub.add_parser("train", help="train a model on a prepared dataset",
                       description="Train on the shards written by `overworld prepare`. Defaults come from "
                       "overworld's configs, then --config, then the flags. Multi-GPU/multi-node: run the same "
                       "command under `torchrun --nproc_per_node=N -m overworld train ...`.")  # fmt: skip
    p.add_argument("--data", required=True,
                   help="a folder written by `overworld prepare` (a folder of MIDI files: run prepare first)")  # fmt: skip
    p.add_argument("--out", required=True, help="run folder (model/, latest/, metrics.csv, tensorboard/); "
                   "one that already holds a run needs --resume or --overwrite")  # fmt: skip
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
    p.add_argument(
        "--max-minutes",
        type=float,
        default=0.0,
        help="a wall-clock budget: stop (validate and save) after this many minutes; the progress bar's ETA "
        "ends there (default: 0, none)",
    )
    m = p.add_argument_group("model (defaults: ModelConfig)")
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
    m.add_argument("--sequence-length", type=int, help="tokens per training window (512); with --init-from, a "
                   "rope or alibi model may take a longer one")  # fmt: skip
    m.add_argument("--embedding-size", type=int, help="model width (256)")
    m.add_argument("--num-blocks", type=int, help="transformer blocks (4)")
    m.add_argument("--num-heads", type=int, help="attention heads (4)")
    m.add_argument("--feed-forward-dim", type=int, help="MLP width (1024)")
    m.add_argument("--dropout", type=float, help="dropout on the embedding and residual branches (0.1)")
    m.add_argument("--attention-dropout", type=float, help="dropout on the attention weights (0: any makes "
                   "attention use a slower unfused kernel)")  # fmt: skip
    t = p.add_argument_group("training (defaults: TrainConfig)")
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
    t.add_argument("--infill-rate", type=float, help="share of windows that teach infilling a gap of bars "
                   "from both sides, 0-1 (bar tokenizer; 0)")  # fmt: skip
    t.add_argument("--seed", type=int, help="seed for weights, data order and dropout, 0 to 2**32-1 (0)")
    t.add_argument("--device", help="auto, cpu, cuda, cuda:1, mps (auto)")
    t.add_argument("--compile", action="store_const", const=True, help="torch.compile the model")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


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
            logging.getLogger("overworld.train").warning(
                "%s: ignored keys that do not apply: %s", args.config, ", ".join(ignored))  # fmt: skip
    model_config = replace(model_config, **{f: getattr(args, a) for a, f in _MODEL_FLAGS.items()
                                            if getattr(args, a) is not None})  # fmt: skip
    train_config = replace(train_config, **{f: getattr(args, a) for a, f in _TRAIN_FLAGS.items()
                                            if getattr(args, a) is not None})  # fmt: skip
    result = train(args.out, args.data, model_config, train_config, resume=args.resume, overwrite=args.overwrite,
                   init_from=args.init_from, max_minutes=args.max_minutes, progress=not args.quiet)  # fmt: skip
    best = "none" if result.best_val_loss is None else f"{result.best_val_loss:.4f}"
    print(f"{result.stopped} at step {result.step}; best validation loss {best}; model in {result.model_dir}")
    return 130 if result.stopped == "interrupted" else 0
