"""``prepare``: MIDI files in, token shards out, with a report of every file that could not be used.

Files are found recursively in the inputs (a folder with ``dataset.json`` lends its ``source`` name), parsed
and tokenized in isolated workers (``workers.py``), deduplicated by content hash, split by content hash,
and written as uint16 shards with ``manifest.json``, ``report.json`` and ``tokenizer.json``.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from overworld.config import DataConfig, config_to_dict
from overworld.data.shards import write_shard
from overworld.data.splits import SPLITS, split_of
from overworld.errors import DataError
from overworld.midi.load import MIDI_SUFFIXES
from overworld.midi.modules import MODULE_SUFFIXES

__all__ = ["MIDI_SUFFIXES", "Report", "find_midi_files", "prepare"]

log = logging.getLogger(__name__)


@dataclass
class Report:
    files_ok: int = 0
    files_failed: int = 0
    duplicates: int = 0
    tokens: int = 0
    failures: list[dict[str, str]] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"files_ok": self.files_ok, "files_failed": self.files_failed, "duplicates": self.duplicates,
                "tokens": self.tokens, "failures": self.failures}  # fmt: skip


def _source_of(folder: Path) -> str:
    meta = folder / "dataset.json"
    if meta.exists():
        try:
            return str(json.loads(meta.read_text(encoding="utf-8")).get("source") or folder.name)
        except ValueError:
            pass
    return folder.name


def find_midi_files(inputs: Sequence[str | Path]) -> list[tuple[str, str]]:
    """(path, source) for every MIDI file under the inputs, sorted, each path once."""
    found: dict[str, str] = {}
    for item in inputs:
        item = Path(item)
        if item.is_dir():
            source = _source_of(item)
            for root, _dirs, names in os.walk(item):
                for name in names:
                    if name.lower().endswith(MIDI_SUFFIXES + MODULE_SUFFIXES):  # tracker modules too
                        found.setdefault(str(Path(root) / name), source)
        elif item.is_file():
            found.setdefault(str(item), _source_of(item.parent))
        else:
            raise DataError(f"input {item} does not exist")
    return sorted(found.items())


def prepare(
    inputs: Sequence[str | Path],
    out_dir: str | Path,
    config: DataConfig = DataConfig(),
    progress: Callable[[int, int], None] | None = None,
) -> Report:
    """Prepare ``inputs`` into ``out_dir``; ``progress(done, total)`` is called after every file."""
    from overworld.data.workers import process_files
    from overworld.tokenizers import make_tokenizer

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tokenizer = make_tokenizer(config.tokenizer)
    if tokenizer.vocab_size >= 1 << 16:
        raise DataError(f"tokenizer vocabulary of {tokenizer.vocab_size} does not fit uint16 shards")
    files = find_midi_files(inputs)
    if not files:
        names = ", ".join(MIDI_SUFFIXES + MODULE_SUFFIXES)
        raise DataError(f"no MIDI files or modules ({names}) in {', '.join(map(str, inputs))}")
    workers = config.workers or os.cpu_count() or 1
    report = Report()
    kept: dict[str, object] = {}  # sha256 -> FileResult, first path (sorted order) wins
    results = []
    for done, result in enumerate(
        process_files(
            files,
            tokenizer.to_dict(),
            workers=workers,
            timeout_s=config.file_timeout_s,
            memory_mb=config.file_memory_mb,
            max_bytes=config.max_file_bytes,
            max_seconds=config.max_seconds,
        ),
        start=1,
    ):
        results.append(result)
        if progress:
            progress(done, len(files))
    results.sort(key=lambda r: r.path)
    for r in results:
        if r.reason is not None:
            report.files_failed += 1
            report.failures.append({"path": r.path, "reason": r.reason})
        elif r.sha256 in kept:
            report.duplicates += 1
        else:
            kept[r.sha256] = r
    bos, eos = np.array([tokenizer.bos_id], np.uint16), np.array([tokenizer.eos_id], np.uint16)
    by_split: dict[str, list] = {s: [] for s in SPLITS}
    for r in kept.values():
        by_split[split_of(r.sha256, config.splits)].append(r)
    manifest_files, split_summary = [], {}
    for split in SPLITS:
        rows = by_split[split]
        tokens = write_shard(out, split, [np.concatenate([bos, r.ids, eos]) for r in rows])
        split_summary[split] = {"files": len(rows), "tokens": tokens}
        report.tokens += tokens
        for r in rows:
            manifest_files.append({"path": r.path, "source": r.source, "sha256": r.sha256, "split": split,
                                   "tokens": len(r.ids) + 2, "notes": r.notes, "seconds": round(r.seconds, 3),
                                   "instruments": r.instruments})  # fmt: skip
    report.files_ok = len(kept)
    tokenizer.save(out / "tokenizer.json")
    manifest = {"tokenizer": tokenizer.name, "vocab_size": tokenizer.vocab_size, "data_config": config_to_dict(config),
                "splits": split_summary, "files": manifest_files}  # fmt: skip
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    (out / "report.json").write_text(json.dumps(report.to_dict(), indent=1), encoding="utf-8")
    log.info("prepared %d files (%d failed, %d duplicates), %d tokens", report.files_ok, report.files_failed,
             report.duplicates, report.tokens)  # fmt: skip
    return report
