"""A console is its line-up (generation.consoles: what composition keeps to) and its voices (render.consoles:
how the chiptune synth plays it); the synth names a config checks are render's SYNTHS registry."""

from __future__ import annotations

import pytest

from overworld.config import SYNTH_NAMES
from overworld.errors import ConfigError
from overworld.generation.compose import ComposeConfig, base_settings
from overworld.generation.consoles import LINEUPS, LineUp, lineup
from overworld.midi.gm import DRUMS
from overworld.render import SYNTHS
from overworld.render.chiptune import ChipVoices, voice_for
from overworld.render.consoles import CONSOLES, DUTIES, Console, console


def test_the_synth_names_a_config_checks_are_the_registry():
    assert tuple(SYNTHS) == SYNTH_NAMES
    with pytest.raises(ConfigError, match="synth must be one of soundfont, chiptune, not 'fm'"):
        ComposeConfig(synth="fm")


def test_every_line_up_has_its_voices():
    assert list(CONSOLES) == list(LINEUPS) == list(DUTIES)
    for name, machine in CONSOLES.items():
        assert machine.lineup is LINEUPS[name] and machine.name == name
        assert machine.instruments == LINEUPS[name].instruments
        assert sum(machine.voices.limits().values()) == machine.polyphony == LINEUPS[name].polyphony


def test_the_nes_line_up_and_voices():
    nes = lineup("nes")
    assert nes.instruments == (38, 80, 81, DRUMS) and nes.polyphony == 4
    assert nes.channels == {80: "pulse-1", 81: "pulse-2", 38: "triangle", DRUMS: "noise"}
    voices = console("nes")
    assert voices.voices == ChipVoices(pulse=2, triangle=1, noise=1, wave=0, fm=0, sample=0)
    assert voices.voice(80, False) == ("pulse", 0.5) and voices.voice(81, False) == ("pulse", 0.25)
    assert voices.voice(0, True) == ("noise", 0.0)  # any drum: the noise channel
    assert voices.voice(0, False) == voice_for(0, False)  # a piano, outside the line-up: the synth's own


def test_composition_keeps_to_the_line_up():
    config = ComposeConfig(bars=2, console="gameboy")
    settings = base_settings(None, config, "C major", None)
    assert settings.instruments == LINEUPS["gameboy"].instruments
    assert settings.max_polyphony <= 4 and settings.max_instruments == 4


def test_a_line_up_needs_a_voice_for_each_part():
    with pytest.raises(
        ConfigError, match="console toy: instrument 38 uses triangle, which it has no voice of"
    ):
        LineUp("toy", "", (("pulse", 1),), ((80, "pulse"), (38, "triangle")))


def test_a_console_needs_the_synths_voices_and_a_duty_per_pulse():
    toy = LineUp("toy", "", (("pulse", 1), ("noise", 1)), ((80, "pulse"), (DRUMS, "noise")))
    assert Console(toy, ((80, 0.125),)).voice(80, False) == ("pulse", 0.125)
    with pytest.raises(
        ConfigError, match=r"console toy: a duty between 0 and 1 for each pulse instrument \[80\]"
    ):
        Console(toy)
    with pytest.raises(ConfigError, match="console odd: the chiptune synth has no theremin voice"):
        Console(LineUp("odd", "", (("theremin", 1),), ((0, "theremin"),)))


def test_an_unknown_console_lists_the_known_ones():
    for find in (lineup, console):
        with pytest.raises(
            ConfigError, match="unknown console 'atari'; choose one of: nes, gameboy, snes, genesis"
        ):
            find("atari")
    with pytest.raises(ConfigError, match="unknown console 'atari'"):
        ComposeConfig(console="atari")
