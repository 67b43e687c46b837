"""The 4-bar window statistics' medians and bar self-similarity of each split of a prepared folder, side by
side: how far the few held-out pieces lie from the training music the model learns.

    python3 scripts/split_medians.py data/prepared-game-bars
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from overworld.evaluation.realism import STATISTICS, window_statistics
from overworld.evaluation.structure import structure_of
from overworld.midi import load_score

SPLITS = ("train", "validation", "test")


def split_figures(prepared: Path, split: str) -> tuple[int, np.ndarray, np.ndarray]:
    """How many pieces, the medians of their windows' statistics, and the quartiles of their bar
    self-similarity."""
    files = json.loads((prepared / "manifest.json").read_text())["files"]
    scores = [load_score(f["path"], ttype="tick") for f in files if f["split"] == split]
    windows = np.concatenate([w for w in map(window_statistics, scores) if len(w)])
    similarity = [s for s in (structure_of(x).self_similarity for x in scores) if s is not None]
    return len(scores), np.median(windows, axis=0), np.percentile(similarity, [25, 50, 75])


def main() -> None:
    prepared = Path(sys.argv[1] if len(sys.argv) > 1 else "data/prepared-game-bars")
    rows = {split: split_figures(prepared, split) for split in SPLITS}
    print("| per 4-bar window (median) | " + " | ".join(f"{s} ({rows[s][0]} pieces)" for s in SPLITS) + " |")
    print("|---|" + "---|" * len(SPLITS))
    for i, name in enumerate(STATISTICS):
        print(f"| {name} | " + " | ".join(f"{rows[s][1][i]:.2f}" for s in SPLITS) + " |")
    quartiles = " | ".join("{:.2f} / {:.2f} / {:.2f}".format(*rows[s][2]) for s in SPLITS)
    print(f"| bar self-similarity, quartiles | {quartiles} |")


if __name__ == "__main__":
    main()
