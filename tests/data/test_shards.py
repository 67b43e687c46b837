"""One reader of prepared folders: a missing or damaged manifest or shard is a one-line DataError."""

from __future__ import annotations

import json

import numpy as np
import pytest

from overworld.data.shards import read_manifest, read_shard, read_split, write_shard
from overworld.errors import DataError


@pytest.fixture
def folder(tmp_path):
    files = [np.array([1, 5, 6, 2]), np.array([1, 7, 2])]  # BOS .. EOS, twice
    write_shard(tmp_path, "train", files)
    manifest = {"tokenizer": "performance", "vocab_size": 520, "splits": {}, "files": []}
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    return tmp_path


def test_read_split_gives_each_file_and_all_gives_every_split(folder):
    assert [f.tolist() for f in read_split(folder, "train")] == [[1, 5, 6, 2], [1, 7, 2]]
    assert len(read_split(folder, "all")) == 2
    assert read_manifest(folder)["vocab_size"] == 520


@pytest.mark.parametrize(
    ("damage", "words"),
    [
        (lambda f: (f / "manifest.json").unlink(), "no manifest.json"),
        (lambda f: (f / "manifest.json").write_text("{not json"), "cannot read"),
        (lambda f: (f / "manifest.json").write_text("[1, 2]"), "must hold an object"),
        (lambda f: (f / "manifest.json").write_text('{"tokenizer": "x"}'), "no vocab_size, splits, files"),
    ],
)
def test_a_damaged_manifest_is_a_one_line_error(folder, damage, words):
    damage(folder)
    with pytest.raises(DataError, match=words) as info:
        read_manifest(folder)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("damage", "words"),
    [
        (lambda f: (f / "train.idx.npy").write_bytes(b"garbage"), "cannot read the train split"),
        (lambda f: (f / "train.idx.npy").write_bytes(b""), "cannot read the train split"),
        (lambda f: (f / "train.bin").write_bytes(b"\x01\x00\x02"), "odd number of bytes"),
        (lambda f: np.save(f / "train.idx.npy", np.array([0, 9])), "does not index"),
        (lambda f: (f / "train.bin").unlink(), "has no train split"),
    ],
)
def test_a_damaged_shard_is_a_one_line_error(folder, damage, words):
    damage(folder)
    for read in (read_shard, read_split):
        with pytest.raises(DataError, match=words) as info:
            read(folder, "train")
        assert "\n" not in str(info.value)
