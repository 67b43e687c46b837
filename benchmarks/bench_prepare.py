"""prepare throughput per file: the seed project's mido loop vs MidiTok REMI on symusic vs ``overworld prepare``.

Claim checked, side by side in one process on the same files: per file, ``overworld prepare`` with its
default bar tokens (isolated workers that read, hash, parse and tokenize, then uint16 shards) is at least
100x faster than the seed project's way (mido, message by message in Python, building performance events)
and at least 10x faster than ``miditok.REMI().encode(symusic.Score(path))``.

Per file means over many extra files, so that start-up cancels: prepare runs once on the base set (one
copy of every file) and once on the base set and ``--extra`` more copies; its cost per file is the
difference over the extra files. The baselines run in this process, one file after another, like the
seed project did, over ``--seed-copies`` copies (same bytes); they have no start-up to cancel. prepare uses
its default worker count (one per core).

The machine may be shared, and other programs slow the baselines' one process and prepare's workers
differently, so every round runs all the ways one after another, ``--rounds`` rounds, and the ratios are
of the medians. Wall-clock seconds make the claim; CPU seconds (this process, and prepare's workers) are
printed beside them, with the load average at every round. Whole runs (prepare's start-up included) are
printed too. Where other sessions keep the cores busy, Linux's autogroup scheduling gives this session
one share of CPU however many processes it runs, so prepare's workers get about the CPU the baselines'
one process gets and the wall ratio falls to about the CPU ratio; on an idle machine the workers can use
every core, and the wall ratio can rise up to the CPU ratio times the number of cores.

    python benchmarks/bench_prepare.py                     # freedoom WAD lumps + openmsx (98 files)
    python benchmarks/bench_prepare.py --tokenizer performance
    python benchmarks/bench_prepare.py --folder DIR --extra 4 --rounds 5
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

WADS = sorted(Path("/usr/share/games/doom").glob("*.wad"))
OPENMSX = Path("/usr/share/games/openttd/baseset/openmsx")


def originals_of(folder: Path | None) -> list[tuple[str, bytes]]:
    """(name, bytes) of the benchmark files: ``folder``'s MIDI files, or Freedoom's music lumps and
    OpenMSX."""
    if folder is not None:
        return [(p.name, p.read_bytes()) for p in sorted(folder.rglob("*.mid*"))]
    from overworld.midi.wad import read_music_lumps

    originals = []
    for wad in WADS:
        originals += [(f"{wad.stem}_{name}.mid", body) for name, body in read_music_lumps(wad)]
    return originals + [(p.name, p.read_bytes()) for p in sorted(OPENMSX.glob("*.mid"))]


def write_copies(originals: list[tuple[str, bytes]], copies: range, folder: Path) -> list[Path]:
    """Write copy ``r`` of every original into ``folder`` for each ``r`` in ``copies`` (distinct names,
    same bytes)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for r in copies:
        for name, body in originals:
            path = folder / f"r{r:03d}_{name}"
            path.write_bytes(body)
            paths.append(path)
    return paths


