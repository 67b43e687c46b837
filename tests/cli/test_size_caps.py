"""JSON files are refused above a sane size before they are read, and tokenizer options that size an
allocation are capped before it is made (issue 26 #11)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from overworld.errors import ConfigError, DataError


@pytest.fixture
def no_reading(monkeypatch):
    """Reading a file's text fails the test: a size check must come first."""

    def refuse(self, *args, **kwargs):
        raise AssertionError(f"{self} was read")

    monkeypatch.setattr(Path, "read_text", refuse)


def _sparse(path: Path, size: int) -> Path:
    with path.open("wb") as handle:  # a big file that takes no disk
        handle.truncate(size)
    return path


def test_a_huge_config_json_is_refused_unread(tmp_path, no_reading):
    from overworld.config import read_config_file

    path = _sparse(tmp_path / "config.json", 300 << 20)
    with pytest.raises(ConfigError, match=f"config {path} is 314,572,800 bytes, over the 1,048,576"):
        read_config_file(path)


def test_a_huge_model_file_is_refused_before_the_model_loads(tmp_path, tiny_model_dir):
    import shutil

    from overworld.models.storage import load_model

    for name in ("config.json", "tokenizer.json", "generation_config.json"):
        model = shutil.copytree(tiny_model_dir, tmp_path / name.split(".")[0])
        _sparse(model / name, 300 << 20)
        with pytest.raises(ConfigError, match=f"{model / name}.* bytes, over the"):
            load_model(model)


def test_a_huge_manifest_is_refused_unread(tmp_path, no_reading):
    from overworld.data.shards import read_manifest

    _sparse(tmp_path / "manifest.json", 300 << 20)
    with pytest.raises(
        DataError, match=f"{tmp_path / 'manifest.json'} is 314,572,800 bytes, over the 268,435,456"
    ):
        read_manifest(tmp_path)


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"beat_res": {"0_20000": 8}}, "beat_res must map 'start_end' beats (end at most 256)"),
        ({"beat_res": {"0_256": 480}}, "beat_res makes 122,880 time positions, over the 4,096 cap"),
        ({"num_velocities": 100000}, "num_velocities must be a whole number from 1 to 127"),
        ({"pitch_bend_range": [-8192, 8191, 10**7]}, "pitch_bend_range's bins must be"),
        ({"some_new_size": 10**9}, "some_new_size is 1000000000, beyond any option's range"),
    ],
)
def test_tokenizer_options_are_capped_before_building(change, says, monkeypatch):
    import overworld.tokenizers as tokenizers
    from overworld.tokenizers import load_tokenizer, make_tokenizer

    data = json.loads(json.dumps(make_tokenizer("remi").to_dict()))
    data["miditok"]["config"].update(change)
    built = []
    monkeypatch.setattr(tokenizers.Entry, "build", lambda *a, **k: built.append(a))
    with pytest.raises(ConfigError) as exc:
        load_tokenizer(data)
    assert says in str(exc.value) and not built


def test_every_default_tokenizer_passes_the_caps():
    from overworld.tokenizers import TOKENIZERS, check_options, make_tokenizer

    for name in TOKENIZERS:
        check_options(make_tokenizer(name).to_dict())
