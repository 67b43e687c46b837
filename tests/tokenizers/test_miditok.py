"""MidiTok's schemes behind the same interface: multi-track, drums apart, save/load, BPE."""

from __future__ import annotations

import numpy as np
import pytest

from overworld.errors import ConfigError
from overworld.midi import write_score
from overworld.tokenizers import load_tokenizer, make_tokenizer


@pytest.mark.parametrize("name", ["remi", "tsd", "midilike", "mmm"])
def test_scheme_round_trips_and_reloads(name, c_major_score, tmp_path):
    tok = make_tokenizer(name)
    ids = tok.encode(c_major_score)
    back = tok.decode(ids)
    assert back.note_num() == c_major_score.note_num() == tok.count_notes(ids)
    assert any(t.is_drum for t in back.tracks) and any(not t.is_drum for t in back.tracks)
    again = load_tokenizer(tok.save(tmp_path))
    assert np.array_equal(again.encode(c_major_score), ids)
    assert ids.max() < tok.vocab_size and tok.bos_id != tok.eos_id != tok.pad_id


def test_bpe_training_round_trips_through_tokenizer_json(c_major_score, tmp_path):
    files = []
    for i in range(4):
        files.append(write_score(c_major_score, tmp_path / f"f{i}.mid"))
    tok = make_tokenizer("remi")
    base = len(tok.encode(c_major_score))
    tok.train(tok.vocab_size + 30, files)
    ids = tok.encode(c_major_score)
    assert len(ids) < base  # merges shorten the sequence
    again = load_tokenizer(tok.save(tmp_path / "tokenizer.json"))
    assert np.array_equal(again.encode(c_major_score), ids)
    assert again.decode(ids).note_num() == c_major_score.note_num()


def test_unknown_names_are_one_line_errors():
    with pytest.raises(ConfigError, match="unknown tokenizer"):
        make_tokenizer("abc")
    with pytest.raises(ConfigError, match="unknown tokenizer type"):
        load_tokenizer({"type": "xyz"})
