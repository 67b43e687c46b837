"""Nothing lost, nothing silently wrong: every hardening check of issue 15 tried in one run, side by side.

    python scripts/reliability.py            # the default run (~10 minutes on 2 cores)
    python scripts/reliability.py --quick    # a few of each (the test runs this)

Five sections, each a count of what was tried and a tally of what each gave:

1. fuzzed MIDI byte strings (mutations of a few files made in code) through ``overworld.midi.load_score``
   in a worker process: parsed, a one-line MidiError, a crash (any other exception, or the worker died),
   or a hang (no answer within --hang-seconds);
2. fuzzed files plus good ones through ``overworld prepare``: every good file kept, every failure in
   report.json with a one-line reason, every input accounted for;
3. SIGKILLs at random moments of a tiny ``overworld train`` run, each followed by ``--resume`` to the end:
   the final weights bitwise equal to an uninterrupted run's, or different, or unresumable;
4. hostile archives (traversal, links, devices, bombs, too many members, duplicates, damage) through
   ``overworld.datasets.extract.extract_midi``: refused, extracted safely, or escaped;
5. bad invocations of ``python -m overworld``: a one-line error with exit 2 (the last stderr line
   ``overworld VERB: error: ...``, no traceback), a traceback, silently accepted (exit 0), or a hang;
   with controls (the same calls on untampered inputs) that must succeed;
6-12. issues 25 and 26, one section each (scripts/reliability_checks.py): bad paths and sizes refused
   before any work, seeds outside 0 .. 2**32-1, plot's sizes, prepare onto a prepared folder, bad keys /
   SoundFonts / config files, full and read-only folders (tmpfs, as root), oversized JSON and tokenizer
   options: each a one-line error naming the path or value, before work, with nothing partial left.

What each section tries is built in scripts/reliability_inputs.py. Exit status 1 when any crash, hang,
loss, difference, escape, traceback or silent acceptance was seen (each listed under its section).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import select
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parent))
import reliability_checks as checks
import reliability_inputs as inputs

ENV = {
    **os.environ,
    "OMP_NUM_THREADS": "1",
    "HF_HUB_OFFLINE": "1",
    "MPLBACKEND": "Agg",
    "PYTHONUNBUFFERED": "1",
}
TINY = ["--sequence-length", "32", "--embedding-size", "32", "--num-blocks", "1", "--num-heads", "2",
        "--feed-forward-dim", "64", "--batch-size", "2", "--device", "cpu", "--quiet"]  # fmt: skip


@dataclass
class Section:
    """One section's result: ``count`` things tried, a tally of outcomes, and the outcomes that must be 0."""

    name: str
    noun: str
    count: int = 0
    tally: Counter = field(default_factory=Counter)
    bad: tuple[str, ...] = ()
    examples: list[str] = field(default_factory=list)  # what went wrong, first few
    notes: list[str] = field(default_factory=list)  # what each try was, where there are few
    seconds: float = 0.0

    def add(self, outcome: str, example: str = "") -> None:
        self.count += 1
        self.tally[outcome] += 1
        if outcome in self.bad and len(self.examples) < 10:
            self.examples.append(f"{outcome}: {example}")

    def failures(self) -> int:
        return sum(self.tally[b] for b in self.bad)

    def summary(self) -> str:
        shown = [
            *self.bad,
            *sorted((o for o in self.tally if o not in self.bad), key=lambda o: -self.tally[o]),
        ]
        return ", ".join(f"{self.tally[o]:,} {o}" for o in shown)

    def line(self) -> str:
        return f"{self.count:,} {self.noun}: {self.summary()} ({self.seconds:.0f} s)"


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
    """A ``--midi-worker`` subprocess: answers each byte string, restarted when it dies or hangs."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen | None = None

    def load(self, data: bytes, timeout: float) -> dict:
        if self.proc is None or self.proc.poll() is not None:
            self.proc = subprocess.Popen([sys.executable, __file__, "--midi-worker"], stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, bufsize=0, env=ENV)  # fmt: skip
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


def run_cli(argv: list[str], cwd: Path, timeout: float) -> tuple[int | None, str]:
    """``python -m overworld ARGV``: (exit status, or None when it ran past ``timeout``; stderr)."""
    try:
        done = subprocess.run([sys.executable, "-m", "overworld", *argv], cwd=cwd, env=ENV, timeout=timeout,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, errors="replace")  # fmt: skip
    except subprocess.TimeoutExpired as exc:
        err = exc.stderr or ""
        return None, err.decode(errors="replace") if isinstance(err, bytes) else err
    return done.returncode, done.stderr


def fuzz_prepare(n: int, seed: int, work: Path) -> Section:
    section = Section("prepare", f"files through `overworld prepare` ({n:,} fuzzed + good ones)",
                      bad=("good files lost", "inputs unaccounted for", "failures without a one-line reason",
                           "prepare crashes"))  # fmt: skip
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


def _tally_prepare(section: Section, folder: Path, good: list[bytes], kept: set[str], hashes: set[str],
                   failed: dict[str, str], duplicates: int) -> None:  # fmt: skip
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
            section.add("fuzzed files refused with a reason" if ok else "failures without a one-line reason",
                        f"{name}: {reason!r}")  # fmt: skip
        elif hashlib.sha256(data).hexdigest() in hashes and duplicates:
            section.add("duplicates of a kept file")
        else:
            section.add("inputs unaccounted for", name)


# -------------------------------------------------------------------------------- 3. kills in training


def prepared_folder(folder: Path, seed: int = 0) -> Path:
    """A tiny prepared folder in the documented layout (performance tokens), as tests/training builds it."""
    import numpy as np

    from overworld.data.shards import write_shard
    from overworld.tokenizers import make_tokenizer
    from overworld.tokenizers import vocab as V

    def piece(rng: np.random.Generator, n_notes: int) -> np.ndarray:  # a monophonic line on one instrument
        out = [V.BOS, V.INSTRUMENT_OFFSET + int(rng.integers(0, 4)), V.VELOCITY_OFFSET + 20]
        for _ in range(n_notes):
            pitch = int(rng.integers(60, 72))
            out += [
                V.NOTE_ON_OFFSET + pitch,
                V.TIME_SHIFT_OFFSET + int(rng.integers(4, 20)),
                V.NOTE_OFF_OFFSET + pitch,
            ]
        return np.array([*out, V.EOS], dtype=np.int64)

    folder.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    splits = {
        "train": [piece(rng, 60) for _ in range(6)],
        "validation": [piece(rng, 30)],
        "test": [piece(rng, 30)],
    }
    summary = {s: {"files": len(q), "tokens": write_shard(folder, s, q)} for s, q in splits.items()}
    make_tokenizer("performance").save(folder / "tokenizer.json")
    files = [
        {
            "path": f"{s}{i}.mid",
            "source": "code",
            "sha256": f"{s}{i}",
            "split": s,
            "tokens": len(q),
            "notes": 60,
            "seconds": 10.0,
            "instruments": [0],
        }
        for s, seqs in splits.items()
        for i, q in enumerate(seqs)
    ]
    (folder / "manifest.json").write_text(
        json.dumps(
            {"tokenizer": "performance", "vocab_size": V.VOCAB_SIZE, "splits": summary, "files": files}
        )
    )
    return folder  # fmt: skip


def _weights_of(run: Path) -> dict:
    """The run's final weights: latest/state.pt's and model/model.safetensors' tensors, and its step."""
    from safetensors.torch import load_file

    from overworld.training.checkpoint import load_state

    state = load_state(run / "latest" / "state.pt")
    return {
        "step": int(state["step"]),
        "latest": state["model"],
        "model": load_file(str(run / "model" / "model.safetensors")),
    }


