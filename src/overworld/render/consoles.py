"""Game consoles as the chiptune synth plays them: each machine's voices, on its line-up.

What a piece for a machine may use (its General MIDI programs, each on one chip channel, and how many notes
the chip sounds at once) is composition's data: :mod:`overworld.generation.consoles`. Here each line-up
gets its voices: how many of each voice kind the synth's chip has (:class:`ChipVoices`; the synth steals
the oldest note when a kind runs out, as the chip's channel does) and each pulse channel's duty. The voice
kinds are the chiptune synth's oscillators (:data:`OSCILLATORS`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from overworld.errors import ConfigError
from overworld.generation.consoles import LINEUPS, LineUp, lineup
from overworld.midi.gm import DRUMS
from overworld.render.chiptune import OSCILLATORS, ChipVoices, voice_for

__all__ = ["CONSOLES", "DUTIES", "Console", "console"]

# the pulse duty of each pulse channel of a line-up, {console: {GM program: duty}}
DUTIES: dict[str, dict[int, float]] = {
    "nes": {80: 0.5, 81: 0.25},
    "gameboy": {80: 0.5, 81: 0.25},
    "snes": {},
    "genesis": {80: 0.5},
}


@dataclass(frozen=True)
class Console:
    """One machine as the synth plays it: its :class:`~overworld.generation.consoles.LineUp` and the duty
    of each of its pulse instruments, ``(GM program, duty)``."""

    lineup: LineUp
    duties: tuple[tuple[int, float], ...] = ()

    def __post_init__(self) -> None:
        kinds = {f.name for f in dataclasses.fields(ChipVoices)}
        for kind, _count in self.lineup.chip:
            if kind not in OSCILLATORS or kind not in kinds:
                raise ConfigError(f"console {self.name}: the chiptune synth has no {kind} voice")
        pulses = {program for program, kind in self.lineup.parts if kind == "pulse"}
        duties = dict(self.duties)
        if set(duties) != pulses or not all(0 < d < 1 for d in duties.values()):
            raise ConfigError(
                f"console {self.name}: a duty between 0 and 1 for each pulse instrument {sorted(pulses)}, "
                f"not {duties}"
            )

    @property
    def name(self) -> str:
        return self.lineup.name

    @property
    def description(self) -> str:
        return self.lineup.description

    @property
    def instruments(self) -> tuple[int, ...]:
        """The GM programs (128: drums) a piece for this console may use."""
        return self.lineup.instruments

    @property
    def polyphony(self) -> int:
        """Notes the chip can sound at once."""
        return self.lineup.polyphony

    @property
    def channels(self) -> dict[int, str]:
        """The chip channel of each instrument of the line-up (see ``LineUp.channels``)."""
        return self.lineup.channels

    @property
    def voices(self) -> ChipVoices:
        """How many notes each voice kind of the chip sounds at once (no voices of a kind it lacks)."""
        none = dict.fromkeys((f.name for f in dataclasses.fields(ChipVoices)), 0)
        return ChipVoices(**{**none, **dict(self.lineup.chip)})

    def voice(self, program: int, is_drum: bool) -> tuple[str, float]:
        """The voice kind and duty of an instrument (one outside the line-up: the synth's default)."""
        key = DRUMS if is_drum else program
        for p, kind in self.lineup.parts:
            if p == key:
                return kind, dict(self.duties).get(p, 0.0)
        return voice_for(program, is_drum)


CONSOLES: dict[str, Console] = {
    name: Console(up, tuple(DUTIES.get(name, {}).items())) for name, up in LINEUPS.items()
}


def console(name: str) -> Console:
    """The console called ``name``; an unknown name is a :class:`ConfigError` listing the known ones."""
    lineup(name)
    return CONSOLES[name]
