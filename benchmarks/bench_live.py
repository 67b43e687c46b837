"""Live music: how far ahead of playback composition stays, and how soon an intensity change is heard.

The claims checked: on this 2-core CPU, ``overworld play`` with the bundled model keeps at least 2 bars
composed ahead of playback at every bar line for ``--minutes`` of real-time playback, and an intensity
change is heard at the next bar line. Bars are composed at the full arrangement and the intensity is
applied as each bar is handed out (vertical layering, :mod:`overworld.live`), so changes cost nothing
ahead; when composing falls behind, the last bars loop (fallback bars, counted).

The stream plays into a WAV file sink in real-time pacing (each bar taken ``--lead`` seconds before its
bar line on the wall clock, as a sound card's buffer would), while a thread changes the intensity between
0.2 and 0.8 every ``--change-every`` seconds at a random moment in the bar. First, the composition speed
alone: ``--fast-bars`` bars composed back to back (seconds per bar against the bar's length). The 1-minute
load is printed at the start and end, and sampled every 10 s while it plays.

    OMP_NUM_THREADS=1 python benchmarks/bench_live.py [--minutes 10] [--bpm 120] [--change-every 20] [--ahead 6]
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


def speed(model, config, bars: int, seed: int) -> tuple[float, float]:
    """Wall and CPU seconds one bar takes to compose, over ``bars`` bars composed back to back."""
    from overworld.live import LiveMusic

    with LiveMusic(model, config, seed=seed) as stream:
        stream.next()  # the line-up and the first bar
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


def sample_load(loads: list[float], stop: threading.Event) -> None:
    while not stop.wait(10.0):
        loads.append(os.getloadavg()[0])


class TimedSink:
    """A sink that times each write (rendering the bar's audio)."""

    def __init__(self, sink) -> None:
        self.sink, self.seconds = sink, []

    def write(self, bar) -> None:
        began = time.monotonic()
        self.sink.write(bar)
        self.seconds.append(time.monotonic() - began)

    def close(self, ok: bool = True) -> None:
        self.sink.close(ok)


def summary(report, stats, config, lead: float, sink: TimedSink, loads: list[float]) -> list[str]:
    """The figures, one line each."""
    ahead = report.ahead[1:] or [0]
    on_time, counted = report.on_time()
    heard = [c for c in report.changes if c.latency is not None]
    waits = sorted(c.latency for c in heard) or [0.0]
    wall = sorted(w for w, _ in stats.timings)
    return [
        f"played {report.bars} bars ({report.bars * config.bar_seconds / 60:.1f} min of music) in "
        f"{report.wall_seconds / 60:.1f} min, {config.ahead} bars kept composed ahead",
        f"bars composed ahead at each bar line: min {min(ahead)}, median {statistics.median(ahead):g}, mean "
        f"{statistics.mean(ahead):.2f}; bar lines with fewer than 2: {sum(a < 2 for a in ahead)} of {len(ahead)}",
        f"late bars: {report.late}; fallback bars (the last bars looped, none composed in time): {report.fallbacks}",
        f"intensity changes heard at the next bar line: {on_time} of {counted} ({len(report.changes)} made; "
        f"{report.too_late()} came in the {lead:g} s lead before a bar line, after that bar was handed to the sink)",
        f"latency from a change to the first bar at its level: min {waits[0]:.2f} s, median "
        f"{statistics.median(waits):.2f} s, max {waits[-1]:.2f} s (a bar is {config.bar_seconds:.2f} s)",
        f"composing while playing: {stats.mean_wall:.2f} s a bar (p95 {wall[int(0.95 * (len(wall) - 1))]:.2f}, max "
        f"{wall[-1]:.2f}), {stats.mean_cpu:.2f} s of it on the CPU: {config.bar_seconds / stats.mean_wall:.2f}x "
        f"real time; the sink's write (audio render) {statistics.mean(sink.seconds) * 1000:.0f} ms a bar (max "
        f"{max(sink.seconds) * 1000:.0f} ms)",
        f"1-minute load while playing: min {min(loads, default=0):.2f}, mean "
        f"{statistics.mean(loads or [0]):.2f}, max {max(loads, default=0):.2f} ({len(loads)} samples)",
    ]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="default")
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--bpm", type=float, default=120.0)
    parser.add_argument("--ahead", type=int, default=6, help="bars kept composed ahead (LiveConfig.ahead)")
    parser.add_argument("--lead", type=float, default=0.1, help="seconds before its bar line a bar is taken")
    parser.add_argument("--change-every", type=float, default=20.0, help="seconds between intensity changes")
    parser.add_argument("--fast-bars", type=int, default=8)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    from types import SimpleNamespace

    from overworld.live import LiveConfig, LiveMusic
    from overworld.live.player import Controls, play
    from overworld.live.sinks import BarAudio, WavSink
    from overworld.models import load_model

    print(f"start: {load()}; OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}", flush=True)
    model = load_model(args.model, device="cpu")
    config = LiveConfig(bpm=args.bpm, key="D minor", intensity=0.2, ahead=args.ahead)
    per_bar, cpu = speed(model, config, args.fast_bars, args.seed)
    print(f"compose speed at the full arrangement (intensity {config.full:g}): {per_bar:.2f} s a bar ({cpu:.2f} s "
          f"of CPU) against {config.bar_seconds:.2f} s of music ({config.bar_seconds / per_bar:.1f}x real time) "
          f"over {args.fast_bars} bars; {load()}", flush=True)  # fmt: skip
    stop, loads = threading.Event(), [os.getloadavg()[0]]
    with tempfile.TemporaryDirectory() as tmp, LiveMusic(model, config, seed=args.seed) as stream:
        began = time.monotonic()
        stream.wait_ready(config.ahead)
        print(
            f"{config.ahead} bars composed ahead after {time.monotonic() - began:.1f} s; playing", flush=True
        )
        controls = Controls(stream)
        for target, extra in (
            (changer, (controls, stop, args.change_every, args.seed)),
            (sample_load, (loads, stop)),
        ):
            threading.Thread(target=target, args=extra, daemon=True).start()
        sink = TimedSink(WavSink(Path(tmp) / "live.wav", BarAudio("chiptune", 22050)))
        report = play(stream, sink, minutes=args.minutes, realtime=True, lead=args.lead, controls=controls)
        stop.set()
        live = stream.stats()
    wall, cpu_s = zip(*stream.timings)
    stats = SimpleNamespace(
        timings=list(stream.timings), mean_wall=statistics.mean(wall), mean_cpu=statistics.mean(cpu_s)
    )
    assert live.fallbacks == report.fallbacks
    for line in summary(report, stats, config, args.lead, sink, loads):
        print(line, flush=True)
    print(f"end: {load()}")


if __name__ == "__main__":
    main()