def seed_way(path: Path) -> list[tuple[str, int]]:
    """The seed project's tokenization: mido, message by message, performance events in Python."""
    import mido

    midi = mido.MidiFile(str(path))
    events: list[tuple[str, int]] = []
    pending = 0.0
    for msg in midi:  # merged tracks, times in seconds through the tempo map
        pending += msg.time
        if msg.type not in ("note_on", "note_off"):
            continue
        steps = round(pending * 100)
        while steps > 0:
            events.append(("time_shift", min(steps, 100)))
            steps -= 100
        pending = 0.0
        if msg.type == "note_on" and msg.velocity > 0:
            events.append(("velocity", msg.velocity // 4))
            events.append(("note_on", msg.note))
        else:
            events.append(("note_off", msg.note))
    return events


def cpu_seconds() -> float:
    """CPU seconds used so far by this process and by its children that have ended (prepare's workers)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def timed(fn: Callable[[], int]) -> tuple[float, float, int]:
    """Wall and CPU seconds of ``fn()``, and what it returned (files that failed)."""
    start, cpu = time.perf_counter(), cpu_seconds()
    failed = fn()
    return time.perf_counter() - start, cpu_seconds() - cpu, failed


def each_file(paths: list[Path], fn: Callable[[Path], object]) -> Callable[[], int]:
    """A loop of ``fn`` over ``paths`` that counts the files that raised (a failing file counts as done)."""

    def loop() -> int:
        failed = 0
        for path in paths:
            try:
                fn(path)
            except Exception:
                failed += 1
        return failed

    return loop


def run_prepare(folder: Path, out: Path, config) -> Callable[[], int]:
    from overworld.data.prepare import prepare

    def run() -> int:
        shutil.rmtree(out, ignore_errors=True)
        return prepare([folder], out, config).files_failed

    return run


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def one_round(ways: dict[str, Callable[[], int]], sizes: dict[str, int], k: int) -> dict[str, tuple]:
    """Every way once, one after another: {way: (wall s per file, CPU s per file, failed)}; prepare's
    ``base`` and ``all`` runs give its cost per extra file."""
    print(f"round {k}: load average {load()}")
    got = {name: timed(fn) for name, fn in ways.items()}
    rows = {}
    for name, (wall, cpu, failed) in got.items():
        print(f"  {name:<34}{wall:>9.2f} s{cpu:>9.2f} CPU s  {sizes[name]:>5} files  {failed} failed")
        if not name.startswith("prepare"):
            rows[name] = (wall / sizes[name], cpu / sizes[name], failed)
    (wb, cb, _), (wa, ca, fa) = got["prepare, base set"], got["prepare, base + extra"]
    extra = sizes["prepare, base + extra"] - sizes["prepare, base set"]
    rows["prepare, per extra file"] = ((wa - wb) / extra, (ca - cb) / extra, fa)
    rows["prepare, whole run"] = (
        wa / sizes["prepare, base + extra"],
        ca / sizes["prepare, base + extra"],
        fa,
    )
    return rows


def report(rounds: list[dict[str, tuple]], tokenizer: str) -> None:
    """The medians over rounds of every way, and the ratios the claim is about."""
    med = {name: tuple(statistics.median(r[name][i] for r in rounds) for i in (0, 1)) for name in rounds[0]}
    print(f"\nmedians of {len(rounds)} rounds, per file     {'wall ms':>9}{'files/s':>10}{'CPU ms':>9}")
    for name, (wall, cpu) in med.items():
        print(f"  {name:<38}{wall * 1e3:>9.3f}{1 / wall:>10.1f}{cpu * 1e3:>9.3f}")
    ours, whole = med["prepare, per extra file"], med["prepare, whole run"]
    for name, target in (("seed (mido loop)", 100), ("MidiTok REMI on symusic", 10)):
        if name in med:
            wall, cpu = med[name]
            print(f"prepare ({tokenizer}) vs {name}: {wall / ours[0]:.1f}x per file (target >= {target}x); "
                  f"CPU {cpu / ours[1]:.1f}x; whole runs, start-up included, {wall / whole[0]:.1f}x")  # fmt: skip
            paired = [r[name][0] / r["prepare, per extra file"][0] for r in rounds]  # each round's own ratio
            print(f"  round by round, per file: {' '.join(f'{x:.0f}x' for x in paired)} "
                  f"(median {statistics.median(paired):.1f}x)")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--folder", type=Path, help="benchmark these MIDI files instead of freedoom + openmsx"
    )
    parser.add_argument("--extra", type=int, default=10, help="extra copies of every file for prepare (10)")
    parser.add_argument("--seed-copies", type=int, default=2, help="copies the baselines run a round (2)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of every way; medians are reported (3)")
    parser.add_argument(
        "--tokenizer", default="bars", help="prepare's tokenizer (default: bars, as prepare's)"
    )
    parser.add_argument("--workers", type=int, default=0, help="prepare workers (0: one per core)")
    parser.add_argument("--no-remi", action="store_true", help="leave MidiTok REMI out (faster)")
    args = parser.parse_args()

    from overworld.config import DataConfig

    work = Path(tempfile.mkdtemp(prefix="bench_prepare_"))
    try:
        originals = originals_of(args.folder)
        base = write_copies(originals, range(1), work / "all")
        extra = write_copies(originals, range(1, 1 + args.extra), work / "all")
        write_copies(originals, range(1), work / "base")
        for_seed = extra[: len(originals) * args.seed_copies]
        mb = sum(len(body) for _, body in originals) / 1e6
        print(f"{len(originals)} files ({mb:.1f} MB); prepare: {len(base)} and {len(base) + len(extra)} files; "
              f"baselines: {len(for_seed)} files a round; {os.cpu_count()} cores")  # fmt: skip
        import miditok
        import symusic

        remi = miditok.REMI()
        config = DataConfig(tokenizer=args.tokenizer, workers=args.workers)
        ways = {"seed (mido loop)": each_file(for_seed, seed_way)}
        if not args.no_remi:
            ways["MidiTok REMI on symusic"] = each_file(
                for_seed, lambda p: remi.encode(symusic.Score(str(p)))
            )
        ways["prepare, base set"] = run_prepare(work / "base", work / "out", config)
        ways["prepare, base + extra"] = run_prepare(work / "all", work / "out", config)
        sizes = {name: len(for_seed) for name in ways} | {"prepare, base set": len(base),
                                                          "prepare, base + extra": len(base) + len(extra)}  # fmt: skip
        rounds = [one_round(ways, sizes, k) for k in range(1, args.rounds + 1)]
        report(rounds, args.tokenizer)
        print(f"load average {load()} at the end")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
