"""The audio and piano-roll outputs that `generate` and `infill` write next to each MIDI file: one set of
flags, one check of them."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path


def add_output_flags(p: argparse.ArgumentParser, each: str) -> None:
    """``--wav``, ``--synth``, ``--soundfont`` and ``--png`` for ``each`` file written ("piece", "take")."""
    from overworld.render import SYNTHS  # the synth registry `overworld render` chooses from

    p.add_argument("--wav", action="store_true", help=f"also render each {each} to WAV with --synth")
    p.add_argument(
        "--synth",
        choices=SYNTHS,
        help="the synthesizer of --wav, as for `overworld render`: chiptune (built in, always works) "
        "or soundfont (FluidSynth and a General MIDI SoundFont); implies --wav (default: chiptune)",
    )
    p.add_argument(
        "--soundfont",
        metavar="SF2",
        help="--synth soundfont: the SoundFont (default: found in the "
        "usual places, as for `overworld render`)",
    )
    p.add_argument("--png", action="store_true", help=f"also plot each {each}'s piano roll to PNG")


def renderers(args: argparse.Namespace) -> tuple[Callable[[Path, Path], Path] | None, ...]:
    """The audio and piano-roll writers the flags ask for (None where not asked); a ``--soundfont``
    without ``--synth soundfont`` is a :class:`ConfigError`."""
    from functools import partial

    from overworld.errors import ConfigError
    from overworld.render import plot_pianoroll, render

    synth = args.synth or "chiptune"
    if args.soundfont and synth != "soundfont":
        raise ConfigError("--soundfont is the SoundFont of --synth soundfont; add --synth soundfont")
    if synth == "soundfont":
        from overworld.render.soundfont import find_soundfont

        find_soundfont(args.soundfont)  # a missing or non-SoundFont file, before any work
    wav = args.wav or args.synth is not None
    audio = partial(render, synth=synth, soundfont=args.soundfont) if wav else None
    return audio, (plot_pianoroll if args.png else None)
