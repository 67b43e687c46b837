"""Configs check themselves when made: wrong types, ranges, unknown registry names and models too large
for memory are one-line ConfigErrors, from Python, a config file and the CLI alike."""

from __future__ import annotations

import dataclasses
import json
import math
import re

import pytest

from overworld.cli import main
from overworld.config import (
    MAX_PARAMETERS,
    DataConfig,
    ModelConfig,
    SampleConfig,
    TrainConfig,
    configs_from_file,
)
from overworld.devices import free_memory, pick_device
from overworld.errors import ConfigError
from overworld.models.build import ATTENTION, MODELS


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"embedding_size": "192"}, "embedding_size must be int"),
        ({"num_blocks": 4.5}, "num_blocks must be int"),
        ({"num_heads": True}, "num_heads must be int"),
        ({"dropout": "0.1"}, "dropout must be float"),
        ({"sequence_length": 0}, "sequence_length must be at least 1"),
        ({"sequence_length": 70_000}, "over the 65536 limit"),
        ({"embedding_size": 100, "num_heads": 3}, "divisible"),
        ({"model": "gru"}, "choose one of music-transformer, lstm"),
        ({"attention": "sparse"}, "choose one of relative, rope, alibi"),
        ({"embedding_size": 16384, "num_blocks": 64, "feed_forward_dim": 65536}, "parameters, over the"),
    ],
)
def test_a_bad_model_config_is_a_one_line_error(change, words):
    with pytest.raises(ConfigError, match=words) as info:
        ModelConfig(**change)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"steps": 0}, "steps must be at least 1"),
        ({"batch_size": 0}, "batch_size must be at least 1"),
        ({"steps": "100"}, "steps must be int"),
        ({"learning_rate": 0.0}, "learning_rate must be positive"),
        ({"betas": (0.9, 1.5)}, "betas"),
        ({"seed": -1}, "seed must be a whole number from 0 to 4294967295"),
    ],
)
def test_a_bad_train_config_is_a_one_line_error(change, words):
    with pytest.raises(ConfigError, match=words):
        TrainConfig(**change)


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"top_p": 7.0}, "top_p must be above 0 and at most 1"),
        ({"top_p": 0.0}, "top_p must be above 0"),
        ({"top_p": -1.0}, "top_p must be above 0"),
        ({"top_k": -5}, "top_k must be between 0 (off) and 1,000,000, not -5"),
        ({"top_k": 10**9}, "top_k must be between 0 (off) and 1,000,000"),
        ({"top_k": 1e9}, "top_k must be int"),
        ({"temperature": -1.0}, "temperature must be between 0 (greedy) and 100"),
        ({"temperature": math.inf}, "temperature must be float, not inf"),
        ({"temperature": math.nan}, "temperature must be float, not nan"),
        ({"bpm": -3.0}, "bpm must be 0 (not set) or between 10 and 1000"),
        ({"bpm": 1e9}, "bpm must be 0 (not set) or between 10 and 1000"),
        ({"max_note_seconds": 1e9}, "max_note_seconds must be between 0.01 and 600 seconds"),
        ({"max_polyphony": 0}, "max_polyphony must be between 1 and 256"),
        ({"grid": 10**6}, "grid must be between 0 (free timing) and 96"),
        ({"max_instruments": (9, 4)}, "max_instruments range must be"),
        ({"instruments": (300,)}, "instruments must be GM programs"),
    ],
)
def test_a_bad_sample_config_is_a_one_line_error(change, words):
    with pytest.raises(ConfigError, match=re.escape(words)) as info:
        SampleConfig(**change)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("instruments", [(300,), (-1,), (80, "drums"), [80]])
def test_a_line_up_outside_the_gm_programs_is_refused_alike_by_sampling_and_live_play(instruments):
    from overworld.live import LiveConfig

    for config, name in ((SampleConfig, "SampleConfig.instruments"), (LiveConfig, "instruments")):
        with pytest.raises(ConfigError) as info:
            config(instruments=instruments)
        assert str(info.value).startswith(name) and "\n" not in str(info.value)


