"""``overworld datasets``: the sources overworld can fetch."""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "datasets",
        help="list the MIDI collections overworld can fetch",
        description="List every dataset source with its licence, homepage, size and how to get it.",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from overworld.datasets import sources

    for s in sources():
        print(
            f"{s.name:9s} {s.licence}\n          {s.homepage or '-'}\n          size: {s.size}\n          how:  {s.how}"
        )
    return 0
