"""``overworld infill FILE --bars 5-8``: rewrite bars of any piece, keeping every note outside them."""

from __future__ import annotations

import argparse

_SAMPLING = ("temperature", "top_k", "top_p", "max_polyphony", "max_note_seconds", "grid", "key")


def add_parser(sub: argparse._SubParsersAction) -> None:
    from overworld.cli.outputs import add_output_flags

    p = sub.add_parser(
        "infill", help="rewrite bars of a piece, hearing what comes before and after",
        description="Regenerate --bars of FILE (bars from its own time signatures, counted from 1) with a "
        "bar-token model that reads the bars before and after them. Every note that starts outside the span "
        "is kept exactly, a note held into the span included; new notes still sounding at the span's end are "
        "ended there. Writes OUT/<name>-bars-<first>-<last>-<seed>-<n>.mid.",
    )  # fmt: skip
    p.add_argument("file", metavar="FILE", help="a MIDI file (or a MOD/XM/S3M/IT module)")
    p.add_argument("--bars", required=True, help="the bars to rewrite: FIRST-LAST or one bar, from 1 (5-8)")
    p.add_argument("--instruments", help="rewrite only these instruments (GM numbers or names, 'drums', as for "
                   "`generate --instruments`); the others keep their notes in the span (default: all)")  # fmt: skip
    p.add_argument(
        "--model",
        default="default",
        help="a bar-token model folder or Hub id user/name (default: the bundled model)",
    )
    p.add_argument("--out", default="out", help="output folder (default: out/)")
    p.add_argument("--num", type=int, default=1, help="takes, sampled as one batch (default: 1)")
    p.add_argument(
        "--seed", type=int, help="random seed; the same seed gives the same take (default: random)"
    )
    p.add_argument("--temperature", type=float, help="softmax temperature (model's setting)")
    p.add_argument("--top-k", type=int, help="sample among the K best tokens; 0: off (model's setting)")
    p.add_argument("--top-p", type=float, help="nucleus probability; 1: off (model's setting)")
    p.add_argument("--max-polyphony", type=int, help="simultaneous notes at most (model's setting)")
    p.add_argument("--max-note-seconds", type=float, help="longest new note (model's setting)")
    p.add_argument("--grid", type=int, help="new onsets on a grid of N steps a beat (12 divisible; 0: off)")
    p.add_argument("--key", help="new pitched notes only in this key, e.g. 'D minor' (drums untouched)")
    p.add_argument(
        "--raw", action="store_true", help="start from the plain sampling defaults, not the model's"
    )
    add_output_flags(p, "take")
    p.add_argument("--device", default="auto", help="cpu, cuda or auto (default: auto)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import dataclasses
    import secrets
    from pathlib import Path

    from tqdm import tqdm

    from overworld.cli.outputs import renderers
    from overworld.config import SampleConfig
    from overworld.devices import pick_device
    from overworld.generation.controls import parse_instruments
    from overworld.generation.infill import infill, parse_bars
    from overworld.midi import write_score
    from overworld.models.storage import load_model

    first, last = parse_bars(args.bars)  # fail before the model loads
    wav, png = renderers(args)
    instruments = parse_instruments(args.instruments)
    seed = args.seed if args.seed is not None else secrets.randbelow(2**31)
    pretrained = load_model(args.model, device=pick_device(args.device))
    changes = {name: getattr(args, name) for name in _SAMPLING if getattr(args, name) is not None}
    config = dataclasses.replace(SampleConfig() if args.raw else pretrained.sampling, **changes)
    with tqdm(desc=f"infilling bars {first}-{last}", total=last - first + 1, unit="bar", leave=False) as bar:

        def progress(done: float, total: float) -> None:
            bar.update(done - bar.n)

        takes = infill(pretrained, args.file, (first, last), instruments=instruments, config=config,
                       num=args.num, seed=seed, progress=progress)  # fmt: skip
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for n, take in enumerate(takes):
        path = write_score(take.score, out / f"{Path(args.file).stem}-bars-{first}-{last}-{seed}-{n}.mid")
        written = ((write, suffix) for write, suffix in ((wav, ".wav"), (png, ".png")) if write)
        extra = [str(write(path, path.with_suffix(suffix))) for write, suffix in written]
        print(f"{path}  {take.notes} new notes in bars {first}-{last}" + "".join(f"  {e}" for e in extra))
    print(f"seed {seed}: rerun with --seed {seed} for the same takes")
    return 0
