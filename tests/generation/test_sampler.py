"""Sampling: reproducible with a seed, one batch, past the model's window, valid MIDI everywhere."""

from __future__ import annotations

import warnings
from collections import defaultdict

import numpy as np
import pytest

from overworld.config import SampleConfig
from overworld.errors import ConfigError
from overworld.generation.sampler import generate, write_midi
from overworld.tokenizers import vocab as V


def check_midi(path) -> None:
    """The file loads in mido, pretty_midi and music21, and every note-on is closed on its channel."""
    import mido
    import music21
    import pretty_midi

    sounding: dict[tuple[int, int], int] = defaultdict(int)
    for msg in mido.MidiFile(path):
        if msg.type == "note_on" and msg.velocity > 0:
            sounding[msg.channel, msg.note] += 1
        elif msg.type == "note_off" or (msg.type == "note_on" and msg.velocity == 0):
            assert sounding[msg.channel, msg.note] > 0, f"note-off without note-on: {msg}"
            sounding[msg.channel, msg.note] -= 1
    assert not any(sounding.values()), "unterminated notes"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pretty_midi.PrettyMIDI(str(path))
        music21.converter.parse(str(path))


def test_same_seed_same_midi_other_seed_other_music(tiny_model, tokenizer, tmp_path):
    config = SampleConfig(top_k=50, top_p=0.95, temperature=1.2)
    first = generate(tiny_model, tokenizer, config, num=2, length=120, seed=7)
    again = generate(tiny_model, tokenizer, config, num=2, length=120, seed=7)
    other = generate(tiny_model, tokenizer, config, num=2, length=120, seed=8)
    a = write_midi(first, tokenizer, tmp_path / "a", 7)
    b = write_midi(again, tokenizer, tmp_path / "b", 7)
    assert [p.name for p in a] == ["overworld-7-0.mid", "overworld-7-1.mid"]
    assert [p.read_bytes() for p in a] == [p.read_bytes() for p in b]
    assert any(not np.array_equal(x, y) for x, y in zip(first, other))
    assert not np.array_equal(first[0], first[1])  # rows of one batch differ


def test_every_file_is_valid_midi_past_the_window(tiny_model, tokenizer, tmp_path):
    assert tiny_model.config.sequence_length == 32
    pieces = generate(tiny_model, tokenizer, SampleConfig(max_polyphony=6), num=3, length=200, seed=1)
    for path in write_midi(pieces, tokenizer, tmp_path, 1):
        check_midi(path)


def test_lstm_and_pretrained_generate(tokenizer, tmp_path):
    import overworld
    from overworld.models import build_model
    from overworld.models.storage import load_model, save_model

    from .conftest import tiny_config

    lstm = build_model(tiny_config(model="lstm"))
    save_model(tmp_path / "m", lstm, tokenizer, {"data": "none"})
    pretrained = load_model(tmp_path / "m")
    ids = overworld.generate(pretrained, num=2, length=50, seed=0, top_k=20)  # a Pretrained is a model
    assert len(ids) == 2 and all(len(x) > 0 for x in ids)
    assert np.array_equal(overworld.generate(pretrained, num=2, length=50, seed=0, top_k=20)[1], ids[1])


def test_seconds_stop_each_piece_at_that_length(tiny_model, tokenizer):
    for ids in generate(tiny_model, tokenizer, SampleConfig(), num=2, seconds=1.5, seed=4, length=2000):
        assert tokenizer.seconds(ids) <= 1.5 + 1e-9


def test_bad_settings_are_one_line_errors(tiny_model, tokenizer):
    with pytest.raises(ConfigError):
        generate(tiny_model, tokenizer, num=0)
    with pytest.raises(ConfigError):
        generate(tiny_model, tokenizer, primer_ids=[V.VOCAB_SIZE + 1])
    with pytest.raises(ConfigError):
        generate(tiny_model, tokenizer, banana=3)


def test_a_batch_that_would_not_fit_in_memory_is_refused_before_allocating(
    tiny_model, tokenizer, monkeypatch
):
    from overworld.generation import sampler

    sample = sampler._sample
    monkeypatch.setattr(sampler, "free_memory", lambda device: 2**30)  # a machine with 1 GiB free
    monkeypatch.setattr(sampler, "_sample", lambda *args: pytest.fail("it went on to allocate"))
    # 4096 pieces of a million tokens: 32 GB of token ids alone, an allocation traceback before
    with pytest.raises(
        ConfigError,
        match=r"^4096 pieces of up to 1,000,000 tokens need about 3\d\.\d GiB, more "
        r"than cpu has free \(1\.0 GiB\); ask for fewer pieces or shorter ones$",
    ):
        generate(tiny_model, tokenizer, num=4096, length=1_000_000)
    monkeypatch.setattr(sampler, "_sample", sample)
    assert len(generate(tiny_model, tokenizer, num=2, length=16, seed=0)) == 2  # what fits still runs


def test_miditok_tokenizer_samples_and_decodes(tmp_path):
    import torch

    from overworld.config import ModelConfig
    from overworld.models import build_model
    from overworld.tokenizers import make_tokenizer

    remi = make_tokenizer("remi")
    torch.manual_seed(0)
    model = build_model(
        ModelConfig(
            vocab_size=remi.vocab_size,
            embedding_size=32,
            sequence_length=32,
            num_blocks=1,
            num_heads=2,
            feed_forward_dim=64,
            dropout=0.0,
        )
    )
    pieces = generate(model, remi, num=2, length=80, seed=0)
    assert all(remi.pad_id not in p.tolist() and remi.bos_id not in p.tolist() for p in pieces)
    for path in write_midi(pieces, remi, tmp_path, 0):
        check_midi(path)


@pytest.mark.parametrize("seed", [-1, 2**32, 2**63])
def test_a_seed_outside_numpys_range_is_one_line_from_the_python_api_too(seed):
    from overworld.errors import ConfigError
    from overworld.generation.sampler import generate

    with pytest.raises(ConfigError, match="seed must be a whole number from 0 to 4294967295"):
        generate(object(), seed=seed)  # refused before the model is looked at
