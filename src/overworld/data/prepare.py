"""``prepare``: MIDI files in, token shards out, with a report of every file that could not be used.

Files are found recursively in the inputs (a folder with ``dataset.json`` lends its ``source`` name), parsed
and tokenized in isolated workers (``workers.py``), deduplicated by content hash, split by content hash,
and written as uint16 shards with ``manifest.json``, ``report.json`` and ``tokenizer.json``.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from overworld.atomic import write_atomically
from overworld.config import DataConfig, config_to_dict
from overworld.data.shards import write_shard
from overworld.data.splits import SPLITS, split_of
from overworld.errors import DataError, PathError
from overworld.midi.load import MIDI_SUFFIXES
from overworld.midi.modules import MODULE_SUFFIXES

__all__ = ["MIDI_SUFFIXES", "PREPARED_FILES", "Report", "check_prepared_out", "find_midi_files", "prepare"]

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
    if meta.is_file() and meta.stat().st_size <= MAX_DATASET_JSON_BYTES:
        try:
            data = json.loads(meta.read_text(encoding="utf-8"))
            return str((data.get("source") if isinstance(data, dict) else None) or folder.name)
        except (OSError, ValueError):
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


# what a prepared folder holds: a folder with any of them is one, replaced only when asked
PREPARED_FILES = (
    *(f"{split}{ext}" for split in SPLITS for ext in (".bin", ".idx.npy")),
    "tokenizer.json",
    "manifest.json",
    "report.json",
)
MAX_DATASET_JSON_BYTES = 1 << 20  # a fetched folder's dataset.json: a name and a few fields


def check_prepared_out(out_dir: str | Path, overwrite: bool = False) -> Path:
    """``out_dir`` if prepare may write there: a folder that already holds a prepared dataset needs
    ``overwrite`` (as ``train`` needs it for a run); else :class:`DataError` naming it."""
    out = Path(out_dir)
    if out.is_dir() and not overwrite:
        held = [name for name in PREPARED_FILES if (out / name).exists()]
        if held:
            raise DataError(
                f"{out} already holds a prepared dataset ({held[0]}); pass --overwrite to replace it, "
                "or choose another --out"
            )
    return out


def prepare(
    inputs: Sequence[str | Path],
    out_dir: str | Path,
    config: DataConfig = DataConfig(),
    progress: Callable[[int, int], None] | None = None,
    overwrite: bool = False,
) -> Report:
    """Prepare ``inputs`` into ``out_dir``; ``progress(done, total)`` is called after every file.

    Everything is written into a temporary folder beside ``out_dir`` and moved into it once complete: a
    full disk or a denied write leaves ``out_dir`` as it was (a :class:`PathError` naming the file). A
    folder already holding a prepared dataset is replaced only with ``overwrite``."""
    from overworld.tokenizers import make_tokenizer

    out = check_prepared_out(out_dir, overwrite)
    tokenizer = make_tokenizer(config.tokenizer)
    if tokenizer.vocab_size >= 1 << 16:
        raise DataError(f"tokenizer vocabulary of {tokenizer.vocab_size} does not fit uint16 shards")
    files = find_midi_files(inputs)
    if not files:
        names = ", ".join(MIDI_SUFFIXES + MODULE_SUFFIXES)
        raise DataError(f"no MIDI files or modules ({names}) in {', '.join(map(str, inputs))}")
    report, kept = _process(files, tokenizer, config, progress)
    made = not out.exists()
    try:
        out.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.prepare-", dir=out.parent))
    except OSError as exc:
        if made:
            shutil.rmtree(out, ignore_errors=True)
        raise PathError(f"cannot write {out}: {exc.strerror or exc}") from exc
    try:
        _write_prepared(staging, tokenizer, config, report, kept)
        for name in PREPARED_FILES:  # each file whole; the manifest last, so a reader finds all it names
            os.replace(staging / name, out / name)
    except BaseException as exc:
        if made:
            shutil.rmtree(out, ignore_errors=True)
        if isinstance(exc, PathError):  # named where it was staged: name where it was going
            raise PathError(str(exc).replace(str(staging), str(out))) from exc
        if isinstance(exc, OSError):
            raise PathError(f"cannot write {out}: {exc.strerror or exc}") from exc
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    log.info("prepared %d files (%d failed, %d duplicates), %d tokens", report.files_ok, report.files_failed,
             report.duplicates, report.tokens)  # fmt: skip
    return report


def _process(files: list[tuple[str, str]], tokenizer: Any, config: DataConfig,
             progress: Callable[[int, int], None] | None) -> tuple[Report, list[Any]]:  # fmt: skip
    """Parse and tokenize every file in workers; the report of failures and duplicates, and the kept
    results (the first path in sorted order of each content)."""
    from overworld.data.workers import process_files

    workers = config.workers or os.cpu_count() or 1
    report = Report()
    kept: dict[str, object] = {}  # sha256 -> FileResult, first path (sorted order) wins
    results = []
    found = process_files(files, tokenizer.to_dict(), workers=workers, timeout_s=config.file_timeout_s,
                          memory_mb=config.file_memory_mb, max_bytes=config.max_file_bytes,
                          max_seconds=config.max_seconds)  # fmt: skip
    for done, result in enumerate(found, start=1):
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
    report.files_ok = len(kept)
    return report, list(kept.values())


def _write_prepared(folder: Path, tokenizer: Any, config: DataConfig, report: Report,
                    kept: list[Any]) -> None:  # fmt: skip
    """Shards, tokenizer.json, manifest.json and report.json of ``kept`` into ``folder``."""
    bos, eos = np.array([tokenizer.bos_id], np.uint16), np.array([tokenizer.eos_id], np.uint16)
    by_split: dict[str, list] = {s: [] for s in SPLITS}
    for r in kept:
        by_split[split_of(r.sha256, config.splits)].append(r)
    manifest_files, split_summary = [], {}
    for split in SPLITS:
        rows = by_split[split]
        tokens = write_shard(folder, split, [np.concatenate([bos, r.ids, eos]) for r in rows])
        split_summary[split] = {"files": len(rows), "tokens": tokens}
        report.tokens += tokens
        for r in rows:
            manifest_files.append({"path": r.path, "source": r.source, "sha256": r.sha256, "split": split,
                                   "tokens": len(r.ids) + 2, "notes": r.notes, "seconds": round(r.seconds, 3),
                                   "instruments": r.instruments})  # fmt: skip
    tokenizer.save(folder / "tokenizer.json")
    manifest = {"tokenizer": tokenizer.name, "vocab_size": tokenizer.vocab_size, "data_config": config_to_dict(config),
                "splits": split_summary, "files": manifest_files}  # fmt: skip
    for name, data in (("report.json", report.to_dict()), ("manifest.json", manifest)):
        text = json.dumps(data, indent=1)
        write_atomically(folder / name, lambda p, text=text: p.write_text(text, encoding="utf-8"))
