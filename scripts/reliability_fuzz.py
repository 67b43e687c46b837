"""Sections 1, 2 and 4 of scripts/reliability.py: fuzzed MIDI byte strings through ``load_score`` in a
worker process (this file, run as a script, is that worker), fuzzed files through ``overworld prepare``,
and hostile archives through ``extract_midi``. Not run on its own otherwise."""

from __future__ import annotations

import json
import os
import random
import select
import shutil
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import reliability_inputs as inputs
from reliability_common import ENV, Section, run_cli

# ---------------------------------------------------------------------------------- 1. MIDI fuzzing


def midi_worker() -> None:
    """Read length-prefixed byte strings on stdin, load each, answer one JSON line each on stdout."""
    import resource

    answers = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)  # nothing the library might print reaches the answers
    resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))  # a runaway allocation is a MemoryError
    from overworld.midi import MidiError, load_score

    source = sys.stdin.buffer
    while header := source.read(4):
        data = source.read(struct.unpack(">I", header)[0])
        try:
            load_score(data)
            answer = {"outcome": "parsed"}
        except MidiError as exc:
            message = str(exc)
            one_line = message and "\n" not in message
            answer = {"outcome": "one-line MidiError" if one_line else "crash", "message": message[:300]}
        except Exception as exc:  # what the parser must never let out
            answer = {"outcome": "crash", "message": f"{type(exc).__name__}: {str(exc)[:300]}"}
        answers.write(json.dumps(answer) + "\n")


