"""The live tests' tiny random bar-token model, bare and saved."""

from __future__ import annotations

import types

import pytest

from live.tiny import SAMPLING, saved_model, tiny_lm
from overworld.tokenizers.bars import BarTokenizer


@pytest.fixture(scope="module")
def bar_model():
    return types.SimpleNamespace(model=tiny_lm(), tokenizer=BarTokenizer(), sampling=SAMPLING)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return saved_model(tmp_path_factory.mktemp("bars"))


@pytest.fixture(autouse=True)
def one_thread(monkeypatch):
    """The composer's torch threads: one, as for a user (tests/conftest.py sets OMP_NUM_THREADS=2, which
    a second spinning thread makes several times slower on a busy 2-core machine)."""
    monkeypatch.setenv("OVERWORLD_THREADS", "1")
