"""CPU threads for sampling: torch's default (a thread per core) vs overworld's choice, idle and busy.

Claim checked, side by side in one run: ``overworld compose --bars 16 --seed 2`` with the other cores busy
(processes running ``while True: pass``) is at least 4x faster with overworld's thread choice (one thread
for batch-1 sampling of the bundled model) than with torch's default, and not slower on an idle machine;
``overworld generate --bars 16 --seed 2`` is timed the same way. "Before" forces the old behaviour with
``OVERWORLD_THREADS=<cores>``; ``OMP_NUM_THREADS`` is removed from every run's environment. Each row gives
the load average (1 min) when it started; other programs on the machine count as load too.

    python benchmarks/bench_threads.py                      # compose and generate, 16 bars
    python benchmarks/bench_threads.py --batches 1,16,64    # and generate --num B at 1 thread vs every core
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

CORES = os.cpu_count() or 1


@contextlib.contextmanager
def busy(burners: int) -> Iterator[None]:
    """``burners`` processes spinning on a core each while the block runs."""
    procs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(burners)]
    try:
        time.sleep(0.5 if procs else 0)  # let them reach the scheduler
        yield
    finally:
        for p in procs:
            p.kill()
            p.wait()


def timed(verb_args: list[str], threads: str | None, tmp: Path) -> tuple[float, str]:
    """Seconds for one ``overworld`` command (a fresh process, as a user runs it, writing into a new folder
    under ``tmp``), and a hash of the MIDI files it wrote."""
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "OVERWORLD_THREADS")}
    if threads is not None:
        env["OVERWORLD_THREADS"] = threads
    out = Path(tempfile.mkdtemp(dir=tmp))
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "overworld", *verb_args, "--out", str(out)],
                          env=env, capture_output=True, text=True)  # fmt: skip
    seconds = time.perf_counter() - start
    if done.returncode:
        raise SystemExit(f"overworld {' '.join(verb_args)} failed:\n{done.stderr}")
    files = sorted(out.rglob("*.mid"))
    return seconds, hashlib.sha256(b"".join(f.read_bytes() for f in files)).hexdigest()[:12]


def row(name: str, load: str, before: tuple[float, str], after: tuple[float, str]) -> None:
    same = "yes" if before[1] == after[1] else "no"
    print(f"{name:<34}{load:>7}{before[0]:>10.1f}{after[0]:>10.1f}{before[0] / after[0]:>9.1f}x{same:>7}",
          flush=True)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=16, help="bars per piece (default: 16)")
    parser.add_argument("--seed", type=int, default=2)
    parser.add_argument("--burners", type=int, default=max(1, CORES - 1),
                        help="busy processes for the busy rows (default: cores - 1)")  # fmt: skip
    parser.add_argument(
        "--batches", default="", help="also generate --num B for these B, 1 thread vs every core"
    )
    args = parser.parse_args()
    piece = ["--bars", str(args.bars), "--seed", str(args.seed)]
    verbs = {"compose": ["compose", *piece], "generate": ["generate", *piece]}
    print(f"{CORES} cores; before: OVERWORLD_THREADS={CORES} (torch's default), after: overworld's choice; "
          f"busy: {args.burners} process(es) running `while True: pass`")  # fmt: skip
    print("uptime:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
    print(f"{'run':<34}{'load':>7}{'before s':>10}{'after s':>10}{'speed-up':>10}{'same':>7}")
    with tempfile.TemporaryDirectory(prefix="bench_threads_") as name:
        tmp = Path(name)
        for state, burners in (("idle", 0), ("busy", args.burners)):
            for name, verb_args in verbs.items():
                with busy(burners):
                    load = f"{os.getloadavg()[0]:.2f}"
                    before = timed(verb_args, str(CORES), tmp)
                    after = timed(verb_args, None, tmp)
                row(f"{name} {args.bars} bars, {state}", load, before, after)
        for b in [int(x) for x in args.batches.split(",") if x.strip()]:
            load = f"{os.getloadavg()[0]:.2f}"
            verb_args = ["generate", *piece, "--num", str(b)]
            many, one = timed(verb_args, str(CORES), tmp), timed(verb_args, "1", tmp)
            print(f"{f'generate --num {b}: {CORES} vs 1 thread':<34}{load:>7}{many[0]:>10.1f}{one[0]:>10.1f}"
                  f"{many[0] / one[0]:>9.1f}x")  # fmt: skip
    print("uptime:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())


if __name__ == "__main__":
    main()
