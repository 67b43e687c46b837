"""A summary of a prepared folder: files, tokens, minutes of music, instruments, splits, failures."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from overworld.data.shards import read_manifest

__all__ = ["summarize"]


def summarize(folder: str | Path) -> dict:
    """The numbers ``overworld inspect`` prints, as a dict."""
    from overworld.midi.gm import instrument_name

    folder = Path(folder)
    manifest = read_manifest(folder)
    report = {}
    if (folder / "report.json").exists():
        report = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    files = manifest["files"]
    instruments = Counter(i for f in files for i in f.get("instruments", []))
    reasons = Counter(f["reason"].split(":")[0] for f in report.get("failures", []))
    return {
        "tokenizer": manifest["tokenizer"],
        "vocab_size": manifest["vocab_size"],
        "files": len(files),
        "tokens": sum(f["tokens"] for f in files),
        "minutes": round(sum(f["seconds"] for f in files) / 60, 1),
        "notes": sum(f["notes"] for f in files),
        "splits": manifest["splits"],
        "sources": dict(Counter(f["source"] for f in files)),
        "instruments": {instrument_name(i): n for i, n in instruments.most_common()},
        "failed": report.get("files_failed", 0),
        "duplicates": report.get("duplicates", 0),
        "failure_reasons": dict(reasons.most_common()),
    }
