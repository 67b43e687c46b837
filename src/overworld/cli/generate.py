"""``overworld generate``: compose new pieces with a trained model and write them as multi-track MIDI."""

from __future__ import annotations

import argparse
from typing import Any

_SAY = {"bpm": "the --primer file's first tempo, else the model's setting, else 120"}


def add_parser(sub: argparse._SubParsersAction) -> None:
    from overworld.cli.outputs import add_output_flags
    from overworld.config import SampleConfig
    from overworld.generation.surface import add_arguments

    p = sub.add_parser(
        "generate",
        help="compose new music with a model",
        description="Sample --num pieces in one batch and write overworld-<seed>-<n>.mid into --out. "
        "Pieces obey the model's tokenizer grammar (every note released, bounded polyphony and note length). "
        "Sampling settings start from the model's generation_config.json where it has one (the bundled "
        "model's: temperature 0.7, top-p 0.95, one metre and tempo, 4-9 instruments); each flag given "
        "overrides its setting, and --raw starts from the plain defaults instead.",
    )
    p.add_argument(
        "--model",
        default="default",
        help="model or run folder, or Hugging Face Hub id user/name (default: the bundled model)",
    )
    p.add_argument(
        "--out",
        default="out",
        help="output folder (default: out/), or with --num 1 a file NAME.mid to write the piece to",
    )
    p.add_argument("--num", type=int, default=1, help="pieces, sampled as one batch (default: 1)")
    length = p.add_mutually_exclusive_group()
    length.add_argument("--length", type=int, help="tokens to generate per piece (default: 1024)")
    length.add_argument("--seconds", type=float, help="stop each piece when its music reaches S seconds")
    length.add_argument("--bars", type=int, help="compose N bars per piece (bar-token models)")
    p.add_argument(
        "--seed",
        type=int,
        help="random seed 0 to 2**32-1; the same seed gives the same music (default: random)",
    )
    add_arguments(p.add_argument_group("sampling"), SampleConfig, model_defaults=True, say=_SAY)
    p.add_argument(
        "--like",
        metavar="FILE",
        help="bar tokens: new music with the form and arrangement of this MIDI file or module "
        "(its parts per bar and repeats), the notes the model's own",
    )
    p.add_argument(
        "--raw",
        action="store_true",
        help="ignore the model's generation_config.json: start from the plain defaults",
    )
    _add_primer_flags(p)
    add_output_flags(p, "piece")
    p.add_argument("--device", default="auto", help="cpu, cuda or auto (default: auto)")
    p.set_defaults(func=run)


def _add_primer_flags(p: argparse.ArgumentParser) -> None:
    """What to continue: a MIDI file, a Magenta melody, a chord or a slice of a prepared dataset."""
    primer = p.add_argument_group("primer (default: start from BOS)")
    kinds = primer.add_mutually_exclusive_group()
    kinds.add_argument("--primer", metavar="FILE.mid", help="continue a MIDI file")
    kinds.add_argument(
        "--primer-melody",
        metavar="LIST",
        help='Magenta melody: "[60, -2, 62, -2, 64]" (pitch starts, -2 holds, -1 releases; '
        "one event per sixteenth note)",
    )
    kinds.add_argument("--primer-pitches", metavar="LIST", help='a chord held one beat: "[60, 64, 67]"')
    kinds.add_argument(
        "--primer-dataset", metavar="DIR", help="a random slice (seeded) of a prepared dataset"
    )
    primer.add_argument(
        "--primer-seconds",
        type=float,
        help="--primer: take only its opening S seconds; --primer-dataset: slice length (default: 4)",
    )
    primer.add_argument("--primer-split", default="train", help="--primer-dataset split (default: train)")
    primer.add_argument("--primer-bpm", type=float, default=120.0, help="melody/chord tempo (default: 120)")
    primer.add_argument(
        "--primer-program",
        type=int,
        default=80,
        help="melody/chord GM program, 128 drums (default: 80 Lead 1 square)",
    )
    p.add_argument(
        "--inclusive",
        action="store_true",
        help="keep the primer in the output (default: only the continuation, with notes still "
        "sounding at the primer's end carried over from time 0)",
    )


def _changes(args: argparse.Namespace) -> dict[str, Any]:
    """The sampling settings the command line gave (the others keep the model's or the defaults)."""
    from overworld.config import SampleConfig
    from overworld.errors import ConfigError
    from overworld.generation.surface import from_args

    if args.bpm is not None and not args.bpm > 0:
        raise ConfigError(f"--bpm must be a positive tempo, not {args.bpm}")
    return from_args(SampleConfig, args)


