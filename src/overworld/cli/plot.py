"""``overworld plot``: a piano roll or bar self-similarity matrix of a MIDI file, or the training curves of
a run folder."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("plot", help="piano roll of a MIDI file, or training curves of a run",
                       description="FILE.mid: a piano roll coloured by instrument (drums apart), or with "
                       "--self-similarity the similarity of each pair of its first bars. RUN_DIR (or a "
                       "metrics.csv): training and validation loss and accuracy against steps.")  # fmt: skip
    p.add_argument("sources", nargs="+", metavar="SOURCE",
                   help="a MIDI file, or one or more run folders / metrics.csv files (overlaid, named by folder)")  # fmt: skip
    p.add_argument("--out", help="PNG to write (default: beside the input: SOURCE with a .png suffix, "
                   "FILE.self-similarity.png with --self-similarity, RUN1-vs-RUN2.png for several runs)")  # fmt: skip
    p.add_argument("--self-similarity", action="store_true",
                   help="plot the bar-by-bar similarity matrix of a MIDI file instead of its piano roll")  # fmt: skip
    p.add_argument("--bars", type=int, default=16, help="bars of --self-similarity, from the first note (16)")
    p.add_argument("--width", type=float, help="inches (12; 7 for --self-similarity)")
    p.add_argument("--height", type=float, default=6.0, help="inches (6)")
    p.add_argument("--dpi", type=int, default=100, help="dots per inch (100)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from overworld.errors import OverworldError
    from overworld.render import plot_curves, plot_pianoroll, plot_self_similarity

    sources = [Path(s) for s in args.sources]
    width = args.width or (7.0 if args.self_similarity else 12.0)
    size = {"width": width, "height": args.height, "dpi": args.dpi}
    runs = [s for s in sources if s.is_dir() or s.suffix == ".csv"]
    first = sources[0]
    if runs:
        if len(runs) != len(sources):
            raise OverworldError("plot either one MIDI file or run folders, not both")
        if args.self_similarity:
            raise OverworldError("--self-similarity plots a MIDI file, not a run")
        names = [(s if s.is_dir() else s.parent).resolve().name for s in runs]
        named = dict(zip(names, runs)) if len(runs) > 1 else runs[0]
        out = plot_curves(named, args.out or _curves_png(runs, names), **size)
    elif len(sources) > 1:
        raise OverworldError("plot one MIDI file at a time")
    elif args.self_similarity:
        if args.bars < 1:
            raise OverworldError(f"--bars must be at least 1, not {args.bars}")
        out_png = args.out or first.with_suffix(".self-similarity.png")
        out = plot_self_similarity(first, out_png, bars=args.bars, title=first.name, **size)
    else:
        out = plot_pianoroll(first, args.out or first.with_suffix(".png"), title=first.name, **size)
    print(f"wrote {out}")
    return 0


def _curves_png(runs: list[Path], names: list[str]) -> Path:
    """Beside the first run: ``RUN.png`` (``metrics.png`` beside a metrics.csv), ``A-vs-B.png`` for several."""
    first = runs[0]
    if len(runs) == 1:
        return first.with_suffix(".png") if first.is_file() else first.with_name(first.name + ".png")
    folder = (first if first.is_dir() else first.parent).resolve().parent
    more = f"-and-{len(names) - 4}-more" if len(names) > 4 else ""
    return folder / ("-vs-".join(names[:4]) + more + ".png")
