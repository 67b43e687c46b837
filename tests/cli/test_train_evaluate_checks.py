"""train and evaluate check config files, seeds and paths before any training or model load."""

from __future__ import annotations

import json

import pytest

from overworld.config import MAX_SEED, TrainConfig, check_seed, configs_from_file
from overworld.errors import ConfigError


@pytest.fixture
def data(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    return folder


@pytest.mark.parametrize(
    ("config", "says"),
    [
        (
            {"model": {"num_blocks": 1}, "trian": {"steps": 3}},
            "unknown section 'trian'; a config file has model and train",
        ),
        ({"modle": {"num_blocks": 1}}, "unknown section 'modle'"),
        ({"train": {"stpes": 3}}, "unknown key 'stpes' for TrainConfig"),
        ({"num_blocks": 1, "learnig_rate": 0.1}, "unknown key 'learnig_rate'"),
        ({"model": [1, 2]}, "section 'model' must hold an object"),
    ],
)
def test_a_misspelled_config_section_or_key_is_an_error_naming_it(
    no_work, error_of, data, tmp_path, config, says
):
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    line = error_of(["train", "--data", data, "--out", tmp_path / "run", "--config", path])
    assert f"{path}: " in line and says in line


def test_the_midinet_dataset_key_is_still_only_ignored(tmp_path):
    path = tmp_path / "parameters.json"
    path.write_text(json.dumps({"num_blocks": 1, "batch_size": 2, "dataset": "runescape"}))
    model, train, ignored = configs_from_file(path)
    assert model.num_blocks == 1 and train.batch_size == 2 and ignored == ("dataset",)


def test_train_paths_are_checked_before_training(no_work, error_of, data, tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("a file")
    assert f"--out {readme} is a file; a folder is needed here" in error_of(
        ["train", "--data", data, "--out", readme]
    )
    assert "--out /proc/nope: cannot make /proc/nope" in error_of(
        ["train", "--data", data, "--out", "/proc/nope"]
    )
    assert f"--config {tmp_path} is a folder" in error_of(
        ["train", "--data", data, "--out", tmp_path / "r", "--config", tmp_path]
    )


@pytest.mark.parametrize("seed", ["-1", str(2**63)])
def test_train_and_copy_test_refuse_seeds_outside_the_range(no_work, error_of, data, tmp_path, seed):
    line = error_of(["train", "--data", data, "--out", tmp_path / "r", "--seed", seed])
    assert f"seed must be a whole number from 0 to 4294967295 (2**32 - 1), not {seed}" in line
    line = error_of(["evaluate", "--model", "m", "--copy-test", "--data", data, "--seed", seed])
    assert (
        line
        == f"overworld evaluate: error: --seed must be a whole number from 0 to 4294967295 (2**32 - 1), not {seed}"
    )


def test_evaluate_checks_where_json_goes_before_the_model_loads(no_work, error_of, tmp_path):
    from .prepared import prepared_folder

    folder = prepared_folder(tmp_path / "p")
    line = error_of(["evaluate", "--model", "m", "--data", folder, "--json", "/proc/nope/r.json"])
    assert "--json /proc/nope/r.json: cannot make /proc/nope" in line
    assert "is a file; a prepared folder" in error_of(
        ["evaluate", "--model", "m", "--data", folder / "manifest.json"]
    )


def test_the_seed_range_is_one_place():
    assert check_seed(0) == 0 and check_seed(MAX_SEED) == MAX_SEED == 2**32 - 1
    for bad in (-1, 2**32, 2**63, 1.5, True, "3"):
        with pytest.raises(ConfigError, match="seed must be a whole number from 0 to 4294967295"):
            check_seed(bad)
    assert TrainConfig(seed=MAX_SEED).seed == MAX_SEED
    with pytest.raises(ConfigError, match=r"TrainConfig\.seed must be"):
        TrainConfig(seed=2**32)
