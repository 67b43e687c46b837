"""``overworld infill FILE --bars 5-8``: rewrite bars of any piece, keeping everything outside them.

Every input is checked before the model loads (the file, the span, the key, the seed, the output path);
the takes are written whole or not at all."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_MIDI_OUT = (".mid", ".midi")

_SAY = {
    "key": "piece.json's key beside FILE, else the file's key signature, else estimated from the notes outside "
    "the span"
}


def add_parser(sub: argparse._SubParsersAction) -> None:
    from overworld.cli.outputs import add_output_flags
    from overworld.config import SampleConfig
    from overworld.generation.infill import SETS
    from overworld.generation.surface import add_arguments

    p = sub.add_parser(
        "infill",
        help="rewrite bars of a piece, hearing what comes before and after",
        description="Regenerate --bars of FILE (bars from its own time signatures, counted from 1) with a "
        "bar-token model that reads the bars before and after them. Everything outside the span is kept as "
        "it was in the file (notes, a note held into the span included, controllers, pitch bends, programs, "
        "names, text, markers, signatures, the tempo map and resolution); new notes still sounding at the "
        "span's end are ended there, and keep to the piece's key (--key, else piece.json beside FILE, else "
        "the file's key signature, else estimated from its notes). Writes "
        "OUT/<name>-bars-<first>-<last>-<seed>-<n>.mid, or OUT itself when it ends in .mid.",
    )
    p.add_argument("file", metavar="FILE", help="a MIDI file (or a MOD/XM/S3M/IT module)")
    p.add_argument("--bars", required=True, help="the bars to rewrite: FIRST-LAST or one bar, from 1 (5-8)")
    p.add_argument(
        "--instruments",
        help="rewrite only these instruments (GM numbers or names, 'drums', as for "
        "`generate --instruments`); the others keep their notes in the span (default: all, "
        "written by the piece's own instruments)",
    )
    p.add_argument(
        "--model",
        default="default",
        help="a bar-token model folder or Hub id user/name (default: the bundled model)",
    )
    p.add_argument(
        "--out",
        default="out",
        help="output folder, or the MIDI file to write when it ends in .mid "
        "(with --num N: OUT-0.mid ... OUT-<N-1>.mid) (default: out/)",
    )
    p.add_argument("--num", type=int, default=1, help="takes, sampled as one batch (default: 1)")
    p.add_argument(
        "--seed",
        type=int,
        help="random seed 0-4294967295; the same seed gives the same take (default: random)",
    )
    add_arguments(p.add_argument_group("sampling"), SampleConfig, skip=SETS, model_defaults=True, say=_SAY)
    p.add_argument(
        "--raw", action="store_true", help="start from the plain sampling defaults, not the model's"
    )
    add_output_flags(p, "take")
    p.add_argument("--device", default="auto", help="cpu, cuda or auto (default: auto)")
    p.set_defaults(func=run)


def _out_paths(out: str, stem: str, num: int) -> list[Path]:
    """Where the takes go; an output folder that cannot be made or written is a one-line error now."""
    import os

    from overworld.errors import ConfigError

    target = Path(out)
    if target.suffix.lower() in _MIDI_OUT:
        if target.is_dir():
            raise ConfigError(f"--out {out}: is a folder; name a new .mid file or a folder without .mid")
        paths = (
            [target]
            if num == 1
            else [target.with_name(f"{target.stem}-{n}{target.suffix}") for n in range(num)]
        )
    else:
        if target.exists() and not target.is_dir():
            raise ConfigError(f"--out {out}: exists and is not a folder (name a .mid file to write one file)")
        paths = [target / f"{stem}-{n}.mid" for n in range(num)]
    folder = paths[0].parent
    if folder.exists() and not folder.is_dir():
        raise ConfigError(f"--out {out}: {folder} is not a folder")
    existing = next(p for p in (folder, *folder.parents) if p.exists())
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise ConfigError(f"--out {out}: cannot write in {existing}")
    return paths


@dataclass(frozen=True)
class _Input:
    """The checked input: the score, the file's bytes (None for a module), the span, the key and where
    it came from, and the console of piece.json ("" where none)."""

    score: Any
    smf: bytes | None
    first: int
    last: int
    key: str
    key_source: str
    console: str


def _check(args: argparse.Namespace) -> _Input:
    """Everything that can be wrong with the input, found before the model loads."""
    from overworld.config import check_seed
    from overworld.errors import ConfigError, MidiError
    from overworld.generation.infill import check_span, load_piece, parse_bars
    from overworld.generation.keys import piece_json, piece_key
    from overworld.generation.sampler import MAX_BATCH
    from overworld.midi.load import smf_bytes
    from overworld.render.consoles import CONSOLES
    from overworld.theory import parse_key

    bars = parse_bars(args.bars)
    if args.seed is not None:
        check_seed(args.seed, "--seed")
    if not 1 <= args.num <= MAX_BATCH:  # before a path is made for each take
        raise ConfigError(f"--num must be between 1 and {MAX_BATCH} takes in one batch, not {args.num}")
    if args.key:
        parse_key(args.key)
    path = Path(args.file)
    if not path.is_file():
        raise ConfigError(f"{path}: {'is a folder' if path.is_dir() else 'no such file'}")
    try:
        smf, score = smf_bytes(path), load_piece(path)
    except MidiError as exc:
        raise MidiError(f"{path}: {exc}") from None
    first, last, start, end = check_span(score, bars)
    key, source = piece_key(score, path, (start, end), given=args.key or "")
    console = piece_json(path).get("console") or ""
    return _Input(score, smf, first, last, key, source, console if console in CONSOLES else "")


def _audio(args: argparse.Namespace, console: str) -> tuple[Any, Any]:
    """The audio and piano-roll writers; the chiptune audio with the voices of piece.json's console."""
    from overworld.cli.outputs import renderers

    wav, png = renderers(args)
    if wav is None or not console or (args.synth or "chiptune") != "chiptune":
        return wav, png

    def with_console(source: Path, out: Path) -> Path:
        from overworld.render.audio import write_audio
        from overworld.render.consoles import console as find
        from overworld.render.stems import render_stems

        stems = render_stems(source, synth="chiptune", console=find(console), sample_rate=44100)
        return write_audio(out, stems.mix, stems.sample_rate)

    return with_console, png


