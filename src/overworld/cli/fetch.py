"""``overworld fetch NAME --out DIR``: get a MIDI collection and record it in dataset.json."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from overworld.datasets.registry import Progress


def _gib(text: str) -> int:
    """GiB as given on the command line, in bytes."""
    import math

    try:
        gib = float(text)
    except ValueError:
        gib = math.nan
    if not (math.isfinite(gib) and 0 < gib <= 1 << 20):
        raise argparse.ArgumentTypeError(f"a size in GiB between 0 and 1048576 is needed, not {text!r}")
    return max(1, int(gib * (1 << 30)))


def add_parser(sub: argparse._SubParsersAction) -> None:
    # names only: no source module is imported, but lakh's (light) for the archive limits it allows
    from overworld.datasets.registry import SOURCES, ArchiveLimits, get_source

    default, lakh = ArchiveLimits(), get_source("lakh").archive_limits

    p = sub.add_parser(
        "fetch",
        help="fetch a MIDI collection into a folder",
        description="Fetch a dataset (see `overworld datasets`) into --out, with dataset.json.",
    )
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
        "--collection",
        action="append",
        default=[],
        help="music21 corpus collection, repeatable (default: bach and oneills1850)",
    )
    p.add_argument("--no-copy", action="store_true", help="folder: record files in place instead of copying")
    p.add_argument(
        "--sha256",
        help="url, lakh: the file's known SHA-256, checked before it is kept; "
        "accepts a file from a server that sends no length (default: none)",
    )
    p.add_argument(
        "--max-archive-gib",
        type=_gib,
        metavar="GIB",
        dest="max_archive_bytes",
        help=f"archives: the most one may unpack to, in GiB (default: {default.max_bytes / (1 << 30):g}; "
        f"lakh: {lakh.max_bytes / (1 << 30):g})",
    )
    p.add_argument(
        "--max-archive-members",
        type=int,
        metavar="N",
        help=f"archives: the most members one may hold (default: {default.max_members:,}; "
        f"lakh: {lakh.max_members:,})",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bars (default: bars on stderr)")
    p.set_defaults(func=run)


class _Bars:
    """A tqdm bar on stderr for each task a fetch reports (a download in bytes, a crawl or an extraction
    in files), with its rate and, where the total is known, an ETA."""

    def __init__(self) -> None:
        self.task: str | None = None
        self.bar = None

    def __call__(self, report: Progress) -> None:
        if report.task != self.task:
            from tqdm import tqdm

            self.close()
            size = report.unit == "B"
            self.bar = tqdm(
                desc=report.task,
                total=report.total,
                initial=report.done,
                unit=report.unit,
                unit_scale=size,
                unit_divisor=1024 if size else 1000,
                dynamic_ncols=True,
            )
            self.task = report.task
        if report.total != self.bar.total:
            self.bar.total = report.total
        self.bar.update(report.done - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
        self.bar, self.task = None, None


def run(args: argparse.Namespace) -> int:
    from overworld.datasets import FetchOptions, fetch
    from overworld.preflight import writable_folder

    writable_folder(args.out)  # before any download
    bars = None if args.quiet else _Bars()
    options = FetchOptions(
        url=args.url,
        path=args.path,
        subset=args.subset,
        consoles=tuple(args.console),
        delay=args.delay,
        limit=args.limit,
        copy=not args.no_copy,
        collections=tuple(args.collection),
        sha256=args.sha256,
        max_archive_bytes=args.max_archive_bytes,
        max_archive_members=args.max_archive_members,
        progress=bars,
    )
    try:
        files = fetch(args.name, args.out, options)
    finally:
        if bars is not None:
            bars.close()
    print(f"{args.name}: {len(files)} MIDI files in {args.out} (see {args.out}/dataset.json)")
    return 0
