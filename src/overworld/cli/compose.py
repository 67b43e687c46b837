"""``overworld compose``: game-ready music (exact bars, tempo, key, form, a seamless loop, intensity,
stems, a console's voices), one folder per piece: a music pack any game engine takes
(:mod:`overworld.export`), written whole or not at all."""

from __future__ import annotations

import argparse

_DESCRIPTION = (
    "Compose a piece of exactly --bars bars at --bpm in --key with a bar-token model and write OUT/<seed>/ (one "
    "folder per --intensity level), a music pack for a game engine: piece.mid (the tempo map and metre, loop "
    "markers), mix.wav (a smpl chunk with the loop in samples), intro.wav and loop.wav cut at the loop points, "
    "mix.ogg (LOOPSTART/LOOPLENGTH comments), stems/, piece.xm with --format xm, and piece.json (loop points, "
    "sections, jump points, intensity layers). Each folder is written beside its place and moved in once "
    "complete. Sampling settings start from the model's generation_config.json; each sampling flag given "
    "overrides its setting."
)


def add_parser(sub: argparse._SubParsersAction) -> None:
    from overworld.config import SampleConfig
    from overworld.export import MODULE_FORMATS
    from overworld.generation.compose import AUDIO_FORMATS, SETS, ComposeConfig
    from overworld.generation.surface import add_arguments

    p = sub.add_parser(
        "compose",
        help="game-ready music: loops, form, key, tempo, intensity and stems",
        description=_DESCRIPTION,
    )
    p.add_argument(
        "--model", default="default", help="a bar-token model directory (default: the bundled model)"
    )
    p.add_argument(
        "--out", default="out", help="output folder; each piece goes into OUT/<seed>/ (default: out/)"
    )
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace an OUT/<seed>/ folder already there (default: refuse, before composing)",
    )
    p.add_argument(
        "--seed", type=int, help="random seed; the same seed gives the same piece (default: random)"
    )
    add_arguments(p, ComposeConfig)
    add_arguments(p.add_argument_group("sampling"), SampleConfig, skip=SETS, model_defaults=True)
    formats = ", ".join(AUDIO_FORMATS)
    p.add_argument(
        "--format",
        default="ogg",
        help=f"formats, comma separated: audio ({formats}; the pack's WAV files are always written) and tracker "
        f"modules ({', '.join(MODULE_FORMATS)}: patterns on the bar grid, the chip's waveforms, the loop as "
        "restart position) (default: ogg)",
    )
    p.add_argument(
        "--stingers",
        type=int,
        metavar="N",
        help="also N (1-64) one- or two-bar clips in the piece's key and tempo that end on its tonic, in "
        "OUT/<seed>/stingers/ (default: none)",
    )
    p.add_argument("--device", default="auto", help="cpu, cuda or auto (default: auto)")
    p.set_defaults(func=run)


def _formats(text: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(audio formats, module formats) of ``--format``; audio ogg when it names none."""
    from overworld.errors import ConfigError
    from overworld.export import MODULE_FORMATS
    from overworld.generation.compose import AUDIO_FORMATS

    names = tuple(dict.fromkeys(f.strip().lower() for f in text.split(",") if f.strip()))
    unknown = [f for f in names if f not in AUDIO_FORMATS + MODULE_FORMATS]
    if unknown or not names:
        known = ", ".join(AUDIO_FORMATS + MODULE_FORMATS)
        raise ConfigError(f"--format takes {known}, comma separated; not {text!r}")
    audio = tuple(f for f in names if f in AUDIO_FORMATS) or ("ogg",)
    return audio, tuple(f for f in names if f in MODULE_FORMATS)


def _config(args: argparse.Namespace, formats: tuple[str, ...]):  # -> ComposeConfig
    from overworld.generation.compose import ComposeConfig
    from overworld.generation.surface import from_args

    return ComposeConfig(**from_args(ComposeConfig, args), formats=formats)


def run(args: argparse.Namespace) -> int:
    import dataclasses
    import secrets
    import sys

    from overworld.config import SampleConfig
    from overworld.devices import pick_device
    from overworld.export import check_out_folder, piece_folder_name, write_pieces
    from overworld.generation.compose import SETS, compose
    from overworld.generation.surface import from_args
    from overworld.models.storage import load_model

    audio, modules = _formats(args.format)
    config = _config(args, audio)  # checked before the model loads, as the out folder is
    seed = args.seed if args.seed is not None else secrets.randbelow(2**31)
    names = [piece_folder_name(seed, level) for level in config.intensity or (None,)]
    out = check_out_folder(args.out, names, overwrite=args.overwrite)
    if args.stingers is not None:
        from overworld.export.stingers import write_stingers
        from overworld.generation.stingers import check_count, stingers

        check_count(args.stingers)
    model = load_model(args.model, device=pick_device(args.device))
    sampling = dataclasses.replace(model.sampling, **from_args(SampleConfig, args, skip=SETS))
    pieces = compose(
        model,
        config,
        seed=seed,
        sampling=sampling,
        progress=lambda step: print(f"composing: {step}", file=sys.stderr),
    )
    folders = write_pieces(pieces, out, config, model_name=str(args.model), modules=modules)
    for piece, folder in zip(pieces, folders):
        loop = f", loop bars {piece.loop[0] + 1}-{piece.loop[1]}" if piece.loop else ""
        print(
            f"{folder}  {piece.bars} bars at {piece.bpm:g} bpm in {piece.time_signature}, key {piece.key}{loop}"
        )
    if args.stingers is not None:
        clips = stingers(model, pieces[0], args.stingers, seed=seed)
        written = write_stingers(
            clips,
            folders[0] / "stingers",
            synth=config.synth,
            soundfont=config.soundfont,
            sample_rate=config.sample_rate,
            formats=config.formats,
        )
        print(written, f" {len(clips)} stingers")
    print(f"seed {seed}: rerun with --seed {seed} for the same music")
    return 0
