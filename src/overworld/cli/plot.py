"""``overworld plot``: a piano roll of a MIDI file, or the training curves of a run folder."""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("plot", help="piano roll of a MIDI file, or training curves of a run",
                       description="FILE.mid: a piano roll coloured by instrument (drums apart). RUN_DIR (or a "
                       "metrics.csv): training and validation loss and accuracy against steps.")  # fmt: skip
    p.add_argument("source", help="a MIDI file, a run folder or a metrics.csv")
    p.add_argument("--out", required=True, help="PNG to write")
    p.add_argument("--width", type=float, default=12.0, help="inches (12)")
    p.add_argument("--height", type=float, default=6.0, help="inches (6)")
    p.add_argument("--dpi", type=int, default=100, help="dots per inch (100)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from overworld.render import plot_curves, plot_pianoroll

    src = Path(args.source)
    size = {"width": args.width, "height": args.height, "dpi": args.dpi}
    if src.is_dir() or src.suffix == ".csv":
        out = plot_curves(src, args.out, **size)
    else:
        out = plot_pianoroll(src, args.out, title=src.name, **size)
    print(f"wrote {out}")
    return 0