class Worker:
    """This file run as a worker subprocess: answers each byte string, restarted when it dies or hangs."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen | None = None

    def load(self, data: bytes, timeout: float) -> dict:
        if self.proc is None or self.proc.poll() is not None:
            self.proc = subprocess.Popen(
                [sys.executable, __file__],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                bufsize=0,
                env=ENV,
            )
        try:
            self.proc.stdin.write(struct.pack(">I", len(data)) + data)
            ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
            answer = self.proc.stdout.readline() if ready else None
        except BrokenPipeError:
            answer = b""
        if answer:
            return json.loads(answer)
        self.close()
        if answer is None:
            return {"outcome": "hang", "message": f"no answer in {timeout:g} s"}
        return {"outcome": "crash", "message": f"the worker died (exit {self.proc.returncode})"}

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
        if self.proc is not None:
            self.proc.wait()


def fuzz_midi(n: int, seed: int, hang_seconds: float, work: Path) -> Section:
    section = Section("MIDI parser", "fuzzed MIDI byte strings", bad=("crashes", "hangs"))
    rng, seeds, worker = random.Random(seed), inputs.seed_files(), Worker()
    names = {
        "crash": "crashes",
        "hang": "hangs",
        "parsed": "parsed",
        "one-line MidiError": "one-line MidiErrors",
    }
    try:
        for i in range(n):
            data, how = inputs.mutate(seeds, rng)
            answer = worker.load(data, hang_seconds)
            outcome = names[answer["outcome"]]
            if outcome in section.bad:  # keep the input, so the defect can be reproduced
                (work / f"midi-{outcome}-{i}.mid").write_bytes(data)
            section.add(outcome, f"case {i} ({how}, {len(data):,} bytes): {answer.get('message', '')}")
    finally:
        worker.close()
    return section


# ---------------------------------------------------------------------------- 2. prepare over fuzz


def fuzz_prepare(n: int, seed: int, work: Path) -> Section:
    section = Section(
        "prepare",
        f"files through `overworld prepare` ({n:,} fuzzed + good ones)",
        bad=(
            "good files lost",
            "inputs unaccounted for",
            "failures without a one-line reason",
            "prepare crashes",
        ),
    )
    rng = random.Random(seed + 1)
    folder, out = work / "prepare-in", work / "prepare-out"
    folder.mkdir()
    seeds, good = inputs.seed_files(), inputs.good_files(max(4, n // 25), rng)
    for i in range(n):
        (folder / f"fuzz-{i:05d}.mid").write_bytes(inputs.mutate(seeds, rng)[0])
    for i, data in enumerate(good):
        (folder / f"good-{i:03d}.mid").write_bytes(data)
    code, err = run_cli(["prepare", str(folder), "--out", str(out), "--workers", "2"], work, 600)
    if code != 0 or "Traceback" in err:
        section.add("prepare crashes", f"exit {code}: {err.strip()[-500:]}")
        return section
    manifest = json.loads((out / "manifest.json").read_text())
    report = json.loads((out / "report.json").read_text())
    kept = {Path(f["path"]).name for f in manifest["files"]}
    hashes = {f["sha256"] for f in manifest["files"]}
    failed = {Path(f["path"]).name: f["reason"] for f in report["failures"]}
    _tally_prepare(section, folder, good, kept, hashes, failed, report["duplicates"])
    return section


def _tally_prepare(
    section: Section,
    folder: Path,
    good: list[bytes],
    kept: set[str],
    hashes: set[str],
    failed: dict[str, str],
    duplicates: int,
) -> None:
    import hashlib

    for path in sorted(folder.iterdir()):
        data, name = path.read_bytes(), path.name
        is_good = name.startswith("good-")
        if is_good and hashlib.sha256(data).hexdigest() not in hashes:
            section.add(
                "good files lost", f"{name}: {failed.get(name, 'not in manifest.json or report.json')}"
            )
        elif name in kept:
            section.add("good files kept" if is_good else "fuzzed files kept (parsed or repaired)")
        elif name in failed:
            reason = failed[name]
            ok = isinstance(reason, str) and reason.strip() and "\n" not in reason
            section.add(
                "fuzzed files refused with a reason" if ok else "failures without a one-line reason",
                f"{name}: {reason!r}",
            )
        elif hashlib.sha256(data).hexdigest() in hashes and duplicates:
            section.add("duplicates of a kept file")
        else:
            section.add("inputs unaccounted for", name)


# ------------------------------------------------------------------------------------- 4. archives


def archives(work: Path, quick: bool) -> Section:
    from overworld.datasets.extract import extract_midi
    from overworld.errors import DownloadError

    section = Section("archives", "archive attacks through extract_midi", bad=("escaped", "crashes"))
    attacks = inputs.ARCHIVE_ATTACKS
    for i, (label, (name, build)) in enumerate(attacks.items()):
        if quick and ("100,000" in label or "60,000" in label):
            continue  # seconds to build and read; the default run tries them
        sandbox = work / f"archive-{i}"
        (sandbox / "a" / "b").mkdir(parents=True)
        archive, target = sandbox / name, sandbox / "a" / "b" / "out"
        archive.write_bytes(build())
        outside = Path(tempfile.gettempdir()) / inputs.ESCAPE
        try:
            extract_midi(archive, target)
            outcome, detail = "extracted safely", ""
        except DownloadError as exc:
            outcome, detail = ("refused" if "\n" not in str(exc) else "crashes"), str(exc)
        except Exception as exc:
            outcome, detail = "crashes", f"{type(exc).__name__}: {exc}"
        escaped = _escapes(sandbox, archive, target) + ([str(outside)] if outside.exists() else [])
        if escaped:
            outcome, detail = "escaped", ", ".join(escaped)
            outside.unlink(missing_ok=True)
        section.add(outcome, f"{label}: {detail[:200]}")
        shutil.rmtree(sandbox)
    return section


def _escapes(sandbox: Path, archive: Path, target: Path) -> list[str]:
    """What the extraction left outside ``target``, and anything in it that is not a plain file or folder."""
    found = []
    for path in sandbox.rglob("*"):
        inside = path == target or target in path.parents
        if path.is_symlink() or (inside and not (path.is_file() or path.is_dir())):
            found.append(f"{path.relative_to(sandbox)} (not a plain file)")
        elif not inside and path != archive and path.is_file():
            found.append(str(path.relative_to(sandbox)))
    return found


if __name__ == "__main__":
    midi_worker()
