"""prepare: good files kept, bad ones reported with reasons, nothing hangs; stable splits; inspect."""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest

from overworld.cli import main
from overworld.config import DataConfig
from overworld.data.prepare import prepare
from overworld.data.shards import read_shard, read_split
from overworld.data.splits import split_of
from overworld.tokenizers import load_tokenizer

sys.path.insert(0, str(Path(__file__).parents[1] / "midi"))
from pathological import good_midi, write_all


def test_pathological_mix_keeps_every_good_file_and_reports_every_bad_one(tmp_path):
    expected = write_all(tmp_path / "in")
    report = prepare([tmp_path / "in"], tmp_path / "out", DataConfig(workers=2, file_timeout_s=30))
    failed = {Path(f["path"]).name: f["reason"] for f in report.failures}
    for name, outcome in expected.items():
        if outcome == "ok":
            assert name not in failed, f"{name} should be kept: {failed.get(name)}"
        else:
            assert outcome in failed[name]
    assert report.files_ok == sum(o == "ok" for o in expected.values())
    on_disk = json.loads((tmp_path / "out" / "report.json").read_text())
    assert on_disk["files_failed"] == len(failed) and on_disk["failures"] == report.failures
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert sorted(Path(f["path"]).name for f in manifest["files"]) == sorted(
        n for n, o in expected.items() if o == "ok"
    )


def test_shards_hold_each_file_between_bos_and_eos(tmp_path):
    (tmp_path / "in").mkdir()
    for i in range(12):
        (tmp_path / "in" / f"{i}.mid").write_bytes(good_midi((50 + i, 55 + i, 60 + i)))
    (tmp_path / "in" / "copy.mid").write_bytes(good_midi((50, 55, 60)))  # a duplicate of 0.mid
    report = prepare([tmp_path / "in"], tmp_path / "out", DataConfig(workers=1))
    assert report.files_ok == 12 and report.duplicates == 1
    tok = load_tokenizer(tmp_path / "out")
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    total = 0
    for split in ("train", "validation", "test"):
        tokens, index = read_shard(tmp_path / "out", split)
        assert tokens.dtype == np.uint16 and len(index) == manifest["splits"][split]["files"] + 1
        for seq in read_split(tmp_path / "out", split):
            assert seq[0] == tok.bos_id and seq[-1] == tok.eos_id and tok.count_notes(seq) == 3
        total += len(tokens)
    assert total == report.tokens


def test_splits_depend_only_on_content():
    digests = [hashlib.sha256(str(i).encode()).hexdigest() for i in range(2000)]
    before = {d: split_of(d) for d in digests}
    assert {split_of(d) for d in digests} == {"train", "validation", "test"}
    assert all(split_of(d) == s for d, s in before.items())  # no state: adding files moves nothing
    share = sum(s == "train" for s in before.values()) / len(before)
    assert 0.85 < share < 0.95


def test_a_file_over_the_time_or_memory_limit_fails_alone(tmp_path):
    from pathological import CASES

    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "big.mid").write_bytes(CASES["hundreds_of_thousands_of_events.mid"][0])
    (tmp_path / "in" / "good.mid").write_bytes(good_midi())
    # a limit no real parse of 300,000 events meets; the worker is killed and replaced
    report = prepare([tmp_path / "in"], tmp_path / "out", DataConfig(workers=1, file_timeout_s=0.002))
    reasons = {Path(f["path"]).name: f["reason"] for f in report.failures}
    assert "took longer" in reasons.get("big.mid", "")
    assert (report.files_ok >= 0 and "good.mid" not in reasons) or "took longer" in reasons["good.mid"]
    report = prepare([tmp_path / "in"], tmp_path / "out2", DataConfig(workers=1, file_memory_mb=8))
    reasons = {Path(f["path"]).name: f["reason"] for f in report.failures}
    assert "memory" in reasons.get("big.mid", "") or "crashed" in reasons.get("big.mid", "")
    assert "good.mid" not in reasons and report.files_ok == 1


def test_a_worker_lost_with_two_chunks_in_flight_loses_no_file(tmp_path):
    (tmp_path / "in").mkdir()
    for i in range(30):
        (tmp_path / "in" / f"{i:02d}.mid").write_bytes(good_midi((40 + i, 45 + i, 50 + i)))
    # a pipe no one writes to: reading it hangs. It is the worker's 14th file, in its second chunk of 8,
    # with the third chunk waiting in the pipe when the worker is killed
    os.mkfifo(tmp_path / "in" / "12x.mid")
    report = prepare([tmp_path / "in"], tmp_path / "out", DataConfig(workers=1, file_timeout_s=2))
    assert [(Path(f["path"]).name, f["reason"]) for f in report.failures] == [
        ("12x.mid", "took longer than 2 s (parser hung?)")
    ]
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert sorted(Path(f["path"]).name for f in manifest["files"]) == [f"{i:02d}.mid" for i in range(30)]


def test_cli_prepare_and_inspect(tmp_path, capsys):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.mid").write_bytes(good_midi())
    (tmp_path / "in" / "bad.mid").write_bytes(b"<html>")
    assert main(["prepare", str(tmp_path / "in"), "--out", str(tmp_path / "out"), "--workers", "1"]) == 0
    assert main(["inspect", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert "1 files" in out and "failed: 1" in out and "Acoustic Grand Piano" in out
    assert main(["inspect", str(tmp_path / "nothing")]) == 2


@pytest.mark.skipif(not Path("/usr/share/games/doom/freedoom1.wad").exists(), reason="freedoom not installed")
def test_fetch_and_prepare_the_free_soundtracks(tmp_path, capsys):
    for name in ("freedoom", "openmsx"):
        assert main(["fetch", name, "--out", str(tmp_path / name)]) == 0
    assert (
        main(["prepare", str(tmp_path / "freedoom"), str(tmp_path / "openmsx"), "--out", str(tmp_path / "p")])
        == 0
    )
    report = json.loads((tmp_path / "p" / "report.json").read_text())
    with capsys.disabled():
        print(
            f"\nfreedoom + openmsx: {report['files_ok']} files, {report['tokens']} tokens, "
            f"{report['files_failed']} failed, {report['duplicates']} duplicates"
        )
    # the bar tokenizer (the default) writes ~28 tokens a second of this music: 406,572 tokens in all
    assert report["files_ok"] >= 95 and report["files_failed"] == 0 and report["tokens"] > 300_000


def test_a_missing_input_is_one_line_of_its_own(tmp_path, capsys):
    from overworld.cli import main

    assert main(["prepare", str(tmp_path / "nowhere"), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.strip().splitlines() == [
        f"overworld prepare: error: input {tmp_path / 'nowhere'} does not exist"
    ]
