"""Game consoles as composition sees them: each machine's line-up (the General MIDI programs a piece for it
may use, each on one chip channel) and how many notes its chip can sound at once.

The sampler keeps to the line-up (``SampleConfig.instruments``) and to the chip's polyphony
(``max_polyphony``), and stems are named by channel (``pulse-1``, ``triangle``). How each channel sounds
(its waveform, a pulse's duty, the oldest note stolen when a kind runs out) is the chiptune synth's:
:mod:`overworld.render.consoles` builds each machine's voices on these line-ups, from the layer above.

* ``nes``: the Ricoh 2A03: two pulse channels, a triangle and a noise channel;
* ``gameboy``: two pulse channels, the 4-bit wave channel (here a bass) and noise;
* ``snes``: the S-DSP's eight sampled voices (six tonal here, two noise for the drums);
* ``genesis``: the YM2612's six FM channels and the SN76489's three squares and noise.
"""

from __future__ import annotations

from dataclasses import dataclass

from overworld.errors import ConfigError
from overworld.midi.gm import DRUMS

__all__ = ["LINEUPS", "LineUp", "lineup"]


@dataclass(frozen=True)
class LineUp:
    """One machine: ``chip`` is ``(voice kind, voices)`` per kind of channel it has, ``parts`` is
    ``(GM program or 128 for drums, voice kind)`` per instrument a piece for it may use."""

    name: str
    description: str
    chip: tuple[tuple[str, int], ...]
    parts: tuple[tuple[int, str], ...]

    def __post_init__(self) -> None:
        voices = dict(self.chip)
        for program, kind in self.parts:
            if voices.get(kind, 0) <= 0:
                raise ConfigError(
                    f"console {self.name}: instrument {program} uses {kind}, which it has no voice of"
                )

    @property
    def instruments(self) -> tuple[int, ...]:
        """The GM programs (128: drums) a piece for this console may use."""
        return tuple(sorted(program for program, _ in self.parts))

    @property
    def polyphony(self) -> int:
        """Notes the chip can sound at once."""
        return sum(count for _, count in self.chip)

    @property
    def channels(self) -> dict[int, str]:
        """The chip channel each instrument of the line-up plays on, ``{GM program (128: drums): name}``:
        its voice kind, numbered where the machine has several of that kind in its line-up (``nes``:
        ``pulse-1``, ``pulse-2``, ``triangle``, ``noise``)."""
        kinds = [kind for _, kind in self.parts]
        seen: dict[str, int] = {}
        names = {}
        for program, kind in self.parts:
            seen[kind] = seen.get(kind, 0) + 1
            names[program] = f"{kind}-{seen[kind]}" if kinds.count(kind) > 1 else kind
        return names


LINEUPS: dict[str, LineUp] = {
    "nes": LineUp(
        "nes",
        "Ricoh 2A03: 2 pulses, triangle, noise",
        (("pulse", 2), ("triangle", 1), ("noise", 1)),
        ((80, "pulse"), (81, "pulse"), (38, "triangle"), (DRUMS, "noise")),
    ),
    "gameboy": LineUp(
        "gameboy",
        "Game Boy DMG: 2 pulses, 4-bit wave, noise",
        (("pulse", 2), ("noise", 1), ("wave", 1)),
        ((80, "pulse"), (81, "pulse"), (38, "wave"), (DRUMS, "noise")),
    ),
    "snes": LineUp(
        "snes",
        "SNES S-DSP: 8 sampled voices",
        (("noise", 2), ("sample", 6)),
        ((0, "sample"), (33, "sample"), (48, "sample"), (61, "sample"), (73, "sample"), (DRUMS, "noise")),
    ),
    "genesis": LineUp(
        "genesis",
        "Mega Drive: YM2612 6 FM + SN76489 3 squares, noise",
        (("pulse", 3), ("noise", 1), ("fm", 6)),
        ((38, "fm"), (62, "fm"), (81, "fm"), (80, "pulse"), (DRUMS, "noise")),
    ),
}


def lineup(name: str) -> LineUp:
    """The line-up of the console called ``name``; an unknown name is a :class:`ConfigError` listing the
    known ones."""
    if name not in LINEUPS:
        raise ConfigError(f"unknown console {name!r}; choose one of: {', '.join(LINEUPS)}")
    return LINEUPS[name]
