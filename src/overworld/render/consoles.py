"""Game consoles as the chiptune synth plays them: each machine's instrument line-up and voice limits.

A :class:`Console` names the General MIDI programs a piece for that machine may use (the sampler keeps to
them: ``SampleConfig.instruments``), the voice kind each is played with, and how many voices of each kind
the chip has (the sampler keeps polyphony to their total; the synth steals the oldest note when a kind
runs out, as the chip's channel does). The voices are the chiptune synth's (:data:`OSCILLATORS`):

* ``nes``: the Ricoh 2A03: two pulse channels, a triangle and a noise channel;
* ``gameboy``: two pulse channels, the 4-bit wave channel (here a bass) and noise;
* ``snes``: the S-DSP's eight sampled voices (six tonal here, two noise for the drums);
* ``genesis``: the YM2612's six FM channels and the SN76489's three squares and noise.
"""

from __future__ import annotations

from dataclasses import dataclass

from overworld.errors import ConfigError
from overworld.midi.gm import DRUMS
from overworld.render.chiptune import OSCILLATORS, ChipVoices, voice_for

__all__ = ["CONSOLES", "Console", "console"]


@dataclass(frozen=True)
class Console:
    """One machine: ``lineup`` is ``(GM program or 128 for drums, voice kind, pulse duty)`` per instrument."""

    name: str
    description: str
    voices: ChipVoices
    lineup: tuple[tuple[int, str, float], ...]

    def __post_init__(self) -> None:
        limits = self.voices.limits()
        for program, kind, _duty in self.lineup:
            if kind not in OSCILLATORS or limits[kind] <= 0:
                raise ConfigError(
                    f"console {self.name}: instrument {program} uses {kind}, which it has no voice of"
                )

    @property
    def instruments(self) -> tuple[int, ...]:
        """The GM programs (128: drums) a piece for this console may use."""
        return tuple(sorted(program for program, _, _ in self.lineup))

    @property
    def polyphony(self) -> int:
        """Notes the chip can sound at once."""
        return sum(self.voices.limits().values())

    @property
    def channels(self) -> dict[int, str]:
        """The chip channel each instrument of the line-up plays on, ``{GM program (128: drums): name}``:
        its voice kind, numbered where the machine has several of that kind in its line-up (``nes``:
        ``pulse-1``, ``pulse-2``, ``triangle``, ``noise``)."""
        kinds = [kind for _, kind, _ in self.lineup]
        seen: dict[str, int] = {}
        names = {}
        for program, kind, _ in self.lineup:
            seen[kind] = seen.get(kind, 0) + 1
            names[program] = f"{kind}-{seen[kind]}" if kinds.count(kind) > 1 else kind
        return names

    def voice(self, program: int, is_drum: bool) -> tuple[str, float]:
        """The voice kind and duty of an instrument (one outside the line-up: the synth's default)."""
        key = DRUMS if is_drum else program
        for p, kind, duty in self.lineup:
            if p == key:
                return kind, duty
        return voice_for(program, is_drum)


CONSOLES: dict[str, Console] = {
    "nes": Console(
        "nes",
        "Ricoh 2A03: 2 pulses, triangle, noise",
        ChipVoices(pulse=2, triangle=1, noise=1),
        ((80, "pulse", 0.5), (81, "pulse", 0.25), (38, "triangle", 0.0), (DRUMS, "noise", 0.0)),
    ),
    "gameboy": Console(
        "gameboy",
        "Game Boy DMG: 2 pulses, 4-bit wave, noise",
        ChipVoices(pulse=2, triangle=0, noise=1, wave=1),
        ((80, "pulse", 0.5), (81, "pulse", 0.25), (38, "wave", 0.0), (DRUMS, "noise", 0.0)),
    ),
    "snes": Console(
        "snes",
        "SNES S-DSP: 8 sampled voices",
        ChipVoices(pulse=0, triangle=0, noise=2, sample=6),
        (
            (0, "sample", 0.0),
            (33, "sample", 0.0),
            (48, "sample", 0.0),
            (61, "sample", 0.0),
            (73, "sample", 0.0),
            (DRUMS, "noise", 0.0),
        ),
    ),
    "genesis": Console(
        "genesis",
        "Mega Drive: YM2612 6 FM + SN76489 3 squares, noise",
        ChipVoices(pulse=3, triangle=0, noise=1, fm=6),
        ((38, "fm", 0.0), (62, "fm", 0.0), (81, "fm", 0.0), (80, "pulse", 0.5), (DRUMS, "noise", 0.0)),
    ),
}


def console(name: str) -> Console:
    """The console called ``name``; an unknown name is a :class:`ConfigError` listing the known ones."""
    if name not in CONSOLES:
        raise ConfigError(f"unknown console {name!r}; choose one of: {', '.join(CONSOLES)}")
    return CONSOLES[name]
