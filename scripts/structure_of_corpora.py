"""The median bar self-similarity and exact repeat rate of folders of MIDI files (per piece: the mean over
its first 16 bars; per folder: the median over its pieces; see overworld.evaluation.structure).

    python scripts/structure_of_corpora.py /tmp/freedoom /usr/share/games/openttd/baseset/openmsx \\
        docs/results/generated
    python scripts/structure_of_corpora.py --min-grid-fit 0 /tmp/freedoom   # measure every piece
"""

from __future__ import annotations

import argparse
import math

from overworld.evaluation.structure import BARS, MIN_GRID_FIT, structure_of_folder, summarize


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("folders", nargs="+", help="folders of MIDI files (searched recursively)")
    parser.add_argument("--bars", type=int, default=BARS, help=f"bars from the first note ({BARS})")
    parser.add_argument(
        "--min-grid-fit",
        type=float,
        default=MIN_GRID_FIT,
        help=f"fraction of notes on the beat grid under which a piece has no value ({MIN_GRID_FIT})",
    )
    parser.add_argument("--pieces", action="store_true", help="also list every piece's figures")
    args = parser.parse_args()
    print(f"{'folder':<48} {'pieces':>6} {'measured':>8} {'self-similarity':>15} {'exact repeats':>13}")
    for folder in args.folders:
        results, skipped = structure_of_folder(folder, args.bars, min_grid_fit=args.min_grid_fit)
        summary = summarize([s for _, s in results])
        sim, exact = summary.median_self_similarity, summary.median_exact_repeats
        sim_text = f"{sim:.3f}" if math.isfinite(sim) else "-"
        exact_text = f"{exact:.1%}" if math.isfinite(exact) else "-"
        print(f"{folder[-48:]:<48} {summary.pieces:>6} {summary.measured:>8} {sim_text:>15} {exact_text:>13}")
        for reason, count in summary.unmeasured.items():
            print(f"    {count} of {summary.pieces}: {reason}")
        for path, reason in skipped:
            print(f"    unreadable {path.name}: {reason}")
        if args.pieces:
            for path, s in results:
                figures = (
                    f"{s.self_similarity:.3f} {s.exact_repeats:.1%}"
                    if s.self_similarity is not None
                    else s.reason
                )
                print(f"    {path.name:<40} {s.bars:>3} bars, grid fit {s.grid_fit:.2f}: {figures}")


if __name__ == "__main__":
    main()