def _equal(a: dict, b: dict) -> bool:
    import torch

    same = lambda x, y: x.keys() == y.keys() and all(torch.equal(x[k], y[k]) for k in x)  # noqa: E731
    return a["step"] == b["step"] and same(a["latest"], b["latest"]) and same(a["model"], b["model"])


def kills(k: int, seed: int, work: Path, steps: int) -> Section:
    section = Section("training kills", "SIGKILLs during `overworld train`, each then `--resume`",
                      bad=("different", "unresumable"))  # fmt: skip
    rng, data = random.Random(seed + 2), prepared_folder(work / "kill-data")
    argv = ["train", "--data", str(data), "--steps", str(steps), "--save-every", "1", "--eval-every", "10",
            "--log-every", "1", "--seed", "1", *TINY]  # fmt: skip
    proc, first = _start(argv, work / "kill-ref", work)
    code, span = proc.wait(), time.monotonic() - (first or 0.0)  # the kills fall in this span
    if code != 0 or first is None:
        section.add("unresumable", f"the uninterrupted run failed (exit {code})")
        return section
    reference = _weights_of(work / "kill-ref")
    for i in range(k):
        moment = rng.uniform(0, span)
        for attempt in range(3):  # a run this time faster than the reference's: the kill is drawn earlier
            run = work / f"kill-{i}-{attempt}"
            outcome, detail = _kill_and_resume(argv, run, moment, work, reference)
            if outcome != "finished before the kill":
                break
            moment /= 2
        detail += f" (of the {span:.2f} s the uninterrupted run took after its first checkpoint)"
        section.add(outcome, f"kill {i}: {detail}")
        section.notes.append(f"kill {i}: {outcome}, {detail}")
    return section


