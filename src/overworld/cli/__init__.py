"""The ``overworld`` command: one module per verb, each with ``add_parser(subparsers)`` and ``run(args)``.

Verb modules import only argparse at module level; the library is imported inside ``run`` so that
``overworld --help`` is instant. Errors from the library are one line; ``--debug`` shows the traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import sys
from collections.abc import Iterator, Sequence

__all__ = ["build_parser", "main"]

# each verb is the module overworld.cli.<verb>, listed in the order the help shows them
VERBS: tuple[str, ...] = (
    "datasets",
    "fetch",
    "prepare",
    "inspect",
    "train",
    "generate",
    "infill",
    "compose",
    "play",
    "render",
    "plot",
    "evaluate",
    "push",
    "studio",
)

# the verbs that run a model, and the work they give torch's CPU threads (overworld.threads.choose_threads):
# sampling grows from one thread with the batch (--num), training and evaluation take every core
MODEL_WORK: dict[str, dict[str, bool]] = {
    "generate": {"training": False},
    "infill": {"training": False},
    "compose": {"training": False},
    "studio": {"training": False},
    "train": {"training": True},
    "evaluate": {"training": True},
}
THREADS_HELP = (
    "CPU threads for torch: N, or auto (default: one for sampling a small model, more for big batches, "
    "every core for training; OVERWORLD_THREADS or OMP_NUM_THREADS when set)"
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="overworld",
        description="Learn the style of video-game soundtracks from MIDI and compose new game music.",
    )
    parser.add_argument("--debug", action="store_true", help="show full tracebacks and debug logs")
    parser.add_argument("--threads", metavar="N", type=_threads_arg, help=THREADS_HELP)
    sub = parser.add_subparsers(dest="verb", metavar="VERB")
    for verb in VERBS:
        try:
            mod = importlib.import_module(f"overworld.cli.{verb}")
        except ModuleNotFoundError as exc:
            if exc.name == f"overworld.cli.{verb}":
                continue  # verb not built yet
            raise
        mod.add_parser(sub)
    # `overworld VERB --threads N` as well as `overworld --threads N VERB`
    for verb, p in sub.choices.items():
        if verb in MODEL_WORK and "--threads" not in p._option_string_actions:
            p.add_argument(
                "--threads", metavar="N", type=_threads_arg, default=argparse.SUPPRESS, help=THREADS_HELP
            )
    return parser


def _threads_arg(text: str) -> str:
    """``--threads``: checked as it is parsed, a usage error naming the flag when it is not a count."""
    from overworld.errors import ConfigError
    from overworld.threads import parse_threads

    try:
        parse_threads(text)
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix("--threads ")) from None
    return text


@contextlib.contextmanager
def _threads(args: argparse.Namespace) -> Iterator[None]:
    """While a verb runs: ``--threads`` is ``OVERWORLD_THREADS`` (so the library's own ``choose_threads``
    calls, which know the model's size, keep the user's number), checked before any work; a verb that
    runs a model starts with torch's threads set for it."""
    import os

    from overworld.threads import ENV, choose_threads, parse_threads

    before = os.environ.get(ENV)
    if args.threads is not None:
        os.environ[ENV] = str(args.threads)
    try:
        parse_threads(os.environ.get(ENV) or None, ENV)
        work = MODEL_WORK.get(args.verb)
        if work is not None:
            choose_threads(batch=getattr(args, "num", None) or 1, **work)
        yield
    finally:
        if before is None:
            os.environ.pop(ENV, None)
        else:
            os.environ[ENV] = before


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.debug else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s" if args.debug else "%(message)s",
    )
    if args.verb is None:
        parser.print_help()
        return 0
    from overworld.errors import OverworldError

    try:
        with _threads(args):
            return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("overworld: interrupted", file=sys.stderr)
        return 130
    except (OverworldError, OSError) as exc:
        if args.debug:
            raise
        print(f"overworld {args.verb}: error: {exc}", file=sys.stderr)
        return 2