def run(args: argparse.Namespace) -> int:
    import dataclasses
    import secrets

    from tqdm import tqdm

    from overworld.config import SampleConfig
    from overworld.devices import pick_device
    from overworld.generation.controls import parse_instruments
    from overworld.generation.infill import SETS, infill
    from overworld.generation.surface import from_args
    from overworld.models.storage import load_model

    given = _check(args)  # fail before the model loads
    first, last = given.first, given.last
    wav, png = _audio(args, given.console)
    instruments = parse_instruments(args.instruments)
    seed = args.seed if args.seed is not None else secrets.randbelow(2**31)
    paths = _out_paths(args.out, f"{Path(args.file).stem}-bars-{first}-{last}-{seed}", args.num)
    print(
        f"key: {given.key or 'any'} ({given.key_source})"
        + (f"; console {given.console}" if wav and given.console else "")
    )
    pretrained = load_model(args.model, device=pick_device(args.device))
    changes = from_args(SampleConfig, args, skip=SETS)
    changes["key"] = given.key  # --key, else the piece's own
    config = dataclasses.replace(SampleConfig() if args.raw else pretrained.sampling, **changes)
    with tqdm(desc=f"infilling bars {first}-{last}", total=last - first + 1, unit="bar", leave=False) as bar:

        def progress(done: float, total: float) -> None:
            bar.update(done - bar.n)

        takes = infill(
            pretrained,
            given.score,
            (first, last),
            instruments=instruments,
            config=config,
            num=args.num,
            seed=seed,
            progress=progress,
        )
    _write_takes(takes, given.smf, paths, wav, png, (first, last))
    print(f"seed {seed}: rerun with --seed {seed} for the same takes")
    return 0


def _write_takes(
    takes: list, smf: bytes | None, paths: list[Path], wav: Any, png: Any, bars: tuple[int, int]
) -> None:
    """Each take's MIDI (the file's own events outside the span) and its audio and piano roll; if any
    fails (a full disk), every file of this run is removed and the error goes on: nothing partial stays."""
    from overworld.generation.infill import write_take

    done: list[Path] = []
    lines = []
    try:
        for take, path in zip(takes, paths):
            _, notes = write_take(take, path, smf)
            done.append(path)
            extra = []
            for write, suffix in ((wav, ".wav"), (png, ".png")):
                if write:
                    done.append(_atomic(write, path, path.with_suffix(suffix)))
                    extra.append(str(done[-1]))
            lines.append(
                f"{path}  {notes} new notes in bars {bars[0]}-{bars[1]}" + "".join(f"  {e}" for e in extra)
            )
    except BaseException:
        for path in done:
            path.unlink(missing_ok=True)
        raise
    print("\n".join(lines))


def _atomic(write: Any, source: Path, target: Path) -> Path:
    """``write(source, target)`` through a temporary file beside ``target``, renamed when complete."""
    import os

    temp = target.with_name(f".{target.stem}.partial{target.suffix}")
    try:
        write(source, temp)
        os.replace(temp, target)
    finally:
        temp.unlink(missing_ok=True)
    return target
