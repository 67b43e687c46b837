"""Section 3 of scripts/reliability.py: SIGKILLs at random moments of a tiny ``overworld train`` run,
each followed by ``--resume`` to the end and compared bitwise with an uninterrupted run. Not run on its own."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from reliability_common import ENV, TINY, Section, prepared_folder, run_cli

# -------------------------------------------------------------------------------- 3. kills in training


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
    section = Section(
        "training kills",
        "SIGKILLs during `overworld train`, each then `--resume`",
        bad=("different", "unresumable"),
    )
    rng, data = random.Random(seed + 2), prepared_folder(work / "kill-data")
    argv = [
        "train",
        "--data",
        str(data),
        "--steps",
        str(steps),
        "--save-every",
        "1",
        "--eval-every",
        "10",
        "--log-every",
        "1",
        "--seed",
        "1",
        *TINY,
    ]
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
    proc = subprocess.Popen(
        [sys.executable, "-m", "overworld", *argv, "--out", str(run)],
        cwd=work,
        env=ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
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