def _start(argv: list[str], run: Path, work: Path) -> tuple[subprocess.Popen, float | None]:
    """Start ``train ... --out run``; return it once its first checkpoint is written (or it ended), and when."""
    proc = subprocess.Popen([sys.executable, "-m", "overworld", *argv, "--out", str(run)], cwd=work, env=ENV,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)  # fmt: skip
    while not (run / "latest" / "state.pt").exists():
        if proc.poll() is not None:
            return proc, None
        time.sleep(0.01)
    return proc, time.monotonic()


def _kill_and_resume(
    argv: list[str], run: Path, after: float, work: Path, reference: dict
) -> tuple[str, str]:
    """Start the run, SIGKILL it ``after`` seconds past its first checkpoint (a moment of training, of a
    checkpoint write or of the model's save), then ``--resume`` it to the end and compare its weights with
    the uninterrupted run's."""
    proc, first = _start(argv, run, work)
    try:
        if first is None:
            raise RuntimeError("no checkpoint")
        proc.wait(after)
        return "finished before the kill", f"{after:.2f} s after the first checkpoint"
    except (subprocess.TimeoutExpired, RuntimeError):
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    code, err = run_cli([*argv, "--out", str(run), "--resume"], work, 600)
    moment = f"killed {after:.2f} s after the first checkpoint, then --resume"
    if code != 0:
        return "unresumable", f"{moment}: exit {code}: {err.strip()[-300:]}"
    equal = _equal(_weights_of(run), reference)
    return ("equal" if equal else "different"), moment


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


# --------------------------------------------------------------------------------- 5. bad invocations


_FIXTURES: dict[Path, SimpleNamespace] = {}


def fixtures(work: Path, seed: int) -> SimpleNamespace:
    """Tiny model folders, a prepared folder, MIDI and text files, and their tampered copies (made once
    per work folder: the bad-inputs and issue sections share them)."""
    if work not in _FIXTURES:
        _FIXTURES[work] = _make_fixtures(work, seed)
    return _FIXTURES[work]


def _make_fixtures(work: Path, seed: int) -> SimpleNamespace:
    f = SimpleNamespace(out=work / "cli-out", models={}, runs={}, manifests={})
    f.out.mkdir()
    f.prepared = prepared_folder(work / "cli-data", seed)
    f.perf, f.bars = _tiny_model(work / "model-perf", "performance"), _tiny_model(work / "model-bars", "bars")
    f.raw, f.empty = work / "raw", work / "empty"
    f.raw.mkdir(), f.empty.mkdir()
    for i, data in enumerate(inputs.good_files(3, random.Random(seed))):
        (f.raw / f"good-{i}.mid").write_bytes(data)
    f.mid, f.text = work / "tune.mid", work / "notes.mid"
    f.mid.write_bytes(
        inputs.smf(
            [inputs.track(inputs.tempo(500_000) + inputs.line([60, 62, 64, 65, 67, 69, 71, 72] * 2))], fmt=0
        )
    )
    f.text.write_text("these are my notes, not a MIDI file\n")
    f.config_list, f.config_unknown = work / "list.json", work / "unknown.json"
    f.config_list.write_text("[1, 2, 3]")
    f.config_unknown.write_text(json.dumps({"model": {"num_blocks": 1, "colour": "red"}}))
    for i, (label, tamper) in enumerate(inputs.MODEL_TAMPERINGS.items()):
        f.models[label] = shutil.copytree(f.perf, work / f"model-tampered-{i}")
        tamper(f.models[label])
    f.good_run = _tiny_run(work / "run-good", f.prepared)
    for i, (label, tamper) in enumerate(inputs.STATE_TAMPERINGS.items()):
        f.runs[label] = shutil.copytree(f.good_run, work / f"run-tampered-{i}")
        tamper(f.runs[label] / "latest" / "state.pt")
    for label, text in (
        ("manifest.json missing", None),
        ("manifest.json not JSON", "{nope"),
        ("manifest.json a list", "[]"),
        ("manifest.json files not a list", json.dumps({"tokenizer": "performance", "files": 3})),
    ):
        folder = f.manifests[label] = shutil.copytree(f.prepared, work / f"data-{len(f.manifests)}")
        (folder / "manifest.json").unlink() if text is None else (folder / "manifest.json").write_text(text)
    return f  # fmt: skip


