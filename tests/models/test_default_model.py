"""The bundled default model: a bar-token model that loads by name, describes itself, composes exact bars
from nothing, and infills."""

from __future__ import annotations

import mido
import symusic

from overworld import load_model
from overworld.cli import main
from overworld.generation.infill import infill
from overworld.tokenizers.abilities import has_bars


def test_default_model_loads_and_describes_itself():
    model = load_model("default")
    assert model.tokenizer.name == "bars" and has_bars(model.tokenizer)
    assert model.config.model == "music-transformer" and model.config.attention == "rope"
    card = model.card
    assert card["test"]["bits_per_note"] < card["baselines_test_bits_per_note"]["bigram"]
    assert (
        card["test_bits_per_note_on_the_5_midi_test_pieces"]
        < card["previous_bundled_model_test_bits_per_note"]
    )
    assert set(card["data"]["sources"]) == {"freedoom", "openmsx", "tracker"}
    # its recommended settings: one metre and tempo, arrangement plans it carries, notes at temperature 1
    assert model.sampling.steady and model.sampling.plan and model.sampling.temperature == 1.0
    from overworld.generation.plans import read_plans

    assert len(read_plans(model)) > 100


def test_generate_with_no_arguments_writes_valid_midi(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["generate", "--seed", "3", "--bars", "4"]) == 0
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
    score = symusic.Score(str(path))
    last = max(n.time for t in score.tracks for n in t.notes)
    assert last < 4 * 4 * score.ticks_per_quarter * 2  # four bars (of at most 8/4)


def test_the_default_model_infills_keeping_the_rest(tmp_path):
    score = symusic.Score(480)
    score.tempos.append(symusic.Tempo(0, 120.0))
    piano = symusic.Track(program=0)
    for bar in range(8):
        for beat in range(4):
            piano.notes.append(symusic.Note(bar * 1920 + beat * 480, 240, 60 + (beat * 4) % 12, 90))
    score.tracks.append(piano)
    take = infill(load_model("default"), score, (3, 4), seed=1)[0]
    outside = lambda n: not 2 * 1920 <= n.time < 4 * 1920  # noqa: E731
    kept = sorted(
        (n.time, n.duration, n.pitch, n.velocity) for t in take.score.tracks for n in t.notes if outside(n)
    )
    assert kept == sorted((n.time, n.duration, n.pitch, n.velocity) for n in piano.notes if outside(n))
