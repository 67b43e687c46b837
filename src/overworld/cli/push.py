"""``overworld push RUN_OR_MODEL_DIR --repo user/name``: share a model on the Hugging Face Hub."""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "push",
        help="upload a model folder to the Hugging Face Hub",
        description="Upload a model folder (for a run folder: its model/) to the Hugging Face Hub repo --repo, "
        "creating it if needed. Only the model's files go up (config.json, model.safetensors, tokenizer.json, "
        "generation_config.json and the model card README.md, with the metadata the Hub reads); training "
        "state never does. Anyone can then use it with `--model user/name` or overworld.load_model('user/name'). "
        "HF_ENDPOINT chooses another Hub.",
    )
    p.add_argument("folder", metavar="RUN_OR_MODEL_DIR", help="a run folder or a model folder")
    p.add_argument("--repo", required=True, help="the Hub repo id, user/name (or organisation/name)")
    p.add_argument("--private", action="store_true", help="create the repo private (default: public)")
    p.add_argument(
        "--token", help="a Hub token with write access (default: HF_TOKEN, or the login of `hf auth login`)"
    )
    p.add_argument(
        "--dataset",
        action="append",
        default=[],
        metavar="ID",
        help="a Hub dataset id the model was trained on, for the card's metadata (repeatable)",
    )
    p.add_argument("--message", help="the commit message (default: 'Upload overworld model from ...')")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from overworld.models.publish import push_model

    url = push_model(
        args.folder,
        args.repo,
        private=args.private,
        token=args.token,
        datasets=args.dataset,
        message=args.message,
    )
    print(f"pushed {args.folder} to {args.repo}: {url}")
    return 0
