"""The model's steps on a worker thread, beside the grammar: the same pieces, errors still raised."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch

from overworld.config import SampleConfig
from overworld.generation import sampler, stepper
from overworld.generation.sampler import generate
from overworld.generation.stepper import Stepper


@pytest.mark.parametrize("background", [True, False])
def test_overlapped_steps_give_the_pieces_of_steps_one_after_the_other(
    tiny_model, tokenizer, monkeypatch, background
):
    config = SampleConfig(top_k=40, temperature=1.1, repetition_penalty=1.2)
    monkeypatch.setattr(sampler, "overlaps", lambda device: False)
    serial = generate(tiny_model, tokenizer, config, num=2, length=90, seed=3)  # past the window of 32
    monkeypatch.setattr(sampler, "overlaps", lambda device: background)
    again = generate(tiny_model, tokenizer, config, num=2, length=90, seed=3)
    assert all(np.array_equal(a, b) for a, b in zip(serial, again))


def test_the_steps_run_on_a_worker_thread_in_inference_mode(tiny_model):
    seen = []
    step = tiny_model.step

    def spy(ids, cache):
        seen.append(
            (threading.current_thread() is threading.main_thread(), torch.is_inference_mode_enabled())
        )
        return step(ids, cache)

    tiny_model.step = spy
    try:
        with Stepper(tiny_model, tiny_model.new_cache(1), background=True) as model:
            model.start(torch.tensor([[3, 4]]))
            first = model.result()
            model.start(torch.tensor([[5]]))  # left running: leaving the block waits for it
    finally:
        del tiny_model.step
    assert first.shape == (1, tiny_model.config.vocab_size)
    assert seen == [(False, True), (False, True)]


def test_an_error_in_a_background_step_reaches_the_caller(tiny_model):
    with Stepper(tiny_model, tiny_model.new_cache(1), background=True) as model:
        model.start(torch.tensor([[tiny_model.config.vocab_size + 5]]))  # past the embedding
        with pytest.raises(IndexError):
            model.result()


def test_a_worker_thread_only_where_a_core_is_left_over(monkeypatch):
    monkeypatch.setattr(stepper, "available_cores", lambda: 2)
    monkeypatch.setattr(torch, "get_num_threads", lambda: 1)
    assert stepper.overlaps(torch.device("cpu"))
    monkeypatch.setattr(torch, "get_num_threads", lambda: 2)
    assert not stepper.overlaps(torch.device("cpu"))
    monkeypatch.setattr(stepper, "available_cores", lambda: 1)
    assert not stepper.overlaps(torch.device("cuda"))
