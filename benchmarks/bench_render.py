"""Chiptune synth speed as a multiple of real time, on a 4-minute multi-instrument piece.

Target: at least 50x real time on a 2-core CPU. The piece is built in code (deterministic): lead,
harmony, bass and drums at 150 bpm for 240 s; the longest OpenMSX file is measured too when installed.

    python benchmarks/bench_render.py [--repeat 3] [--sample-rate 44100]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import symusic


def piece(seconds: float = 240.0, bpm: float = 150.0):
    rng = np.random.default_rng(0)
    beat = 60 / bpm
    score = symusic.Score(480, ttype="second")
    parts = {
        "lead": (80, False),
        "harmony": (81, False),
        "pad": (48, False),
        "bass": (33, False),
        "drums": (0, True),
    }
    for name, (program, drum) in parts.items():
        track = symusic.Track(name=name, program=program, is_drum=drum, ttype="second")
        t = 0.0
        while t < seconds:
            if drum:
                for k, key in enumerate((36, 42, 38, 42)):
                    track.notes.append(symusic.Note(t + k * beat / 2, 0.1, key, 100, "second"))
                t += 2 * beat
                continue
            step = {"lead": beat / 2, "harmony": beat, "pad": 4 * beat, "bass": beat}[name]
            base = {"lead": 72, "harmony": 64, "pad": 55, "bass": 40}[name]
            track.notes.append(symusic.Note(t, step * 0.9, base + int(rng.integers(0, 12)), 90, "second"))
            t += step
        score.tracks.append(track)
    return score


def measure(score, sample_rate: int, repeat: int) -> tuple[float, float, int]:
    from overworld.render.chiptune import synthesize

    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        audio, report = synthesize(score, sample_rate)
        best = min(best, time.perf_counter() - start)
    return len(audio) / sample_rate, best, report.notes


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--sample-rate", type=int, default=44100)
    args = parser.parse_args()
    pieces = {"built 4-minute piece (5 parts)": piece()}
    openmsx = sorted(Path("/usr/share/games/openttd/baseset/openmsx").glob("*.mid"))
    if openmsx:
        from overworld.midi import load_score

        longest = max(openmsx, key=lambda p: load_score(p).end())
        pieces[f"openmsx {longest.name}"] = load_score(longest)
    for name, score in pieces.items():
        audio_s, wall_s, notes = measure(score, args.sample_rate, args.repeat)
        print(f"{name}: {audio_s:.1f} s of audio, {notes} notes, rendered in {wall_s:.2f} s "
              f"-> {audio_s / wall_s:.1f}x real time (target >= 50x) at {args.sample_rate} Hz")  # fmt: skip


if __name__ == "__main__":
    main()
