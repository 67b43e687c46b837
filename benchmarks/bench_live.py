"""Live music: how far ahead of playback composition stays, and how soon an intensity change is heard.

The claims checked: on this 2-core CPU, ``overworld play`` with the bundled model keeps at least 2 bars
composed ahead of playback at every bar line (no bar late) for ``--minutes`` of real-time playback, and an
intensity change is heard in the bar after the one playing. The stream plays into a WAV file sink in
real-time pacing (each bar taken 0.25 s before its bar line on the wall clock, as a sound card would),
while a thread changes the intensity between 0.2 and 0.8 every ``--change-every`` seconds at a random
moment in the bar. First, the composition speed alone: ``--fast-bars`` bars composed as fast as possible
(seconds per bar against the bar's length). The machine's load is printed before and after.

    OMP_NUM_THREADS=1 python benchmarks/bench_live.py [--minutes 10] [--bpm 120] [--change-every 20]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import threading
import time
from pathlib import Path


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f}"


def speed(model, config, bars: int, seed: int) -> float:
    """Seconds one bar takes to compose, over ``bars`` bars composed back to back."""
    from overworld.live import LiveMusic

    with LiveMusic(model, config, seed=seed) as stream:
        stream.next()  # the line-up audition and the first bar
        began = time.monotonic()
        for _ in range(bars):
            stream.next()
        cpu = statistics.mean(c for _, c in list(stream.timings)[1 : bars + 1])
        return (time.monotonic() - began) / bars, cpu


def changer(controls, stop: threading.Event, every: float, seed: int) -> None:
    rng, level = random.Random(seed), 0.8
    while not stop.wait(every * rng.uniform(0.75, 1.25)):
        controls.set_intensity(level)
        level = 1.0 - level


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="default")
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--bpm", type=float, default=120.0)
    parser.add_argument("--change-every", type=float, default=20.0, help="seconds between intensity changes")
    parser.add_argument("--fast-bars", type=int, default=8)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    from overworld.live import LiveConfig, LiveMusic
    from overworld.live.player import Controls, play
    from overworld.live.sinks import BarAudio, WavSink
    from overworld.models import load_model

    print(f"start: {load()}; OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}", flush=True)
    model = load_model(args.model, device="cpu")
    for level in (0.2, 0.8):
        config = LiveConfig(bpm=args.bpm, key="D minor", intensity=level)
        per_bar, cpu = speed(model, config, args.fast_bars, args.seed)
        print(f"compose speed at intensity {level}: {per_bar:.2f} s a bar ({cpu:.2f} s of CPU) against "
              f"{config.bar_seconds:.2f} s of music ({config.bar_seconds / per_bar:.1f}x real time) over "
              f"{args.fast_bars} bars; {load()}", flush=True)  # fmt: skip
    config = LiveConfig(bpm=args.bpm, key="D minor", intensity=0.2)
    stop = threading.Event()
    with tempfile.TemporaryDirectory() as tmp, LiveMusic(model, config, seed=args.seed) as stream:
        stream.wait_ready(2)
        controls = Controls(stream)
        threading.Thread(
            target=changer, args=(controls, stop, args.change_every, args.seed), daemon=True
        ).start()
        sink = WavSink(Path(tmp) / "live.wav", BarAudio("chiptune", 22050))
        report = play(stream, sink, minutes=args.minutes, realtime=True, controls=controls)
        stop.set()
    ahead = report.ahead[1:]
    changed = {c.playing for c in report.changes}
    steady = [a for i, a in enumerate(report.ahead) if i and not any(0 <= i - p <= 2 for p in changed)]
    heard = [c for c in report.changes if c.latency is not None]
    waits = [c.latency for c in heard]
    bars_after = [c.heard_bar - c.playing for c in heard]
    print(f"played {report.bars} bars ({report.bars * config.bar_seconds / 60:.1f} min of music) in "
          f"{report.wall_seconds / 60:.1f} min; composed ahead at each bar line: min {min(ahead)}, mean "
          f"{statistics.mean(ahead):.2f}, bar lines with < 2 ahead: {sum(a < 2 for a in ahead)}; late bars: "
          f"{report.late}; at the bar lines more than 2 bars after a change ({len(steady)}): min "
          f"{min(steady, default=0)}, mean {statistics.mean(steady or [0]):.2f}", flush=True)  # fmt: skip
    if waits:
        print(f"{len(report.changes)} intensity changes, {len(heard)} heard: latency to the first bar at the new "
              f"level min {min(waits):.2f} s, median {statistics.median(waits):.2f} s, max {max(waits):.2f} s "
              f"(bar {config.bar_seconds:.2f} s); heard in the next bar: {bars_after.count(1)}, the one "
              f"after: {bars_after.count(2)}, later: {sum(b > 2 for b in bars_after)}")  # fmt: skip
    wall, cpu = zip(*stream.timings) if stream.timings else ((0.0,), (0.0,))
    print(f"while playing: {statistics.mean(wall):.2f} s a bar to compose, {statistics.mean(cpu):.2f} s of it on "
          f"the CPU (the rest waiting for a core)")  # fmt: skip
    print(f"end: {load()}")


if __name__ == "__main__":
    main()
