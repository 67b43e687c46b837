"""A summary of a prepared folder: files, tokens, minutes of music, instruments, splits, failures.

``manifest.json`` and ``report.json`` are read as untrusted: a field of the wrong type, a missing one or a
report that is not an object is a one-line :class:`DataError` naming the file and the field.
"""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path
from typing import Any

from overworld.data.shards import read_json_object, read_manifest
from overworld.errors import DataError

__all__ = ["summarize"]


def summarize(folder: str | Path) -> dict:
    """The numbers ``overworld inspect`` prints, as a dict."""
    from overworld.midi.gm import instrument_name

    folder = Path(folder)
    manifest = read_manifest(folder)
    path = folder / "manifest.json"
    files = [_file_entry(entry, f"{path}: files[{i}]") for i, entry in enumerate(manifest["files"])]
    splits = {
        name: _split_entry(entry, f"{path}: splits.{name}") for name, entry in manifest["splits"].items()
    }
    _check(manifest["tokenizer"], str, f"{path}: tokenizer", "a name")
    _check(manifest["vocab_size"], int, f"{path}: vocab_size", "a whole number")
    report = _read_report(folder / "report.json")
    instruments = Counter(i for f in files for i in f["instruments"])
    reasons = Counter(reason.split(":")[0] for reason in report["reasons"])
    return {
        "tokenizer": manifest["tokenizer"],
        "vocab_size": manifest["vocab_size"],
        "files": len(files),
        "tokens": sum(f["tokens"] for f in files),
        "minutes": round(sum(f["seconds"] for f in files) / 60, 1),
        "notes": sum(f["notes"] for f in files),
        "splits": splits,
        "sources": dict(Counter(f["source"] for f in files)),
        "instruments": {instrument_name(i): n for i, n in instruments.most_common()},
        "failed": report["files_failed"],
        "duplicates": report["duplicates"],
        "failure_reasons": dict(reasons.most_common()),
    }


def _check(value: Any, kind: type, where: str, what: str) -> Any:
    """``value`` if it is a ``kind`` (an int is never a bool; a float is finite and at least 0)."""
    ok = isinstance(value, kind) and not isinstance(value, bool)
    if kind is int:
        ok = ok and value >= 0
    if kind is float:
        ok = (
            isinstance(value, int | float)
            and not isinstance(value, bool)
            and math.isfinite(value)
            and value >= 0
        )
    if not ok:
        raise DataError(f"{where} must be {what}, not {value!r:.40}; prepare again")
    return value


def _file_entry(entry: Any, where: str) -> dict[str, Any]:
    if not isinstance(entry, dict):
        raise DataError(f"{where} must be an object, not {entry!r:.40}; prepare again")
    instruments = entry.get("instruments", [])
    if not isinstance(instruments, list) or not all(
        isinstance(i, int) and not isinstance(i, bool) and 0 <= i <= 128 for i in instruments
    ):
        raise DataError(
            f"{where}.instruments must be GM programs 0-128, not {instruments!r:.40}; prepare again"
        )
    return {
        "tokens": _check(entry.get("tokens"), int, f"{where}.tokens", "a whole number"),
        "notes": _check(entry.get("notes"), int, f"{where}.notes", "a whole number"),
        "seconds": _check(entry.get("seconds"), float, f"{where}.seconds", "a number of seconds"),
        "source": _check(entry.get("source"), str, f"{where}.source", "a name"),
        "instruments": instruments,
    }


def _split_entry(entry: Any, where: str) -> dict[str, int]:
    if not isinstance(entry, dict):
        raise DataError(f"{where} must be an object, not {entry!r:.40}; prepare again")
    return {
        key: _check(entry.get(key), int, f"{where}.{key}", "a whole number") for key in ("files", "tokens")
    }


def _read_report(path: Path) -> dict[str, Any]:
    """``report.json``'s failure count, duplicates and failure reasons (none when there is no report)."""
    if not path.exists():
        return {"files_failed": 0, "duplicates": 0, "reasons": []}
    report = read_json_object(path)
    failures = report.get("failures", [])
    if not isinstance(failures, list) or not all(
        isinstance(f, dict) and isinstance(f.get("reason"), str) for f in failures
    ):
        raise DataError(f"{path}: failures must be a list of objects with a reason; prepare again")
    return {
        "files_failed": _check(report.get("files_failed", 0), int, f"{path}: files_failed", "a whole number"),
        "duplicates": _check(report.get("duplicates", 0), int, f"{path}: duplicates", "a whole number"),
        "reasons": [f["reason"] for f in failures],
    }