def _tiny_model(folder: Path, tokenizer: str) -> Path:
    from overworld.config import ModelConfig
    from overworld.models.build import build_model
    from overworld.models.storage import save_model
    from overworld.tokenizers import make_tokenizer

    tok = make_tokenizer(tokenizer)
    config = ModelConfig(vocab_size=tok.vocab_size, embedding_size=32, sequence_length=64, num_blocks=1,
                         num_heads=2, feed_forward_dim=64, dropout=0.0)  # fmt: skip
    return save_model(
        folder, build_model(config, seed=0), tok, {"name": f"tiny {tokenizer} model", "steps": 0}
    )


def _tiny_run(run: Path, data: Path) -> Path:
    from overworld.config import ModelConfig, TrainConfig
    from overworld.training.loop import train

    model = ModelConfig(embedding_size=32, sequence_length=32, num_blocks=1, num_heads=2, feed_forward_dim=64)
    config = TrainConfig(
        steps=2, batch_size=2, warmup_steps=1, eval_every=2, log_every=1, save_every=1, seed=1, device="cpu"
    )
    train(run, data, model, config, progress=False)
    return run  # fmt: skip


def judge(argv: list[str], code: int | None, err: str) -> str:
    """What an invocation that must fail gave."""
    if code is None:
        return "hangs"
    if "Traceback" in err:
        return "tracebacks"
    if code == 0:
        return "silently accepted"
    lines = [line for line in err.splitlines() if line.strip()]
    errors = [line for line in lines if ": error:" in line]
    if code == 2 and len(errors) == 1 and lines[-1].startswith(f"overworld {argv[0]}: error: "):
        return "one-line errors (exit 2)"
    return "other failures"


def bad_inputs(work: Path, seed: int, quick: bool, jobs: int) -> Section:
    section = Section("bad inputs", "bad invocations of `python -m overworld`",
                      bad=("tracebacks", "silently accepted", "hangs", "other failures", "controls failed"))  # fmt: skip
    f = fixtures(work, seed)
    stringify = lambda cases: [(label, [str(a) for a in argv]) for label, argv in cases]  # noqa: E731
    cases, checks = stringify(inputs.bad_invocations(f)), stringify(inputs.controls(f))
    if quick:
        cases, checks = cases[::16], checks[:2]  # one in 16, spread over the verbs

    def with_out(i: int, argv: list[str]) -> list[str]:  # each case writes into a folder of its own
        takes_out = argv[0] in ("generate", "train", "prepare", "infill", "compose")
        return [*argv, "--out", str(f.out / str(i))] if takes_out and "--out" not in argv else argv

    every = [(label, with_out(i, argv), True) for i, (label, argv) in enumerate(cases)]
    every += [(label, with_out(len(cases) + i, argv), False) for i, (label, argv) in enumerate(checks)]
    with ThreadPoolExecutor(jobs) as pool:
        results = list(pool.map(lambda c: (c, *run_cli(c[1], f.out, 300)), every))
    for (label, argv, must_fail), code, err in results:
        last = err.strip().splitlines()[-1] if err.strip() else ""
        if must_fail:
            section.add(judge(argv, code, err), f"{label}: exit {code}: {last[:240]}")
        elif code != 0:
            section.add("controls failed", f"{label}: exit {code}: {last[:240]}")
    section.noun += f" (and {len(checks)} controls on untampered inputs: {len(checks) - section.tally['controls failed']} succeeded)"
    section.count -= section.tally["controls failed"]
    return section  # fmt: skip


# --------------------------------------------------------------------------- 6-12. issues 25 and 26


