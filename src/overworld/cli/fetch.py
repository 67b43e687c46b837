"""``overworld fetch NAME --out DIR``: get a MIDI collection and record it in dataset.json."""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:
    from overworld.datasets.registry import SOURCES  # names only: no source module is imported

    p = sub.add_parser("fetch", help="fetch a MIDI collection into a folder",
                       description="Fetch a dataset (see `overworld datasets`) into --out, with dataset.json.")  # fmt: skip
    p.add_argument("name", choices=SOURCES, metavar="NAME", help=f"dataset: {', '.join(SOURCES)}")
    p.add_argument("--out", required=True, help="target folder (created)")
    p.add_argument("--url", help="url: the address; freedoom/openmsx/lakh: an upstream archive instead")
    p.add_argument("--path", help="folder: the directory; freedoom/openmsx: where the package put its files")
    p.add_argument(
        "--subset", default="clean", choices=("clean", "full"), help="lakh archive (default: clean)"
    )
    p.add_argument(
        "--console", action="append", default=[], help="vgmusic console, repeatable (default: all)"
    )
    p.add_argument("--delay", type=float, default=2.0, help="vgmusic: seconds between requests (default: 2)")
    p.add_argument(
        "--limit", type=int, default=0, help="vgmusic, music21: stop after N files (default: 0, no limit)"
    )
    p.add_argument(
        "--collection", action="append", default=[],
        help="music21 corpus collection, repeatable (default: bach and oneills1850)",
    )  # fmt: skip
    p.add_argument("--no-copy", action="store_true", help="folder: record files in place instead of copying")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from overworld.datasets import FetchOptions, fetch

    options = FetchOptions(url=args.url, path=args.path, subset=args.subset, consoles=tuple(args.console),
                           delay=args.delay, limit=args.limit, copy=not args.no_copy,
                           collections=tuple(args.collection))  # fmt: skip
    files = fetch(args.name, args.out, options)
    print(f"{args.name}: {len(files)} MIDI files in {args.out} (see {args.out}/dataset.json)")
    return 0
