"""evaluate --infill: both scorings see the same gap tokens, a model that reads the future gains from it,
and a model without bar tokens is refused in one line."""

from __future__ import annotations

import types

import numpy as np
import pytest
import symusic
import torch
from torch import nn

from overworld.config import ModelConfig
from overworld.errors import ConfigError
from overworld.evaluation.infill import infill_likelihood
from overworld.tokenizers import make_tokenizer
from overworld.tokenizers.bars import BarTokenizer
from overworld.tokenizers.bars import Layout as L


def _piece(bars: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    score = symusic.Score(480)
    track = symusic.Track(program=0)
    for b in range(bars):
        for beat in range(4):
            track.notes.append(symusic.Note(b * 1920 + beat * 480, 240, int(rng.integers(48, 72)), 90))
    score.tracks.append(track)
    return np.concatenate([[L.BOS], BarTokenizer().encode(score), [L.EOS]])


class _Fixed(nn.Module):
    """Logits that ignore the context (a bias), or that look at the tokens after FILL when ``peek``:
    those get a bonus wherever they come again."""

    def __init__(self, peek: bool = False) -> None:
        super().__init__()
        self.bias = nn.Parameter(torch.linspace(0, 1, L.SIZE), requires_grad=False)
        self.config = ModelConfig(vocab_size=L.SIZE, sequence_length=512)
        self.peek = peek

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        logits = self.bias.expand(ids.shape[0], ids.shape[1], -1).clone()  # (B, T, V)
        if self.peek:
            for row in range(ids.shape[0]):
                seq = ids[row].tolist()
                if L.FILL in seq:
                    after = seq[seq.index(L.FILL) :]
                    logits[row, :, torch.tensor(sorted(set(after)))] += 3.0
        return logits


def _model(peek: bool = False):
    return types.SimpleNamespace(model=_Fixed(peek), tokenizer=BarTokenizer())


def test_both_scorings_see_the_same_gap_tokens():
    report = infill_likelihood(_model(), [_piece(16, s) for s in range(3)], bars=4)
    assert report.gaps == 9 and report.pieces == 3 and report.notes == 9 * 16
    assert report.bits_past == pytest.approx(report.bits_both, rel=1e-6)  # the same tokens, context ignored


def test_a_model_that_reads_the_future_scores_lower_with_it():
    report = infill_likelihood(_model(peek=True), [_piece(16, s) for s in range(3)], bars=4)
    assert report.bits_per_note_both < report.bits_per_note_past and report.reduction > 0.05


def test_short_pieces_are_counted_and_skipped():
    report = infill_likelihood(_model(), [_piece(8, 0), _piece(16, 1)], bars=4)
    assert (report.pieces, report.skipped, report.gaps) == (1, 1, 3)


def test_a_model_without_bar_tokens_is_refused():
    model = types.SimpleNamespace(model=_Fixed(), tokenizer=make_tokenizer("performance"))
    with pytest.raises(ConfigError, match="bar-token model"):
        infill_likelihood(model, [_piece(16, 0)])