def issue_checks(work: Path, seed: int, jobs: int, quick: bool) -> list[Section]:
    """One section per item of issues 25 and 26 (reliability_checks.SECTIONS), each case run as
    ``python -m overworld`` and judged by :func:`reliability_checks.judge`."""
    f, folder = fixtures(work, seed), work / "issue-checks"
    try:
        every = checks.sections(f, folder, quick)
        out = []
        for name, cases in every.items():
            started = time.monotonic()
            section = Section(name, checks.SECTIONS[name], bad=checks.BAD)
            with ThreadPoolExecutor(1 if name in checks.SERIAL else jobs) as pool:
                results = list(pool.map(lambda c: (c, *run_cli([str(a) for a in c.argv], f.out, 300)), cases))
            for case, code, err in results:
                outcome, detail = checks.judge(case, code, err)
                section.add(outcome, f"{case.label}: {detail[:240]}")
            if not cases:
                section.notes.append("skipped: no tmpfs could be mounted (needs root)")
            section.seconds = time.monotonic() - started
            out.append(section)
        return out
    finally:
        checks.unmount(folder)


# ------------------------------------------------------------------------------------------- driver


def table(sections: list[Section]) -> str:
    rows = ["| tried | count | what each gave | must be 0 | seconds |", "|---|---:|---|---:|---:|"]
    for s in sections:
        rows.append(f"| {s.noun} | {s.count:,} | {s.summary()} | {s.failures()} | {s.seconds:.0f} |")
    return "\n".join(rows)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--quick",
        action="store_true",
        help="a few of each: 100 MIDI strings, 30 files, 1 kill, 1 in 16 bad invocations",
    )
    p.add_argument("--midi", type=int, help="fuzzed MIDI byte strings (default 2,500; quick 100)")
    p.add_argument("--prepare", type=int, help="fuzzed files through prepare (default 500; quick 30)")
    p.add_argument("--kills", type=int, help="SIGKILLs during training (default 8; quick 1)")
    p.add_argument("--train-steps", type=int, default=60, help="steps of the tiny training run (60)")
    p.add_argument(
        "--sections", default="midi,prepare,kills,archives,bad-inputs,issues", help="which to run (all)"
    )
    p.add_argument("--seed", type=int, default=0, help="seed of every random choice (0)")
    p.add_argument("--jobs", type=int, default=2, help="bad invocations run at once (2)")
    p.add_argument(
        "--hang-seconds", type=float, default=20.0, help="a MIDI string unanswered this long hangs (20)"
    )
    p.add_argument("--json", type=Path, help="also write the sections as JSON here")
    p.add_argument("--keep", action="store_true", help="keep the work folder (printed) for a look afterwards")
    args = p.parse_args(argv)
    defaults = (100, 30, 1) if args.quick else (2500, 500, 8)
    for name, default in zip(("midi", "prepare", "kills"), defaults, strict=True):
        setattr(args, name, default if getattr(args, name) is None else getattr(args, name))
    return args


def _show(section: Section) -> None:
    print(section.line(), flush=True)
    for note in section.notes:
        print(f"    - {note}", flush=True)
    for example in section.examples:
        print(f"    ! {example}", flush=True)


def main(argv: list[str] | None = None) -> int:
    if argv is None and sys.argv[1:] == ["--midi-worker"]:
        midi_worker()
        return 0
    args = parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="overworld-reliability-"))
    runs: dict[str, Callable[[], Section | list[Section]]] = {
        "midi": lambda: fuzz_midi(args.midi, args.seed, args.hang_seconds, work),
        "prepare": lambda: fuzz_prepare(args.prepare, args.seed, work),
        "kills": lambda: kills(args.kills, args.seed, work, args.train_steps),
        "archives": lambda: archives(work, args.quick),
        "bad-inputs": lambda: bad_inputs(work, args.seed, args.quick, args.jobs),
        "issues": lambda: issue_checks(work, args.seed, args.jobs, args.quick),
    }
    sections = []
    try:
        for name in args.sections.split(","):
            started = time.monotonic()
            result = runs[name]()
            if isinstance(result, Section):
                result.seconds = time.monotonic() - started
            for section in [result] if isinstance(result, Section) else result:
                sections.append(section)
                _show(section)
    finally:
        if args.keep:
            print(f"work folder kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    print()
    print(table(sections))
    if args.json:
        args.json.write_text(json.dumps([{"name": s.name, "noun": s.noun, "count": s.count, "tally": dict(s.tally),
                                          "bad": list(s.bad), "failures": s.failures(), "examples": s.examples,
                                          "notes": s.notes,
                                          "seconds": round(s.seconds, 1)} for s in sections], indent=1))  # fmt: skip
    return 1 if any(s.failures() for s in sections) else 0


if __name__ == "__main__":
    sys.exit(main())
