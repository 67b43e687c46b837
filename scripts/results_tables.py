"""Print the results page's tables (markdown, docs/results.md) from the JSON that scripts/results.sh
writes into docs/results/, so every figure on that page comes from a file a command wrote.

    python scripts/results_tables.py
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path

RESULTS = Path(__file__).resolve().parents[1] / "docs" / "results"
ROWS = (
    "pitch_class_entropy",
    "scale_consistency",
    "polyphony",
    "note_density",
    "pitch_range",
    "inter_onset_interval",
    "groove_consistency",
    "empty_beat_rate",
    "instruments_used",
    "drum_share",
    "bar_self_similarity",
    "exact_repeat_rate",
)


def _load(name: str) -> dict | None:
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def likelihood() -> None:
    print("| model | test split | tokens | notes | bits/token | **bits/note** | accuracy |")
    print("|---|---|---|---|---|---|---|")
    for name, model, split in (
        ("bars", "bundled (bar tokens)", "6 pieces (5 MIDI + 1 module)"),
        ("bars-plain", "the same before its infilling fine-tune", "6 pieces (5 MIDI + 1 module)"),
        ("bigram", "bigram baseline (bar tokens)", "6 pieces (5 MIDI + 1 module)"),
        ("bars-5-midi", "bundled (bar tokens)", "the previous 5 MIDI pieces"),
        ("bigram-5-midi", "bigram baseline (bar tokens)", "the previous 5 MIDI pieces"),
        ("previous/music-transformer", "previous bundled (performance tokens)", "the previous 5 MIDI pieces"),
    ):
        r = _load(name)
        if r:
            print(
                f"| {model} | {split} | {r['tokens']:,} | {r['notes']:,} | {r['bits_per_token']:.3f} | "
                f"**{r['bits_per_note']:.2f}** | {r['accuracy']:.3f} |"
            )


def statistics_table() -> None:
    runs = [(n, _load(n)) for n in ("statistics", "statistics-raw", "previous/statistics")]
    runs = [(n, r["metrics"]) for n, r in runs if r]
    if not runs:
        return
    first = runs[0][1]["metrics"]
    print("| metric | test pieces | " + " | ".join(f"{n} | OA" for n, _ in runs) + " |")
    print("|---|---|" + "---|---|" * len(runs))
    for row in ROWS:
        if row not in first:
            continue
        ref = f"{first[row]['reference_mean']:.3f} ± {first[row]['reference_std']:.3f}"
        cells = []
        for _, r in runs:
            m = r["metrics"].get(row)
            cells.append(
                "- | -"
                if m is None or m["generated_mean"] is None
                else f"{m['generated_mean']:.3f} ± {m['generated_std']:.3f} | {m['overlapping_area']:.3f}"
            )
        print(f"| {row.replace('_', ' ')} | {ref} | " + " | ".join(cells) + " |")
    print(
        "| **mean OA (the nine Yang-Lerch rows)** | | "
        + " | ".join(f" | **{r['mean_overlapping_area']:.3f}**" for _, r in runs)
        + " |"
    )
    for name, r in runs:
        per = r.get("generated", {})
        sims = (
            [v for v in per.get("bar_self_similarity", []) if v is not None] if isinstance(per, dict) else []
        )
        reps = [v for v in per.get("exact_repeat_rate", []) if v is not None] if isinstance(per, dict) else []
        if sims:
            print(
                f"\n{name}: median bar self-similarity {statistics.median(sims):.3f}, median exact repeats "
                f"{statistics.median(reps):.3f}, pieces with an exact repeat {sum(v > 0 for v in reps)} of {len(reps)}"
            )


def infilling() -> None:
    for name, model in (("infill", "bundled"), ("infill-plain", "before the infilling fine-tune")):
        r = _load(name)
        if r:
            print(
                f"infill ({model}): {r['gaps']} gaps of {r['gap_bars']} bars in {r['pieces']} pieces, {r['notes']:,} "
                f"notes: past only {r['bits_per_note_past_only']:.3f}, past and future "
                f"{r['bits_per_note_past_and_future']:.3f} bits/note ({r['reduction']:.1%} lower)"
            )


def copying() -> None:
    for name in ("copying", "previous/copying"):
        r = _load(name)
        if r:
            c = r["copying"]
            print(
                f"{name}: longest copied run {c['longest_run']} notes ({c['ngram']}-note windows), "
                f"4-bar spans found {c['span_fraction']:.3f}"
            )
    r = _load("copy-test")
    if r:
        print(f"copy test: {json.dumps({k: v for k, v in r.items() if k != 'pieces'})[:400]}")


if __name__ == "__main__":
    likelihood()
    print()
    statistics_table()
    print()
    infilling()
    print()
    copying()
