"""Filters are pure and exact: top-k keeps k, top-p keeps the smallest nucleus, temperature scales, the
repetition penalty lowers the notes just played; each filter's flags reach the sampler."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch

from overworld.config import SampleConfig
from overworld.config.filters import min_p, repetition_penalty
from overworld.generation.filters import FILTERS, apply_filters, temperature, top_k, top_p


def test_sample_config_begins_with_every_filter_setting_in_registry_order():
    settings = [name for entry in FILTERS.values() for name in entry.fields]
    assert {"temperature", "top_k", "top_p"} <= set(FILTERS) and len(settings) >= len(FILTERS)
    assert [f.name for f in dataclasses.fields(SampleConfig)][: len(settings)] == settings


def test_top_k_keeps_exactly_k_best_even_with_ties():
    logits = torch.tensor([[1.0, 5.0, 3.0, 5.0, 2.0], [0.0, 0.0, 0.0, 0.0, 0.0]])
    out = top_k(logits, 2)
    assert (torch.isfinite(out).sum(dim=1) == 2).all()
    assert set(torch.nonzero(torch.isfinite(out[0])).flatten().tolist()) == {1, 3}
    assert torch.equal(top_k(logits, 0), logits) and torch.equal(top_k(logits, 99), logits)


def test_top_p_keeps_smallest_nucleus():
    probs = torch.tensor([[0.5, 0.3, 0.15, 0.05]])
    logits = probs.log()
    kept = lambda p: torch.isfinite(top_p(logits, p)).flatten().tolist()  # noqa: E731
    assert kept(0.5) == [True, False, False, False]  # 0.5 alone reaches 0.5
    assert kept(0.6) == [True, True, False, False]  # 0.5 + 0.3 = 0.8 >= 0.6
    assert kept(0.81) == [True, True, True, False]
    assert kept(0.01) == [True, False, False, False]  # the best token always stays
    assert kept(1.0) == [True] * 4
    shuffled = logits[:, [2, 0, 3, 1]]  # order in the vocabulary does not matter
    assert torch.isfinite(top_p(shuffled, 0.6)).flatten().tolist() == [False, True, False, True]


def test_min_p_drops_the_tail_relative_to_the_best_and_keeps_the_odds():
    probs = torch.tensor([[0.5, 0.3, 0.15, 0.05], [0.9, 0.04, 0.03, 0.03]])
    logits = probs.log()
    kept = lambda p: torch.isfinite(min_p(logits, p)).tolist()  # noqa: E731
    assert kept(0.2) == [[True, True, True, False], [True, False, False, False]]  # 0.2 x 0.5 = 0.1; 0.18
    assert kept(1.0) == [[True, False, False, False], [True, False, False, False]]  # the best always stays
    assert torch.equal(min_p(logits, 0.0), logits)
    out = min_p(logits, 0.2)
    survivors = torch.softmax(out[0], -1)[:3]
    assert torch.allclose(survivors / survivors.sum(), probs[0, :3] / probs[0, :3].sum())  # odds unchanged


def test_temperature_scales_and_zero_is_greedy():
    logits = torch.tensor([[1.0, 2.0, 4.0]])
    assert torch.allclose(temperature(logits, 2.0), logits / 2)
    greedy = temperature(logits, 0.0)
    assert torch.isfinite(greedy).flatten().tolist() == [False, False, True]
    hot = torch.softmax(temperature(logits, 10.0), -1)
    cold = torch.softmax(temperature(logits, 0.1), -1)
    assert hot.max() < torch.softmax(logits, -1).max() < cold.max()


def test_apply_filters_composes_and_is_pure():
    logits = torch.randn(3, 50, generator=torch.Generator().manual_seed(0))
    before = logits.clone()
    out = apply_filters(logits, SampleConfig(temperature=0.5, top_k=10, top_p=0.9))
    assert torch.equal(logits, before)
    finite = torch.isfinite(out).sum(dim=1)
    assert (finite >= 1).all() and (finite <= 10).all()
    assert math.isclose(float(out[torch.isfinite(out)].max()), float((before / 0.5).max()), rel_tol=1e-6)


def test_repetition_penalty_lowers_the_notes_just_played_and_only_those():
    logits = torch.tensor([[2.0, -1.0, 3.0, 0.5], [2.0, -1.0, 3.0, 0.5]])
    history = torch.tensor([[0, -1, 1, -1], [-1, -1, -1, -1]])  # row 1: nothing but structure yet
    out = repetition_penalty(logits, 2.0, 64, history)
    assert out[0].tolist() == [1.0, -2.0, 3.0, 0.5]  # 2 / 2 and -1 * 2; tokens 2 and 3 untouched
    assert torch.equal(out[1], logits[1])
    assert repetition_penalty(logits, 1.0, 64, history) is logits  # 1: off
    assert torch.equal(repetition_penalty(logits, 2.0, 1, history), logits)  # the last token only: -1
    assert torch.equal(repetition_penalty(logits, 2.0, 2, history)[0], torch.tensor([2.0, -2.0, 3.0, 0.5]))
    masked = torch.tensor([[float("-inf"), 1.0, 0.0, 4.0]])
    out = repetition_penalty(masked, 3.0, 64, torch.tensor([[0, 2, 3]]))
    assert torch.equal(out, torch.tensor([[float("-inf"), 1.0, 0.0, 4.0 / 3.0]]))  # -inf stays, 0 stays 0


def test_apply_filters_hands_history_to_the_filters_that_ask(monkeypatch):
    from overworld.config import filters as declared

    logits = torch.zeros(1, 6)
    history = torch.tensor([[4, -1, 5]])
    out = apply_filters(logits + 1.0, SampleConfig(repetition_penalty=2.0), history)
    assert out.tolist() == [[1.0, 1.0, 1.0, 1.0, 0.5, 0.5]]
    assert torch.equal(apply_filters(logits, SampleConfig(repetition_penalty=2.0)), logits)  # no history yet
    assert declared.FILTERS["repetition_penalty"].history and not declared.FILTERS["top_k"].history


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory, tokenizer):
    from overworld.models import build_model
    from overworld.models.storage import save_model

    from .conftest import tiny_config

    return save_model(
        tmp_path_factory.mktemp("model"), build_model(tiny_config()), tokenizer, {"data": "none"}
    )


def test_the_repetition_flags_reach_the_sampler(model_dir, tmp_path, monkeypatch):
    from overworld.cli import main
    from overworld.config import filters as declared
    from overworld.tokenizers import vocab as V

    calls = []

    def recording(logits, value, window, history):
        calls.append((value, window, history.shape[1], history[history >= 0].tolist()))
        return repetition_penalty(logits, value, window, history)

    entry = declared.FILTERS["repetition_penalty"]
    monkeypatch.setitem(declared.FILTERS, "repetition_penalty", dataclasses.replace(entry, fn=recording))
    argv = [
        "generate",
        "--model",
        str(model_dir),
        "--out",
        str(tmp_path / "o"),
        "--length",
        "40",
        "--seed",
        "2",
    ]
    assert main([*argv, "--repetition-penalty", "1.5", "--repetition-window", "8"]) == 0
    assert [c[:2] for c in calls] == [(1.5, 8)] * len(calls) and len(calls) == 40
    assert [c[2] for c in calls] == list(range(40))  # the tokens generated before each step
    seen = [t for c in calls for t in c[3]]
    assert seen and all(V.NOTE_ON_OFFSET <= t < V.NOTE_OFF_OFFSET for t in seen)  # notes only
