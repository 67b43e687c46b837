"""Infilling speed: seconds to rewrite 4 bars in the middle of a 32-bar piece on this machine.

The claim checked: with the bundled (bar-token) model, ``overworld infill FILE --bars 15-18`` on a 32-bar
piece takes a few seconds on a 2-core CPU, so the studio and compose --loop stay interactive. Each piece
is timed end to end as the library call does it (encode, context, sampling, merge), after one warm-up,
for the first ``--pieces`` 32-bar-or-longer files of Debian's OpenMSX soundtrack (cut to 32 bars), at
batch 1 and ``--num`` takes.

    python benchmarks/bench_infill.py [--model DIR] [--pieces 3] [--num 4]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

OPENMSX = Path("/usr/share/games/openttd/baseset/openmsx")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="default", help="a bar-token model (default: the bundled one)")
    parser.add_argument("--pieces", type=int, default=3)
    parser.add_argument("--num", type=int, default=4, help="takes in one batch, timed after batch 1")
    args = parser.parse_args()
    from overworld.generation.infill import infill
    from overworld.midi import load_score
    from overworld.models import load_model
    from overworld.tokenizers.bars import BarTokenizer

    model = load_model(args.model)
    tok = BarTokenizer()
    scores = []
    for path in sorted(OPENMSX.glob("*.mid")):
        score = load_score(path, ttype="tick")
        lines = tok.bar_ticks(score)
        if len(lines) > 32:
            scores.append((path.name, score.clip(0, int(lines[32]), clip_end=True)))
        if len(scores) == args.pieces:
            break
    print(
        f"{args.model}: {model.tokenizer.name} tokens; torch {torch.__version__}, {torch.get_num_threads()} threads"
    )
    infill(model, scores[0][1], (15, 18), seed=0)  # warm-up
    print(f"{'piece':<34}{'batch':>6}{'seconds':>9}{'new notes':>11}")
    for name, score in scores:
        for num in (1, args.num):
            start = time.perf_counter()
            takes = infill(model, score, (15, 18), seed=1, num=num)
            took = time.perf_counter() - start
            print(f"{name:<34}{num:>6}{took:>9.2f}{sum(t.notes for t in takes) / num:>11.0f}", flush=True)


if __name__ == "__main__":
    main()
