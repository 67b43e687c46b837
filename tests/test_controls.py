"""Every control is declared once (STYLE rule 19): the flags of generate, compose, infill and play, the
studio's form and widgets and generation_config.json all come from the config fields, and agree on every
field's name, default and range."""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
from pathlib import Path

import pytest

from overworld.config import ATTENTION_NAMES, MODEL_NAMES, SampleConfig, config_from_dict, config_to_dict
from overworld.config.fields import in_range
from overworld.errors import ConfigError
from overworld.generation import compose as compose_module
from overworld.generation import infill as infill_module
from overworld.generation.compose import ComposeConfig
from overworld.generation.surface import controls, flag_of, from_args, from_form

INDEX = Path(__file__).resolve().parents[1] / "src" / "overworld" / "studio" / "static" / "index.html"

# each command, the config whose controls it takes with model defaults, and the ones it sets itself
SAMPLING_COMMANDS = {"generate": (), "compose": compose_module.SETS, "infill": infill_module.SETS}


def _subparser(verb: str) -> argparse.ArgumentParser:
    from overworld.cli import build_parser

    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return sub.choices[verb]


def _actions(parser: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    return {a.dest: a for a in parser._actions}


def _out_of_range(f: dataclasses.Field) -> object:
    """A value just outside the field's declared range, of its type."""
    meta, number = f.metadata, str(f.type).startswith("int")
    if "high" in meta:
        return int(meta["high"]) + 1 if number else meta["high"] * 2 + 1
    return int(meta["low"]) - 1 if number else meta["low"] - 1


def test_model_names_live_low_and_equal_the_registries():
    from overworld.models.build import ATTENTION, MODELS

    assert tuple(MODELS) == MODEL_NAMES and tuple(ATTENTION) == ATTENTION_NAMES
    with pytest.raises(ConfigError, match="unknown model 'gru'; choose one of music-transformer, lstm"):
        from overworld.config import ModelConfig

        ModelConfig(model="gru")


@pytest.mark.parametrize("verb", sorted(SAMPLING_COMMANDS))
def test_each_command_takes_every_sampling_control(verb):
    actions = _actions(_subparser(verb))
    sets = SAMPLING_COMMANDS[verb]
    declared = [f for f in dataclasses.fields(SampleConfig) if f.name not in sets]
    assert declared and all("help" in f.metadata for f in declared)  # every field is a declared control
    for f in declared:
        action = actions[f.name]
        assert flag_of(f) in action.option_strings, (verb, f.name)
        assert action.default is None, (verb, f.name)  # left out: the model's setting
        assert "(default: " in action.help and f.metadata["help"] in action.help, (verb, f.name)
        if str(f.type) == "bool":
            assert isinstance(action, argparse.BooleanOptionalAction)
        elif "parse" not in f.metadata and str(f.type) in ("int", "float"):
            assert action.type is {"int": int, "float": float}[str(f.type)], (verb, f.name)
    fields = {f.name: f for f in dataclasses.fields(SampleConfig)}
    for name in sets:  # what the command sets itself is not a sampling flag of it (maybe a flag of its own)
        assert name not in actions or fields[name].metadata["help"] not in actions[name].help, (verb, name)


@pytest.mark.parametrize("verb", sorted(SAMPLING_COMMANDS))
def test_each_command_refuses_what_the_config_refuses(verb):
    parser = _subparser(verb)
    ranged = [f for f in controls(SampleConfig, SAMPLING_COMMANDS[verb]) if "low" in f.metadata]
    assert ranged
    base = ["FILE", "--bars", "1"] if verb == "infill" else []
    for f in ranged:
        value = _out_of_range(f)
        assert not in_range(value, f.metadata)
        args = parser.parse_args([*base, flag_of(f), str(value)])
        with pytest.raises(ConfigError, match=rf"SampleConfig\.{f.name} must be "):
            dataclasses.replace(SampleConfig(), **from_args(SampleConfig, args, skip=SAMPLING_COMMANDS[verb]))


def test_compose_takes_every_compose_control_with_its_default():
    actions = _actions(_subparser("compose"))
    declared = list(controls(ComposeConfig, where="cli"))
    assert {f.name for f in dataclasses.fields(ComposeConfig)} - {f.name for f in declared} == {"formats"}
    for f in declared:
        action = actions[f.name]
        assert flag_of(f) in action.option_strings and action.default == f.default, f.name
    args = _subparser("compose").parse_args([])
    assert ComposeConfig(**from_args(ComposeConfig, args)) == ComposeConfig()


def test_the_studio_form_and_widgets_cover_every_field():
    from overworld.studio import forms

    page = INDEX.read_text(encoding="utf-8")
    base = SampleConfig(temperature=0.8, top_k=5, max_instruments=(4, 9), steady=True)
    built = forms.widgets(base)
    for config, widgets, skip in (
        (SampleConfig, built["sampling"], ()),
        (ComposeConfig, built["compose"], ()),
    ):
        names = {w["name"] for w in widgets}
        studio = {f.name for f in controls(config, skip, "studio")}
        assert names == studio - set(forms.SHARED)
        for name in studio & set(forms.SHARED):  # the page's own fields, shared by both modes
            assert re.search(rf'name="{name}"', page), name
        for w in widgets:
            meta = next(f for f in dataclasses.fields(config) if f.name == w["name"]).metadata
            assert (w.get("min"), w.get("max")) == (meta.get("low"), meta.get("high")), w["name"]
    # a sampling widget starts from the model's setting, and reads back as it
    for w in built["sampling"]:
        if w["kind"] in ("number", "text") and w["placeholder"] not in ("", "all"):
            assert from_form(SampleConfig, {w["name"]: w["placeholder"]}) == {
                w["name"]: getattr(base, w["name"])
            }


def test_the_studio_reads_every_field_as_the_cli_does():
    from overworld.studio import forms

    fields = {"temperature": "0.5", "top_k": "7", "max_instruments": "2-3", "steady": "on", "plan": "off"}
    changes = forms.sampling_changes(fields)
    assert changes == {
        "temperature": 0.5,
        "top_k": 7,
        "max_instruments": (2, 3),
        "steady": True,
        "plan": False,
    }
    argv = ["--temperature", "0.5", "--top-k", "7", "--max-instruments", "2-3", "--steady", "--no-plan"]
    assert from_args(SampleConfig, _subparser("generate").parse_args(argv)) == changes
    config = forms.compose_config(
        {"loop": "on", "variation": "0.5", "intensity": "0.2,0.8"}, sample_rate=8000
    )
    assert (config.loop, config.variation, config.intensity) == (True, 0.5, (0.2, 0.8))
    with pytest.raises(ConfigError, match="variation must be between 0 \\(exact repeats\\) and 1"):
        forms.compose_config({"variation": "2"}, sample_rate=8000)


def test_generation_config_json_holds_every_field(tmp_path):
    changed = {}
    for f in dataclasses.fields(SampleConfig):
        assert "help" in f.metadata, f.name  # declared, so a flag and a widget
        if "low" in f.metadata and str(f.type) in ("int", "float"):
            high = f.metadata.get("high", f.metadata["low"] + 1)
            changed[f.name] = high if str(f.type) == "int" else float(high)
    config = dataclasses.replace(SampleConfig(), **changed)
    path = tmp_path / "generation_config.json"
    path.write_text(json.dumps(config_to_dict(config)))
    data = json.loads(path.read_text())
    assert list(data) == [f.name for f in dataclasses.fields(SampleConfig)]
    assert config_from_dict(SampleConfig, data) == config
    with pytest.raises(ConfigError, match="unknown key 'top_q'"):
        config_from_dict(SampleConfig, {**data, "top_q": 1})


def test_play_takes_every_live_control_with_its_default():
    from overworld.live import LiveConfig

    parser = _subparser("play")
    actions = _actions(parser)
    declared = list(controls(LiveConfig, where="cli"))
    # the cache's size and the full arrangement's level are the program's, not flags
    assert {f.name for f in dataclasses.fields(LiveConfig)} - {f.name for f in declared} == {
        "context",
        "full",
    }
    for f in dataclasses.fields(LiveConfig):
        assert "help" in f.metadata, f.name  # every field is a declared control
    for f in declared:
        action = actions[f.name]
        assert flag_of(f) in action.option_strings and action.default == f.default, f.name
        assert f.metadata["help"] in action.help and "(default: " in action.help, f.name
    assert LiveConfig(**from_args(LiveConfig, parser.parse_args([]))) == LiveConfig()
    args = parser.parse_args(
        ["--bpm", "90", "--time-signature", "6/8", "--instruments", "nes", "--ahead", "3"]
    )
    config = LiveConfig(**from_args(LiveConfig, args))
    assert (config.bpm, config.metre, config.instruments, config.ahead) == (
        90.0,
        (6, 8),
        (80, 81, 38, 128),
        3,
    )


def test_play_refuses_what_the_live_config_refuses():
    from overworld.live import LiveConfig

    parser = _subparser("play")
    ranged = [f for f in controls(LiveConfig, where="cli") if "low" in f.metadata]
    assert {f.name for f in ranged} == {"bpm", "intensity", "ahead"}
    for f in ranged:
        value = _out_of_range(f)
        args = parser.parse_args([flag_of(f), str(value)])
        with pytest.raises(ConfigError, match=rf"^{f.name} must be {re.escape(f.metadata['what'])}"):
            LiveConfig(**from_args(LiveConfig, args))
    for field in ("context", "full"):  # not flags, still checked
        meta = next(f for f in dataclasses.fields(LiveConfig) if f.name == field)
        with pytest.raises(ConfigError, match=rf"^{field} must be "):
            LiveConfig(**{field: _out_of_range(meta)})


def test_compose_and_play_check_the_metre_once_and_share_the_bar_clock():
    from overworld.live import LiveConfig
    from overworld.theory import TIME_SIGNATURES, Metred

    for config in (ComposeConfig, LiveConfig):
        assert issubclass(config, Metred)
        with pytest.raises(
            ConfigError, match=r"the bar grid holds the time signatures 4/4, 3/4.*; not 5/16$"
        ):
            config(time_signature="5/16")
        # 7/8 at 140 bpm: 3.5 quarters a bar, 1.5 s, 1680 ticks at 480 a quarter
        assert config(time_signature="7/8", bpm=140.0).bar_seconds == pytest.approx(1.5)
        assert config(time_signature="7/8", bpm=140.0).bar_ticks == 1680
    assert len(TIME_SIGNATURES) == 15 and TIME_SIGNATURES[0] == (4, 4)
