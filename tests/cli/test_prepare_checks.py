"""prepare: a prepared folder is replaced only with --overwrite, paths are checked before the workers
start, and a full disk leaves neither a half shard nor a temporary file."""

from __future__ import annotations

import errno
import json
import os

import pytest

from overworld.cli import main
from overworld.errors import PathError


@pytest.fixture
def midi_folder(tmp_path, tune):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.mid").write_bytes(tune.read_bytes())
    return folder


def _prepare(midi_folder, out, *extra):
    return main(["prepare", str(midi_folder), "--out", str(out), "--workers", "1", *map(str, extra)])


def test_a_prepared_folder_is_replaced_only_with_overwrite(midi_folder, tmp_path, error_of, capsys):
    out = tmp_path / "prepared"
    assert _prepare(midi_folder, out) == 0
    before = (out / "manifest.json").read_bytes()
    line = error_of(["prepare", midi_folder, "--out", out, "--workers", "1"])
    assert line == (
        f"overworld prepare: error: {out} already holds a prepared dataset (train.bin); pass --overwrite to "
        "replace it, or choose another --out"
    )
    assert (out / "manifest.json").read_bytes() == before
    (midi_folder / "b.mid").write_bytes((midi_folder / "a.mid").read_bytes()[:-4] + b"\x00\xff\x2f\x00")
    assert _prepare(midi_folder, out, "--overwrite") == 0
    assert (
        len(json.loads((out / "report.json").read_text())["failures"])
        + json.loads((out / "report.json").read_text())["duplicates"]
        + json.loads((out / "report.json").read_text())["files_ok"]
        == 2
    )


def test_paths_are_checked_before_the_workers_start(no_work, error_of, midi_folder, tmp_path):
    assert "--out /proc/nope: cannot make /proc/nope" in error_of(
        ["prepare", midi_folder, "--out", "/proc/nope"]
    )
    readme = tmp_path / "README.md"
    readme.write_text("a file")
    assert f"--out {readme} is a file; a folder is needed here" in error_of(
        ["prepare", midi_folder, "--out", readme]
    )
    assert f"input {tmp_path / 'nope'} does not exist" in error_of(
        ["prepare", tmp_path / "nope", "--out", tmp_path / "o"]
    )


def test_a_full_disk_while_writing_shards_leaves_the_out_folder_as_it_was(
    midi_folder, tmp_path, monkeypatch, capsys
):
    import overworld.data.prepare as prepare_module
    from overworld.data.shards import write_shard

    def full_after_train(folder, split, sequences):
        if split != "train":
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return write_shard(folder, split, sequences)

    monkeypatch.setattr(prepare_module, "write_shard", full_after_train)
    out = tmp_path / "prepared"
    assert _prepare(midi_folder, out) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == f"overworld prepare: error: cannot write {out}: No space left on device"
    assert not out.exists()  # made for this run: gone again
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in", "tune.mid"]  # no staging folder left


def test_write_shard_names_the_file_and_leaves_no_tmp(tmp_path, monkeypatch):
    import numpy as np

    from overworld.data import shards

    def full(path, write, errors=()):
        from overworld.atomic import write_atomically

        def partial(temp):
            temp.write_bytes(b"\x00" * 10)
            raise OSError(errno.ENOSPC, "No space left on device")

        return write_atomically(path, partial, errors)

    monkeypatch.setattr(shards, "write_atomically", full)
    with pytest.raises(PathError, match=f"cannot write {tmp_path / 'train.bin'}: No space left on device"):
        shards.write_shard(tmp_path, "train", [np.arange(104443) % 500])
    assert list(tmp_path.iterdir()) == []


def test_a_real_full_disk_under_prepare(full_disk, midi_folder, capsys):
    import random

    from pathological import good_midi

    rng = random.Random(0)  # random lines (bar tokens write a repeated one once): shards over 64 kB
    for i in range(12):
        (midi_folder / f"c{i}.mid").write_bytes(good_midi(tuple(rng.randrange(40, 90) for _ in range(2000))))
    out = full_disk / "prepared"
    assert _prepare(midi_folder, out) == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]  # after the progress bar
    assert (
        last.startswith(f"overworld prepare: error: cannot write {out}/") and "no space left" in last.lower()
    )
    assert [p.name for p in full_disk.iterdir()] == []
