"""MidiTok vocabularies sample under their own token-type graph and the same controls as performance
tokens: MidiTok's own checker finds no error, and the decoded music keeps every limit."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from overworld.config import ModelConfig, SampleConfig
from overworld.errors import ConfigError
from overworld.generation.sampler import generate
from overworld.tokenizers import make_tokenizer
from overworld.tokenizers import vocab as V


@pytest.fixture(scope="module", params=["remi", "tsd"])
def remi_and_model(request):
    from overworld.models import build_model

    tok = make_tokenizer(request.param)
    torch.manual_seed(0)
    model = build_model(
        ModelConfig(
            vocab_size=tok.vocab_size,
            embedding_size=32,
            sequence_length=64,
            num_blocks=1,
            num_heads=2,
            feed_forward_dim=64,
            dropout=0.0,
        )
    ).eval()
    return tok, model


def _max_sounding(starts: np.ndarray, ends: np.ndarray) -> int:
    times = np.concatenate([starts, ends])
    delta = np.concatenate([np.ones(len(starts)), -np.ones(len(ends))])
    order = np.lexsort((delta, times))  # at equal times, ends first
    return int(np.cumsum(delta[order]).max(initial=0))


def test_an_untrained_model_keeps_midiToks_grammar_and_every_limit(remi_and_model):
    from miditok import TokSequence

    tok, model = remi_and_model
    config = SampleConfig(
        instruments=(80, 81, 38, V.DRUMS), max_instruments=2, max_polyphony=3, max_note_seconds=1.0
    )
    pieces = generate(model, tok, config, num=4, length=300, seed=3)
    for ids in pieces:
        seq = TokSequence(ids=[int(i) for i in ids])
        tok.inner.complete_sequence(seq)
        assert tok.inner.tokens_errors(seq) == 0  # MidiTok's own check: types in order, positions forward
        score = tok.decode(ids)
        instruments = {V.DRUMS if t.is_drum else t.program for t in score.tracks if len(t.notes)}
        assert instruments <= {80, 81, 38, V.DRUMS} and 1 <= len(instruments) <= 2
        notes = [t.notes.numpy() for t in score.tracks if len(t.notes)]
        starts = np.concatenate([n["time"] for n in notes])
        durations = np.concatenate([n["duration"] for n in notes])
        assert durations.max() <= 1.0 + 1e-6
        assert _max_sounding(starts, starts + durations) <= 3
        names = [tok.inner[int(i)] for i in ids]
        for kind in ("Tempo_", "TimeSig_"):  # one metre and one tempo a piece
            assert len({n for n in names if n.startswith(kind)}) <= 1


def test_a_bpe_vocabulary_has_no_grammar_so_instruments_cannot_be_restricted(remi_and_model, tmp_path):
    from overworld.midi import write_score

    tok, model = remi_and_model
    import symusic

    score = symusic.Score(480, ttype="second")
    track = symusic.Track(program=0, ttype="second")
    for i in range(64):
        track.notes.append(symusic.Note(i * 0.25, 0.25, 60 + i % 7, 90, "second"))
    score.tracks.append(track)
    files = [write_score(score, tmp_path / f"{i}.mid") for i in range(3)]
    bpe = make_tokenizer(tok.name)
    bpe.train(bpe.vocab_size + 8, files)
    with pytest.raises(ConfigError):
        generate(model, bpe, SampleConfig(instruments=(80,)), length=5)
