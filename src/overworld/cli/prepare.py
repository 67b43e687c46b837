"""``overworld prepare INPUT... --out DIR``: MIDI files to token shards, with a report of failures."""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "prepare",
        help="tokenize MIDI files into compact shards",
        description="Parse and tokenize every MIDI file under the inputs (in parallel, isolated "
        "workers), dedupe and split by content hash, write shards, manifest.json and report.json.",
    )
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="MIDI files or folders (searched recursively)")
    p.add_argument(
        "--out",
        required=True,
        help="the prepared folder to write; one that already holds a prepared dataset needs --overwrite",
    )
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace the prepared dataset already in --out (its shards, manifest and report)",
    )
    from overworld.tokenizers import TOKENIZERS

    p.add_argument(
        "--tokenizer",
        default="bars",
        choices=tuple(TOKENIZERS),
        metavar="NAME",
        help="; ".join(f"{name}: {entry.help}" for name, entry in TOKENIZERS.items()),
    )
    p.add_argument("--workers", type=int, default=0, help="parallel workers (default: 0, one per core)")
    p.add_argument("--split", default="90,5,5", help="train,validation,test percentages (default: 90,5,5)")
    p.add_argument("--timeout", type=float, default=20.0, help="seconds one file may take (default: 20)")
    p.add_argument("--memory-mb", type=int, default=2048, help="memory one parser may use (default: 2048)")
    p.add_argument(
        "--max-piece-minutes",
        type=float,
        help="reject pieces longer than this many minutes of music (default: 60)",
    )
    # the old spelling, easily taken for train's --max-minutes (a wall-clock budget): still works, warns
    p.add_argument("--max-minutes", type=float, dest="old_max_minutes", help=argparse.SUPPRESS)
    p.set_defaults(func=run)


def _max_piece_minutes(args: argparse.Namespace) -> float:
    """--max-piece-minutes, or the deprecated --max-minutes (with one warning), or 60."""
    import logging

    from overworld.errors import ConfigError

    if args.old_max_minutes is None:
        return 60.0 if args.max_piece_minutes is None else args.max_piece_minutes
    if args.max_piece_minutes is not None:
        raise ConfigError(
            "--max-minutes is the old name of --max-piece-minutes; give only --max-piece-minutes"
        )
    logging.getLogger("overworld.prepare").warning(
        "prepare --max-minutes is now --max-piece-minutes (a limit on each piece's length, not a time budget "
        "like train --max-minutes); the old name will go"
    )
    return args.old_max_minutes


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from overworld.config import DataConfig
    from overworld.data.prepare import check_prepared_out, find_midi_files, prepare
    from overworld.errors import ConfigError
    from overworld.preflight import writable_folder

    try:
        splits = tuple(float(x) for x in args.split.split(","))
    except ValueError:
        splits = ()
    if len(splits) != 3 or min(splits) < 0 or sum(splits) <= 0:
        raise ConfigError(f"--split needs three non-negative numbers like 90,5,5, not {args.split!r}")
    config = DataConfig(
        tokenizer=args.tokenizer,
        splits=splits,
        workers=args.workers,  # type: ignore[arg-type]
        file_timeout_s=args.timeout,
        file_memory_mb=args.memory_mb,
        max_seconds=_max_piece_minutes(args) * 60,
    )
    find_midi_files(args.inputs)  # before any work: every input there, the out folder writable and free
    check_prepared_out(writable_folder(args.out), args.overwrite)
    bars: list[tqdm] = []  # opened once the inputs are found, so an error about them stands on its own line

    def progress(done: int, total: int) -> None:
        if not bars:
            bars.append(tqdm(unit="file", desc="prepare", dynamic_ncols=True, total=total))
        bars[0].total = total
        bars[0].update(done - bars[0].n)

    try:
        report = prepare(args.inputs, args.out, config, progress, overwrite=args.overwrite)
    finally:
        for bar in bars:
            bar.close()
    print(
        f"{report.files_ok} files, {report.tokens} tokens in {args.out}; "
        f"{report.files_failed} failed, {report.duplicates} duplicates (see {args.out}/report.json)"
    )
    for failure in report.failures[:10]:
        print(f"  failed: {failure['path']}: {failure['reason']}")
    return 0
