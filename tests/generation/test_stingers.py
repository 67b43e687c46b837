"""Stingers: one- or two-bar clips in the piece's key and exact tempo that end on its tonic."""

from __future__ import annotations

import types

import mido
import numpy as np
import pytest
import soundfile
import symusic
import torch

from overworld.config import ModelConfig, SampleConfig
from overworld.errors import ConfigError
from overworld.export.stingers import write_stingers
from overworld.generation.compose import ComposeConfig, compose
from overworld.generation.stingers import ends_on_tonic, stingers, tonic_of
from overworld.midi.gm import DRUMS
from overworld.theory import parse_key
from overworld.tokenizers.bars import BarTokenizer
from overworld.tokenizers.bars import Layout as L


@pytest.fixture(scope="module")
def bar_model():
    from overworld.models import build_model

    torch.manual_seed(0)
    config = ModelConfig(
        vocab_size=L.SIZE,
        embedding_size=32,
        sequence_length=256,
        num_blocks=2,
        num_heads=2,
        feed_forward_dim=64,
        dropout=0.0,
    )
    sampling = SampleConfig(max_polyphony=4, max_instruments=(2, 4))
    return types.SimpleNamespace(
        model=build_model(config).eval(), tokenizer=BarTokenizer(), sampling=sampling
    )


def _last_onset_lowest(score) -> int:
    rows = [(n.time, -n.pitch) for t in score.tracks if not t.is_drum for n in t.notes]
    return -max(rows)[1]


@pytest.mark.parametrize("key, seed", [("D minor", 0), ("F# dorian", 1), ("Bb", 2), ("G mixolydian", 3)])
def test_every_stinger_is_in_key_and_ends_on_the_tonic(bar_model, key, seed):
    clips = stingers(bar_model, ComposeConfig(key=key, bpm=150, time_signature="3/4"), 3, seed=seed)
    tonic = tonic_of(key)
    assert len(clips) == 3 and {c.key for c in clips} == {key}
    for clip in clips:
        pitched = [n for t in clip.score.tracks if not t.is_drum for n in t.notes]
        assert pitched and {n.pitch % 12 for n in pitched} <= parse_key(key)
        assert _last_onset_lowest(clip.score) % 12 == tonic and ends_on_tonic(clip.score, tonic)
        assert clip.bars in (1, 2) and [round(t.qpm, 3) for t in clip.score.tempos] == [150.0]
        end = clip.bars * 3 * 480
        assert max(n.time + n.duration for t in clip.score.tracks for n in t.notes) <= end
        last = max(n.time for n in pitched)
        assert all(n.time + n.duration == end for n in pitched if n.time == last)  # the final chord is held


def test_the_tonic_of_keys():
    assert [tonic_of(k) for k in ("C major", "D minor", "F# dorian", "Bb", "eb minor")] == [0, 2, 6, 10, 3]


def test_the_same_seed_gives_the_same_stingers_and_a_piece_lends_its_settings(bar_model):
    piece = compose(bar_model, ComposeConfig(bars=4, bpm=96, key="E minor", intensity=(0.7,)), seed=4)[0]
    a, b = (stingers(bar_model, piece, 2, seed=9) for _ in range(2))
    assert [c.score.dumps_midi() for c in a] == [c.score.dumps_midi() for c in b]
    for clip in a:
        assert clip.key == "E minor" and clip.bpm == 96 and ends_on_tonic(clip.score, 4)
        instruments = {DRUMS if t.is_drum else t.program for t in clip.score.tracks}
        assert instruments <= set(piece.sampling.instruments or range(129))


@pytest.mark.parametrize("n", [0, 65, 1000])
def test_a_count_outside_1_to_64_is_one_line(bar_model, n):
    with pytest.raises(ConfigError, match=f"between 1 and 64, not {n}"):
        stingers(bar_model, ComposeConfig(key="C major"), n)


def test_write_stingers_writes_midi_and_audio(bar_model, tmp_path):
    clips = stingers(bar_model, ComposeConfig(key="A minor", bpm=120), 2, seed=1)
    folder = write_stingers(clips, tmp_path / "stingers", sample_rate=8000, formats=("wav",))
    assert sorted(p.name for p in folder.iterdir()) == [
        "stinger-01.mid",
        "stinger-01.wav",
        "stinger-02.mid",
        "stinger-02.wav",
    ]
    midi = mido.MidiFile(folder / "stinger-01.mid")
    assert [m.tempo for t in midi.tracks for m in t if m.type == "set_tempo"] == [500_000]
    audio, rate = soundfile.read(folder / "stinger-02.wav")
    assert rate == 8000 and np.abs(audio).max() > 0.01
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # nothing left beside it


@pytest.mark.parametrize("n", ["0", "1000"])
def test_compose_refuses_a_stinger_count_outside_1_to_64_before_the_model_loads(n, tmp_path, capsys):
    from overworld.cli import main

    assert (
        main(["compose", "--model", str(tmp_path / "no-model"), "--out", str(tmp_path), "--stingers", n]) == 2
    )
    err = capsys.readouterr().err.strip()
    assert err == f"overworld compose: error: stingers must be between 1 and 64, not {n}"


def test_compose_writes_stingers_beside_the_piece(bar_model, tmp_path):
    from overworld.cli import main
    from overworld.models.storage import save_model

    model = save_model(tmp_path / "model", bar_model.model, bar_model.tokenizer, sampling=bar_model.sampling)
    flags = [
        "--model",
        str(model),
        "--out",
        str(tmp_path / "out"),
        "--seed",
        "3",
        "--bars",
        "2",
        "--key",
        "D dorian",
    ]
    assert main(["compose", *flags, "--format", "wav", "--sample-rate", "8000", "--stingers", "3"]) == 0
    folder = tmp_path / "out" / "3" / "stingers"
    assert sorted(p.name for p in folder.glob("*.mid")) == [f"stinger-0{i}.mid" for i in (1, 2, 3)]
    for path in folder.glob("*.mid"):
        assert ends_on_tonic(symusic.Score(str(path)), 2)
