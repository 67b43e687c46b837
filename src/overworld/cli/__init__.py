"""The ``overworld`` command: one module per verb, each with ``add_parser(subparsers)`` and ``run(args)``.

Verb modules import only argparse at module level; the library is imported inside ``run`` so that
``overworld --help`` is instant. Errors from the library are one line; ``--debug`` shows the traceback.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="overworld",
        description="Learn the style of video-game soundtracks from MIDI and compose new game music.",
    )
    parser.add_argument("--debug", action="store_true", help="show full tracebacks and debug logs")
    sub = parser.add_subparsers(dest="verb", metavar="VERB")
    for verb in VERBS:
        try:
            mod = importlib.import_module(f"overworld.cli.{verb}")
        except ModuleNotFoundError as exc:
            if exc.name == f"overworld.cli.{verb}":
                continue  # verb not built yet
            raise
        mod.add_parser(sub)
    return parser


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
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("overworld: interrupted", file=sys.stderr)
        return 130
    except (OverworldError, OSError) as exc:
        if args.debug:
            raise
        print(f"overworld {args.verb}: error: {exc}", file=sys.stderr)
        return 2
