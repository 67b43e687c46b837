"""``overworld render FILE.mid...``: hear MIDI through a SoundFont or the built-in chiptune synth.

A bad file costs only itself: the others are still rendered, its reason is one line
``overworld render: error: FILE: ...`` on stderr, and the exit status is 2, as for every verb's errors."""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:
    from overworld.render import SYNTHS  # the registry; no numpy work at import

    p = sub.add_parser(
        "render",
        help="render MIDI files to audio (SoundFont or chiptune)",
        description="Render MIDI to WAV (or FLAC/OGG by extension). soundfont: FluidSynth with a "
        "General MIDI SoundFont found automatically; chiptune: a built-in NES-style synth.",
    )
    p.add_argument("files", nargs="+", metavar="FILE.mid", help="MIDI files")
    p.add_argument(
        "--synth",
        choices=SYNTHS,
        default="soundfont",
        help="soundfont: FluidSynth and a General MIDI SoundFont; chiptune: built in, always works "
        "(default: soundfont)",
    )
    p.add_argument("--soundfont", metavar="SF2", help="SoundFont file (default: found in the usual places)")
    p.add_argument("--out", help="output file (one input) or folder (default: beside each input, .wav)")
    p.add_argument("--sample-rate", type=int, default=44100, help="samples per second (44100)")
    p.add_argument("--max-seconds", type=float, default=600.0, help="cap on the audio length (600)")
    p.set_defaults(func=run)


def _targets(args: argparse.Namespace) -> list[tuple[object, object]]:
    """(input, output) of each file, after checking the outputs can be written and the SoundFont is one:
    ``--out`` a folder for several inputs (or one that exists, or has no extension), else the one file."""
    from pathlib import Path

    from overworld.preflight import writable_file, writable_folder
    from overworld.render.audio import FORMATS

    if args.synth == "soundfont":
        from overworld.render.soundfont import find_soundfont

        find_soundfont(args.soundfont)  # a missing or non-SoundFont file, before any work
    out = Path(args.out) if args.out else None
    folder = out is not None and (len(args.files) > 1 or out.is_dir() or not out.suffix)
    if folder:
        writable_folder(out)
    elif out is not None:
        writable_file(out, tuple(FORMATS))
    pairs = []
    for name in args.files:
        src = Path(name)
        target = (out / (src.stem + ".wav")) if folder else (out or src.with_suffix(".wav"))
        pairs.append((src, target))
    return pairs


def run(args: argparse.Namespace) -> int:
    import sys

    from overworld.errors import OverworldError
    from overworld.preflight import readable_file
    from overworld.render import render

    failures = 0
    for src, target in _targets(args):
        try:
            readable_file(src, "MIDI file")
            render(
                src,
                target,
                synth=args.synth,
                soundfont=args.soundfont,
                sample_rate=args.sample_rate,
                max_seconds=args.max_seconds,
            )
            print(f"{src} -> {target}")
        except (OverworldError, OSError) as exc:  # one bad file costs only itself
            if args.debug:
                raise
            failures += 1
            print(f"overworld render: error: {src}: {exc}", file=sys.stderr)
    return 2 if failures else 0