MIDI_OUT = (".mid", ".midi")  # an --out with one of these names the one piece's file


def _check_first(args: argparse.Namespace) -> None:
    """Everything that can be checked before the model loads: the seed, the sizes asked for, the sampling
    flags, the primer file and the out folder (or file)."""
    import dataclasses
    from pathlib import Path

    from overworld.config import SampleConfig, check_seed
    from overworld.errors import ConfigError
    from overworld.generation.sampler import _length
    from overworld.preflight import readable_file, readable_folder, writable_file, writable_folder

    if args.seed is not None:
        check_seed(args.seed, "--seed")
    _length(args.num, args.length, args.seconds, args.bars)  # the sampler's own limits
    dataclasses.replace(SampleConfig(), **_changes(args))  # each flag's range, the key and metre
    if args.primer:
        readable_file(args.primer, "--primer")
    if args.like:
        readable_file(args.like, "--like")
    if args.primer_dataset:
        readable_folder(args.primer_dataset, "--primer-dataset")
    if Path(args.out).suffix.lower() in MIDI_OUT:
        if args.num != 1:
            raise ConfigError(
                f"--out {args.out} names one file, but --num {args.num} writes {args.num}; give a folder"
            )
        writable_file(args.out, MIDI_OUT)
    else:
        writable_folder(args.out)


def _write(pieces: list[Any], out: str, seed: int) -> list[Any]:
    """Write the pieces into the folder ``out``, or the one piece to the file ``out`` (NAME.mid)."""
    from pathlib import Path

    from overworld.errors import PathError
    from overworld.generation.pieces import write_pieces
    from overworld.midi import write_score

    try:
        if Path(out).suffix.lower() in MIDI_OUT:
            Path(out).parent.mkdir(parents=True, exist_ok=True)
            return [write_score(pieces[0].score, Path(out))]
        return write_pieces(pieces, out, seed)
    except OSError as exc:  # a disk that filled since the check: say where
        raise PathError(f"cannot write {exc.filename or out}: {exc.strerror or exc}") from exc


def _primer(args: argparse.Namespace) -> Any:
    """The primer the flags ask for: each --primer-* flag is the field of its name."""
    import dataclasses

    from overworld.generation.pieces import Primer

    given = {
        f.name: getattr(args, "primer" if f.name == "file" else f"primer_{f.name}")
        for f in dataclasses.fields(Primer)
    }
    return Primer(**given)


def run(args: argparse.Namespace) -> int:
    import secrets

    from tqdm import tqdm

    from overworld.cli.outputs import renderers
    from overworld.config import SampleConfig
    from overworld.devices import pick_device
    from overworld.generation.pieces import compose_pieces, read_primer, settings_for
    from overworld.models.storage import load_model

    _check_first(args)
    wav, png = renderers(args)  # fail before the model loads
    seed = args.seed if args.seed is not None else secrets.randbelow(2**31)
    pretrained = load_model(args.model, device=pick_device(args.device))
    ids, primer_score = read_primer(_primer(args), pretrained.tokenizer, seed)
    config = settings_for(SampleConfig() if args.raw else pretrained.sampling, _changes(args), primer_score)
    plans = None
    if args.like:
        from overworld.generation.plans import like_plan

        plans = [like_plan(pretrained, args.like, args.bars, config.instruments)] * args.num
    # the bar counts the music asked for (seconds or bars composed), else tokens
    unit = "s" if args.seconds is not None else "bar" if args.bars is not None else "tok"
    goal = next((g for g in (args.seconds, args.bars, args.length) if g is not None), None)
    with tqdm(desc=f"generating {args.num}", total=goal, unit=unit, leave=False) as bar:

        def progress(done: float, total: float) -> None:
            bar.total = total
            bar.update(done - bar.n)

        pieces = compose_pieces(
            pretrained,
            config,
            primer_ids=ids,
            num=args.num,
            length=args.length,
            seconds=args.seconds,
            bars=args.bars,
            seed=seed,
            inclusive=args.inclusive,
            progress=progress,
            plans=plans,
        )
    for path, piece in zip(_write(pieces, args.out, seed), pieces):
        extra = []
        if wav is not None:
            extra.append(str(wav(path, path.with_suffix(".wav"))))
        if png is not None:
            extra.append(str(png(path, path.with_suffix(".png"))))
        tempo = f", {piece.bpm:.1f} bpm" if piece.bpm else ""
        print(f"{path}  {piece.notes} notes, {piece.seconds:.1f} s{tempo}" + "".join(f"  {e}" for e in extra))
    print(f"seed {seed}: rerun with --seed {seed} for the same music")
    return 0
