"""Filters are pure and exact: top-k keeps k, top-p keeps the smallest nucleus, temperature scales."""

from __future__ import annotations

import dataclasses
import math

import torch

from overworld.config import SampleConfig
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