def test_free_memory_is_known_on_the_cpu():
    assert free_memory("cpu") > 2**20


def test_sampling_memory_grows_with_the_batch_and_length():
    config = ModelConfig(vocab_size=520)
    assert config.sampling_bytes(4096, 1_000_000) > 4096 * 1_000_000 * 8  # the token buffer alone
    assert config.sampling_bytes(1, 1024) < 64 * 2**20
    assert config.sampling_bytes(8, 1024, prefill=2000) > config.sampling_bytes(8, 1024)


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"workers": -2}, "workers must be between 0 (one per core) and 256, not -2"),  # was accepted
        ({"workers": 100_000}, "workers must be between 0 (one per core) and 256"),
        ({"workers": 2.5}, "workers must be int"),
        ({"file_timeout_s": math.nan}, "file_timeout_s must be float, not nan"),
        ({"file_timeout_s": 0.0}, "file_timeout_s must be above 0 seconds"),
        ({"file_memory_mb": -1}, "file_memory_mb must be at least 1"),
        ({"max_seconds": -60.0}, "max_seconds must be above 0 seconds"),
        ({"splits": (90.0, 5.0, math.nan)}, "splits must be three shares"),
        ({"splits": (0.0, 0.0, 0.0)}, "splits must be three shares"),
        ({"splits": (0.9, 0.1)}, "splits must be three shares"),
    ],
)
def test_a_bad_data_config_is_a_one_line_error(change, words):
    with pytest.raises(ConfigError, match=re.escape(words)) as info:
        DataConfig(**change)
    assert "\n" not in str(info.value)


def test_prepare_with_negative_workers_is_one_line_from_the_cli(tmp_path, capsys):
    assert main(["prepare", str(tmp_path), "--out", str(tmp_path / "out"), "--workers", "-2"]) == 2
    err = capsys.readouterr().err
    assert (
        err
        == "overworld prepare: error: DataConfig.workers must be between 0 (one per core) and 256, not -2\n"
    )


def test_the_parameter_count_is_known_before_building():
    assert ModelConfig(vocab_size=520).num_parameters() < MAX_PARAMETERS  # the default architecture
    lstm = ModelConfig(model="lstm", embedding_size=30, num_heads=4)  # heads do not concern an LSTM
    assert lstm.num_parameters() > 0


def test_a_config_file_gets_the_same_errors(tmp_path):
    (tmp_path / "c.json").write_text(json.dumps({"model": {"embedding_size": "192"}}))
    with pytest.raises(ConfigError, match="embedding_size must be int"):
        configs_from_file(tmp_path / "c.json")
    (tmp_path / "d.json").write_text(json.dumps({"model": {"attention": "linear"}, "train": {}}))
    with pytest.raises(ConfigError, match="unknown attention 'linear'; choose one of relative"):
        configs_from_file(tmp_path / "d.json")


def test_the_cli_offers_the_registries(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = capsys.readouterr().out
    assert all(name in text for name in (*MODELS, *ATTENTION))
    with pytest.raises(SystemExit):
        main(["train", "--data", "d", "--out", "o", "--model", "gru"])
    assert "invalid choice: 'gru'" in capsys.readouterr().err


def test_pick_device_resolves_auto_and_refuses_what_is_not_there(monkeypatch):
    import torch

    assert pick_device("cpu") == torch.device("cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert pick_device("auto").type in ("mps", "cpu")
    with pytest.raises(ConfigError, match="no CUDA GPU"):
        pick_device("cuda:0")
    with pytest.raises(ConfigError, match="unknown device 'tpu'"):
        pick_device("tpu")
    assert dataclasses.replace(TrainConfig(), device="tpu").device == "tpu"  # checked when training starts
