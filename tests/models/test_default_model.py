"""The bundled default model: it loads by name, describes itself, and composes valid MIDI from nothing."""

from __future__ import annotations

import mido

from overworld import load_model
from overworld.cli import main


def test_default_model_loads_and_describes_itself():
    model = load_model("default")
    assert model.config.model == "music-transformer" and model.config.attention == "relative"
    card = model.card
    assert card["test"]["bits_per_note"] < card["baselines_test_bits_per_note"]["lstm"]
    assert card["test"]["bits_per_note"] < card["baselines_test_bits_per_note"]["bigram"]
    assert set(card["data"]["sources"]) == {"freedoom", "openmsx"}


def test_generate_with_no_arguments_writes_valid_midi(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["generate", "--seed", "3", "--length", "200"]) == 0
    (path,) = sorted((tmp_path / "out").glob("overworld-3-0.mid"))
    midi = mido.MidiFile(path)
    sounding = set()
    for track in midi.tracks:
        for msg in track:
            if msg.type == "note_on" and msg.velocity > 0:
                sounding.add((msg.channel, msg.note))
            elif msg.type in ("note_on", "note_off"):
                sounding.discard((msg.channel, msg.note))
    assert not sounding and sum(1 for t in midi.tracks for m in t if m.type == "note_on") > 5
