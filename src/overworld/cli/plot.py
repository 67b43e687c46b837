"""``overworld plot``: a piano roll or bar self-similarity matrix of a MIDI file, or the training curves of
a run folder."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "plot",
        help="piano roll of a MIDI file, or training curves of a run",
        description="FILE.mid: a piano roll coloured by instrument (drums apart), or with "
        "--self-similarity the similarity of each pair of its first bars. RUN_DIR (or a "
        "metrics.csv): training and validation loss and accuracy against steps.",
    )
    p.add_argument(
        "sources",
        nargs="+",
        metavar="SOURCE",
        help="a MIDI file, or one or more run folders / metrics.csv files (overlaid, named by folder)",
    )
    p.add_argument(
        "--out",
        help="PNG to write (default: beside the input: SOURCE with a .png suffix, "
        "FILE.self-similarity.png with --self-similarity, RUN1-vs-RUN2.png for several runs)",
    )
    p.add_argument(
        "--self-similarity",
        action="store_true",
        help="plot the bar-by-bar similarity matrix of a MIDI file instead of its piano roll",
    )
    p.add_argument("--bars", type=int, default=16, help="bars of --self-similarity, from the first note (16)")
    p.add_argument("--width", type=float, help="inches (12; 7 for --self-similarity)")
    p.add_argument("--height", type=float, default=6.0, help="inches (6)")
    p.add_argument("--dpi", type=int, default=100, help="dots per inch (100)")
    p.set_defaults(func=run)


MAX_SIDE_PIXELS = 32_768  # matplotlib's Agg canvas refuses 65,536 or more a side
MAX_PIXELS = 64_000_000  # 256 MB of RGBA: a picture this big is a typo (--width 100000)
MAX_INCHES = 1_000.0
MAX_DPI = 2_400


def _check_size(width: float, height: float, dpi: int) -> None:
    """Inches and dots per inch that make a picture: positive, finite, and under the pixel caps."""
    import math

    from overworld.errors import ConfigError

    for flag, value in (("--width", width), ("--height", height)):
        if not (math.isfinite(value) and 0 < value <= MAX_INCHES):
            raise ConfigError(f"{flag} must be above 0 and at most {MAX_INCHES:g} inches, not {value}")
    if not 1 <= dpi <= MAX_DPI:
        raise ConfigError(f"--dpi must be between 1 and {MAX_DPI}, not {dpi}")
    w, h = round(width * dpi), round(height * dpi)
    if max(w, h) > MAX_SIDE_PIXELS or w * h > MAX_PIXELS:
        raise ConfigError(
            f"--width {width:g} --height {height:g} at --dpi {dpi} is {w:,} x {h:,} pixels, over the cap of "
            f"{MAX_SIDE_PIXELS:,} a side and {MAX_PIXELS:,} in all; make it smaller"
        )


def _picture_types() -> tuple[str, ...]:
    """The extensions matplotlib can save (.png, .svg, .pdf, ...)."""
    from matplotlib.backend_bases import FigureCanvasBase

    return tuple(f".{ext}" for ext in FigureCanvasBase.get_supported_filetypes())


def _check_sources(sources: list[Path], runs: list[Path], self_similarity: bool) -> None:
    """Each source there and of the right kind, and one kind of plot asked for."""
    from overworld.errors import OverworldError
    from overworld.preflight import readable_file, readable_folder

    if runs:
        if len(runs) != len(sources):
            raise OverworldError("plot either one MIDI file or run folders, not both")
        if self_similarity:
            raise OverworldError("--self-similarity plots a MIDI file, not a run")
        for run in runs:
            readable_folder(run, "run folder") if run.is_dir() else readable_file(run, "metrics file")
    elif len(sources) > 1:
        raise OverworldError("plot one MIDI file at a time")
    else:
        readable_file(sources[0], "MIDI file")


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from overworld.errors import OverworldError
    from overworld.preflight import writable_file
    from overworld.render import plot_curves, plot_pianoroll, plot_self_similarity

    sources = [Path(s) for s in args.sources]
    width = (7.0 if args.self_similarity else 12.0) if args.width is None else args.width
    _check_size(width, args.height, args.dpi)
    size = {"width": width, "height": args.height, "dpi": args.dpi}
    runs = [s for s in sources if s.is_dir() or s.suffix == ".csv"]
    first = sources[0]
    _check_sources(sources, runs, args.self_similarity)
    if args.self_similarity and args.bars < 1:
        raise OverworldError(f"--bars must be at least 1, not {args.bars}")
    names = [(s if s.is_dir() else s.parent).resolve().name for s in runs]
    if runs:
        default = _curves_png(runs, names)
    else:
        default = first.with_suffix(".self-similarity.png" if args.self_similarity else ".png")
    out_png = writable_file(args.out or default, _picture_types())
    if runs:
        out = plot_curves(dict(zip(names, runs)) if len(runs) > 1 else runs[0], out_png, **size)
    elif args.self_similarity:
        out = plot_self_similarity(first, out_png, bars=args.bars, title=first.name, **size)
    else:
        out = plot_pianoroll(first, out_png, title=first.name, **size)
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
