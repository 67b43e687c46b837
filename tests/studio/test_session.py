"""The studio's work without the web: a composed take is the piece compose writes, regenerating bars keeps
every note outside them, the history keeps each take, the zip holds the take's files, the page's fields
read as the CLI's flags do (one line for a bad one)."""

from __future__ import annotations

import io
import json
import zipfile

import mido
import pytest
from tests.studio.conftest import SR

from overworld.errors import ConfigError
from overworld.studio import forms
from overworld.studio.session import Studio


@pytest.fixture(scope="module")
def studio(bar_model, tmp_path_factory):
    return Studio(bar_model, tmp_path_factory.mktemp("takes"), model_name="tiny", sample_rate=SR)


@pytest.fixture(scope="module")
def loop_take(studio):
    config = forms.compose_config(
        {"bars": "4", "bpm": "150", "key": "D minor", "loop": "on", "stems": "on"}, sample_rate=SR
    )
    return studio.compose(config, studio.sampling({}), 3)[0]


def _notes(path, keep):
    midi = mido.MidiFile(path)
    out, tick = [], 0
    for track in midi.tracks:
        tick = 0
        for msg in track:
            tick += msg.time
            if msg.type == "note_on" and msg.velocity and keep(tick):
                out.append((tick, msg.channel, msg.note, msg.velocity))
    return sorted(out)


def test_a_composed_take_is_the_piece_compose_writes(loop_take):
    info = json.loads((loop_take.folder / "piece.json").read_text())
    assert (info["bars"], info["bpm"], info["key"], info["seed"]) == (4, 150, "D minor", 3)
    assert info["loop"]["start_bar"] == 1 and info["loop"]["end_bar"] == 4
    assert loop_take.bar_lines == pytest.approx([0.0, 1.6, 3.2, 4.8, 6.4])  # 4/4 at 150 bpm: 1.6 s a bar
    assert (loop_take.folder / "mix.ogg").stat().st_size > 0 and list(
        (loop_take.folder / "stems").glob("*.ogg")
    )


def test_regenerating_bars_keeps_every_note_outside_them(studio, loop_take):
    new = studio.regenerate(loop_take.id, (2, 3), seed=5)
    assert new.parent == loop_take.id and new.bars == 4
    bar = 1920  # ticks of a 4/4 bar at 480 a quarter
    outside = lambda tick: not bar <= tick < 3 * bar  # noqa: E731
    assert _notes(new.folder / "piece.mid", outside) == _notes(loop_take.folder / "piece.mid", outside)
    assert json.loads((new.folder / "piece.json").read_text())["loop"] is not None  # still a loop
    assert [t.id for t in studio.history()][-2:] == [loop_take.id, new.id]


def test_the_zip_holds_midi_mix_stems_and_piece_json(studio, loop_take):
    names = zipfile.ZipFile(io.BytesIO(studio.zip(loop_take.id))).namelist()
    top = f"overworld-take-{loop_take.id}/"
    assert {top + "piece.mid", top + "mix.ogg", top + "piece.json"} <= set(names)
    assert any(n.startswith(top + "stems/") for n in names)


def test_the_roll_has_a_band_per_bar_and_the_notes(studio, loop_take):
    svg = studio.roll(loop_take.id)
    assert svg.count('class="bar"') == 4 and 'data-bar="4"' in svg
    assert svg.count('class="note"') == sum(len(t.notes) for t in loop_take.load_score().tracks)


def test_generate_continues_an_uploaded_primer(studio, tmp_path):
    primer = tmp_path / "primer.mid"
    midi = mido.MidiFile(ticks_per_beat=480)
    track = mido.MidiTrack(
        [mido.MetaMessage("set_tempo", tempo=500_000), mido.Message("program_change", program=80)]
    )
    for pitch in (62, 65, 69, 65):  # D minor arpeggio in quarters
        track += [
            mido.Message("note_on", note=pitch, velocity=90),
            mido.Message("note_off", note=pitch, time=480),
        ]
    midi.tracks.append(track)
    midi.save(primer)
    take = studio.generate(studio.sampling({"temperature": 0.9}), bars=2, seconds=None, seed=1, primer=primer)
    assert "primer.mid" in take.label and (take.folder / "piece.mid").exists()
    assert json.loads((take.folder / "piece.json").read_text())["sampling"]["temperature"] == 0.9


@pytest.mark.parametrize(
    "fields, says",
    [
        ({"bars": "four"}, "bars must be a whole number, not 'four'"),
        ({"bpm": "900"}, "bpm must be a tempo between 20 and 400"),
        ({"key": "H minor"}, "H minor"),
        ({"intensity": "loud"}, "intensity is 0 (calm) to 1"),
    ],
)
def test_a_bad_compose_field_is_one_line(fields, says):
    with pytest.raises(ConfigError, match=None) as err:
        forms.compose_config(fields, sample_rate=SR)
    assert says in str(err.value) and "\n" not in str(err.value)


def test_bad_sampling_and_span_are_one_line(studio):
    with pytest.raises(ConfigError, match="top_p"):
        studio.sampling(forms.sampling_changes({"top_p": "1.5"}))
    with pytest.raises(ConfigError, match="instrument 'kazoo!'"):
        forms.sampling_changes({"instruments": "kazoo!"})
    with pytest.raises(ConfigError, match="outside the take's 4 bars"):
        forms.infill_span({"first": "3", "last": "6"}, 4)


def test_a_model_without_bars_says_so_in_one_line(tmp_path):
    from overworld.config import ModelConfig
    from overworld.models import build_model, load_model, save_model
    from overworld.tokenizers import make_tokenizer

    tokenizer = make_tokenizer("performance")
    config = ModelConfig(
        vocab_size=tokenizer.vocab_size,
        embedding_size=16,
        sequence_length=32,
        num_blocks=1,
        num_heads=2,
        feed_forward_dim=32,
    )
    folder = save_model(tmp_path / "performance", build_model(config), tokenizer)
    studio = Studio(load_model(folder), tmp_path)
    assert not studio.can_bars
    assert "bar-token model" in studio.limitation and "\n" not in studio.limitation
    with pytest.raises(ConfigError, match="composing needs a bar-token model"):
        studio.require_bars("composing")
