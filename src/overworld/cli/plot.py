"""``overworld plot``: a piano roll of a MIDI file, or the training curves of a run folder."""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("plot", help="piano roll of a MIDI file, or training curves of a run",
                       description="FILE.mid: a piano roll coloured by instrument (drums apart). RUN_DIR (or a "
                       "metrics.csv): training and validation loss and accuracy against steps.")  # fmt: skip
    p.add_argument("sources", nargs="+", metavar="SOURCE",
                   help="a MIDI file, or one or more run folders / metrics.csv files (overlaid, named by folder)")  # fmt: skip
    p.add_argument("--out", required=True, help="PNG to write")
    p.add_argument("--width", type=float, default=12.0, help="inches (12)")
    p.add_argument("--height", type=float, default=6.0, help="inches (6)")
    p.add_argument("--dpi", type=int, default=100, help="dots per inch (100)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from overworld.errors import OverworldError
    from overworld.render import plot_curves, plot_pianoroll

    sources = [Path(s) for s in args.sources]
    size = {"width": args.width, "height": args.height, "dpi": args.dpi}
    runs = [s for s in sources if s.is_dir() or s.suffix == ".csv"]
    if runs:
        if len(runs) != len(sources):
            raise OverworldError("plot either one MIDI file or run folders, not both")
        named = {(s if s.is_dir() else s.parent).name: s for s in runs} if len(runs) > 1 else runs[0]
        out = plot_curves(named, args.out, **size)
    elif len(sources) > 1:
        raise OverworldError("plot one MIDI file at a time")
    else:
        src = sources[0]
        out = plot_pianoroll(src, args.out, title=src.name, **size)
    print(f"wrote {out}")
    return 0
