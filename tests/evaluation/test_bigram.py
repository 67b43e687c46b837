"""The bigram baseline: counts, add-k probabilities, k chosen on validation, scored like the model."""

from __future__ import annotations

import math

import numpy as np
import pytest

from overworld.data.shards import read_split
from overworld.evaluation.bigram import K_GRID, evaluate_bigram, fit_bigram, score_bigram


def test_add_k_probabilities_on_a_toy_sequence():
    # vocabulary of 4; pairs: 1->2, 2->3, 3->2, 2->3, 3->0  =>  c(2,3) = 2, c(2) = 2, c(3,2) = 1, c(3) = 2
    model = fit_bigram([np.array([1, 2, 3, 2, 3, 0])], vocab_size=4, k=0.5)
    assert model.log_prob(2, 3) == pytest.approx(math.log((2 + 0.5) / (2 + 0.5 * 4)))
    assert model.log_prob(3, 2) == pytest.approx(math.log((1 + 0.5) / (2 + 0.5 * 4)))
    assert model.log_prob(0, 1) == pytest.approx(math.log(0.25))  # unseen context: uniform
    probs = [math.exp(model.log_prob(3, b)) for b in range(4)]
    assert sum(probs) == pytest.approx(1.0)
    assert model.best_next[2] == 3 and model.best_next[3] == 0  # tie 3->2 / 3->0: lowest id


def test_score_sums_every_pair_and_counts_accuracy():
    train = [np.array([1, 2, 3, 2, 3, 0])]
    model = fit_bigram(train, vocab_size=4, k=1.0)
    test = [np.array([1, 2, 3, 0])]
    result = score_bigram(model, test, notes=2, seconds=1.0)
    nats = -(model.log_prob(1, 2) + model.log_prob(2, 3) + model.log_prob(3, 0))
    assert result.tokens == 3
    assert result.bits_per_token == pytest.approx(nats / 3 / math.log(2))
    assert result.bits_per_note == pytest.approx(nats / 2 / math.log(2))
    assert result.accuracy == pytest.approx(1.0)  # 1->2, 2->3, 3->0 are all the argmax successors


def test_k_is_chosen_on_validation():
    rng = np.random.default_rng(0)
    train = [rng.integers(0, 50, size=200)]
    validation = [rng.integers(0, 50, size=200)]
    model = fit_bigram(train, vocab_size=50, validation=validation)
    assert model.k in K_GRID
    best = min(K_GRID, key=lambda k: fit_bigram(train, 50, k=k).nats(validation[0][:-1], validation[0][1:]))
    assert model.k == best
    # random tokens: heavy smoothing wins
    assert model.k >= 1.0


def test_evaluate_bigram_on_a_prepared_folder(prepared):
    result = evaluate_bigram(prepared, "test")
    files = read_split(prepared, "test")
    assert result.tokens == sum(len(f) - 1 for f in files)
    assert 0 < result.bits_per_token < math.log2(520)
    assert result.notes > 0 and result.seconds > 0
