"""How new parts relate to earlier parts of their instrument: in a prepared split, and in generated pieces.

For every part written anew (not a ``REPEAT``) that has an earlier part of its instrument within 16 bars,
its *best earlier match* is the largest Jaccard index of onsets ``(position, pitch)`` with one of them.
Real game music varies its parts: a phrase answered with another ending, a bass line on the next chord.
The share of new parts whose best match is at least 0.5 is what arrangement plans' variations
(``overworld.tokenizers.bars_vary``) are for:

    python3 scripts/vary_probe.py --prepared data/prepared-game-bars --split train
    python3 scripts/vary_probe.py --model default out/        # MIDI files of generated pieces, encoded
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from overworld.tokenizers.bars_plan import _read_parts, best_earlier


def best_matches(pieces: list[np.ndarray]) -> tuple[np.ndarray, int, int]:
    """The best earlier match of every new part with an earlier part; and how many parts repeat, and
    how many are their instrument's first within 16 bars."""
    best, repeats, first = [], 0, 0
    for ids in pieces:
        bars, notes, _, _ = _read_parts(ids)
        for b, parts in enumerate(bars):
            for inst, k in parts:
                if k > 0:
                    repeats += 1
                    continue
                jaccard, back = best_earlier(notes, b, inst)
                if not back:
                    first += 1
                    continue
                best.append(jaccard)
    return np.asarray(best), repeats, first


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="*", help="folders of MIDI files (generated pieces)")
    parser.add_argument("--prepared", help="a prepared bar-token folder")
    parser.add_argument("--split", default="train")
    parser.add_argument("--model", default="default", help="the bar tokenizer's model, to encode MIDI files")
    args = parser.parse_args()
    sets: dict[str, list[np.ndarray]] = {}
    if args.prepared:
        from overworld.data.shards import read_split

        sets[f"{args.prepared} {args.split}"] = read_split(args.prepared, args.split)
    if args.folders:
        from overworld.midi import load_score
        from overworld.models.storage import load_model

        tokenizer = load_model(args.model).tokenizer
        for folder in args.folders:
            files = sorted(Path(folder).glob("*.mid"))
            sets[folder] = [np.asarray(tokenizer.encode(load_score(f))) for f in files]
    print(
        f"{'pieces':40s} {'repeats':>8s} {'new':>6s} {'first':>6s} {'median':>7s} {'>=0.5':>6s} {'>=0.3':>6s}"
    )
    for name, pieces in sets.items():
        best, repeats, first = best_matches(pieces)
        if not len(best):
            print(f"{name:40s} no new parts with an earlier part")
            continue
        print(f"{name:40s} {repeats:8d} {len(best):6d} {first:6d} {np.median(best):7.2f} "
              f"{np.mean(best >= 0.5):6.2f} {np.mean(best >= 0.3):6.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
