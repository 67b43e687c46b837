"""``overworld inspect`` summarises a prepared folder, and a damaged manifest.json or report.json is one
line naming the file and the field, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from overworld.cli import main
from overworld.data.inspect import summarize
from overworld.errors import DataError

FILE = {
    "path": "a.mid",
    "source": "code",
    "sha256": "ab",
    "split": "train",
    "tokens": 40,
    "notes": 12,
    "seconds": 90.0,
    "instruments": [0, 128],
}
MANIFEST = {
    "tokenizer": "performance",
    "vocab_size": 520,
    "splits": {"train": {"files": 2, "tokens": 80}},
    "files": [FILE, {**FILE, "path": "b.mid", "source": "other", "instruments": [0]}],
}
REPORT = {
    "files_ok": 2,
    "files_failed": 1,
    "duplicates": 0,
    "failures": [{"path": "c.mid", "reason": "zero tempo: 0"}],
}


def _folder(tmp_path: Path, manifest: Any = MANIFEST, report: Any = REPORT) -> Path:
    (tmp_path / "manifest.json").write_text(manifest if isinstance(manifest, str) else json.dumps(manifest))
    (tmp_path / "report.json").write_text(report if isinstance(report, str) else json.dumps(report))
    return tmp_path


def test_a_prepared_folder_is_summarised(tmp_path):
    summary = summarize(_folder(tmp_path))
    assert summary["files"] == 2 and summary["tokens"] == 80 and summary["minutes"] == 3.0
    assert summary["sources"] == {"code": 1, "other": 1} and summary["failed"] == 1
    assert summary["instruments"]["Acoustic Grand Piano"] == 2 and summary["failure_reasons"] == {
        "zero tempo": 1
    }


def _file(**change: Any) -> dict[str, Any]:
    return {**MANIFEST, "files": [{**FILE, **change}]}


# each of these was a traceback (AttributeError, TypeError, KeyError, ValueError) or printed nonsense
DAMAGED = {
    "a list": ("[1, 2]", "manifest.json must hold an object, not list"),
    "a file that is a number": (
        {**MANIFEST, "files": [1]},
        "manifest.json: files[0] must be an object, not 1",
    ),
    "tokens as text": (_file(tokens="many"), "files[0].tokens must be a whole number, not 'many'"),
    "no seconds": (_file(seconds=None), "files[0].seconds must be a number of seconds, not None"),
    "infinite seconds": (
        _file(seconds=float("inf")),
        "files[0].seconds must be a number of seconds, not inf",
    ),
    "no source": (
        {**MANIFEST, "files": [{k: v for k, v in FILE.items() if k != "source"}]},
        "files[0].source",
    ),
    "instruments as text": (_file(instruments="piano"), "files[0].instruments must be GM programs 0-128"),
    "an instrument out of range": (
        _file(instruments=[1000]),
        "files[0].instruments must be GM programs 0-128",
    ),
    "a split that is a number": (
        {**MANIFEST, "splits": {"train": 5}},
        "splits.train must be an object, not 5",
    ),
    "a split without tokens": ({**MANIFEST, "splits": {"train": {"files": 1}}}, "splits.train.tokens"),
    "a tokenizer that is a list": ({**MANIFEST, "tokenizer": [1]}, "tokenizer must be a name, not [1]"),
    "a vocabulary as text": ({**MANIFEST, "vocab_size": "x"}, "vocab_size must be a whole number, not 'x'"),
}
REPORTS = {
    "report a list": ("[1]", "report.json must hold an object, not list"),
    "report broken": ("{oops", "cannot read"),
    "report failures without reasons": (
        {"failures": [{"reason": 5}, 3]},
        "report.json: failures must be a list",
    ),
    "report failed count as text": (
        {"files_failed": "x"},
        "report.json: files_failed must be a whole number",
    ),
}


@pytest.mark.parametrize("damage", sorted(DAMAGED) + sorted(REPORTS))
def test_a_damaged_manifest_or_report_is_one_line_naming_it(tmp_path, capsys, damage):
    if damage in DAMAGED:
        content, reason = DAMAGED[damage]
        folder = _folder(tmp_path, manifest=content)
    else:
        content, reason = REPORTS[damage]
        folder = _folder(tmp_path, report=content)
    with pytest.raises(DataError) as info:
        summarize(folder)
    assert reason in str(info.value) and str(folder) in str(info.value)
    for flags in ([], ["--json"]):
        assert main(["inspect", str(folder), *flags]) == 2
        out, err = capsys.readouterr()
        assert out == "" and err.count("\n") == 1 and err.startswith("overworld inspect: error: ")
