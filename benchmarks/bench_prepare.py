"""prepare throughput: the seed project's mido loop vs MidiTok REMI on symusic vs ``overworld prepare``.

Claim checked, side by side in one process on the same files: ``overworld prepare`` with its default
bar tokens (isolated workers that read, hash, parse and tokenize, then uint16 shards) is at least 100x
faster in files/s than the seed project's way (mido, message by message in Python, building performance
events) and at least 10x faster than ``miditok.REMI().encode(symusic.Score(path))``. The baselines run in
this process, one file after another, like the seed project did; prepare uses its default worker count
(one per core). Wall-clock seconds make the claim; CPU seconds (this process, and prepare's workers) are
printed beside them, with the load average, because other programs on the machine slow the baselines'
one process and prepare's workers differently.

    python benchmarks/bench_prepare.py                     # freedoom WAD lumps + openmsx, repeated 20x
    python benchmarks/bench_prepare.py --tokenizer performance
    python benchmarks/bench_prepare.py --folder DIR --repeat 1
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import tempfile
import time
from pathlib import Path

WADS = sorted(Path("/usr/share/games/doom").glob("*.wad"))
OPENMSX = Path("/usr/share/games/openttd/baseset/openmsx")


def collect(folder: Path | None, repeat: int, work: Path) -> list[Path]:
    """Copy the benchmark files into ``work`` ``repeat`` times (distinct names, same bytes)."""
    originals: list[tuple[str, bytes]] = []
    if folder is not None:
        originals += [(p.name, p.read_bytes()) for p in sorted(folder.rglob("*.mid*"))]
    else:
        from overworld.midi.wad import read_music_lumps

        for wad in WADS:
            originals += [(f"{wad.stem}_{name}.mid", body) for name, body in read_music_lumps(wad)]
        originals += [(p.name, p.read_bytes()) for p in sorted(OPENMSX.glob("*.mid"))]
    work.mkdir(parents=True, exist_ok=True)
    paths = []
    for r in range(repeat):
        for name, body in originals:
            path = work / f"r{r:03d}_{name}"
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


def timed_loop(paths: list[Path], fn) -> tuple[float, float, int]:
    """Wall and CPU seconds for ``fn`` over every path, and how many raised (a failing file counts as
    done)."""
    failed = 0
    start, cpu = time.perf_counter(), cpu_seconds()
    for path in paths:
        try:
            fn(path)
        except Exception:
            failed += 1
    return time.perf_counter() - start, cpu_seconds() - cpu, failed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--folder", type=Path, help="benchmark these MIDI files instead of freedoom + openmsx"
    )
    parser.add_argument("--repeat", type=int, default=20, help="copies of every file (a bigger set)")
    parser.add_argument(
        "--tokenizer", default="bars", help="prepare's tokenizer (default: bars, as prepare's)"
    )
    parser.add_argument("--workers", type=int, default=0, help="prepare workers (0: one per core)")
    args = parser.parse_args()

    import miditok
    import symusic

    from overworld.config import DataConfig
    from overworld.data.prepare import prepare

    work = Path(tempfile.mkdtemp(prefix="bench_prepare_"))
    try:
        paths = collect(args.folder, args.repeat, work / "in")
        n = len(paths)
        print(f"{n} files ({args.repeat}x repeated), {sum(p.stat().st_size for p in paths) / 1e6:.1f} MB")

        print(
            f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} at the start; {os.cpu_count()} cores"
        )
        seed = timed_loop(paths, seed_way)
        remi = miditok.REMI()
        remi_row = timed_loop(paths, lambda p: remi.encode(symusic.Score(str(p))))
        config = DataConfig(tokenizer=args.tokenizer, workers=args.workers)
        start, cpu = time.perf_counter(), cpu_seconds()
        report = prepare([work / "in"], work / "out", config)
        ours = (time.perf_counter() - start, cpu_seconds() - cpu, report.files_failed)

        rows = [("seed (mido loop)", seed), ("MidiTok REMI on symusic", remi_row),
                (f"overworld prepare ({args.tokenizer})", ours)]  # fmt: skip
        print(f"{'method':<34}{'seconds':>10}{'files/s':>12}{'CPU s':>10}{'failed':>8}")
        for name, (secs, cpu_s, fail) in rows:
            print(f"{name:<34}{secs:>10.2f}{n / secs:>12.1f}{cpu_s:>10.2f}{fail:>8}")
        print(
            f"prepare vs seed:  {seed[0] / ours[0]:.1f}x (target >= 100x); in CPU seconds {seed[1] / ours[1]:.1f}x"
        )
        print(
            f"prepare vs REMI:  {remi_row[0] / ours[0]:.1f}x (target >= 10x); in CPU seconds {remi_row[1] / ours[1]:.1f}x"
        )
        print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} at the end")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
