"""Where the bits of held-out infilling gaps go: the parts that come back after their gap (one ``AHEAD k``
token when the future is in the context) against everything else, each scored past-only and with past and
future, on exactly the gaps ``overworld evaluate --infill 4`` scores; and the oracle, the reduction if
those parts cost nothing and nothing else changed: what copying from the future can give at most. Then,
over the same gaps, what the parts written out note by note share with a later part of the same instrument
in the future the context holds (at most 16 bars, as ``AHEAD k``): equal, equal but for velocities, or three
quarters of their onsets and pitches.

    python scripts/infill_breakdown.py runs/bars test validation
"""

from __future__ import annotations

import sys

from overworld.data.shards import read_split
from overworld.evaluation.infill import held_out_gaps, token_bits
from overworld.models import load_model
from overworld.tokenizers.bars import Layout as L
from overworld.tokenizers.bars_infill import bar_starts, part_spans
from overworld.tokenizers.bars_layout import N_REPEATS, _run


def breakdown(model_dir: str, split: str, bars: int = 4) -> str:
    model = load_model(model_dir)
    tokenizer, lm = model.tokenizer, model.model
    pieces = read_split("data/prepared-game-bars", split)
    gaps, _, _ = held_out_gaps(tokenizer, pieces, bars, lm.config.sequence_length)
    ahead = {"past": 0.0, "both": 0.0}
    total = {"past": 0.0, "both": 0.0}
    for g in gaps:
        past = token_bits(lm, tokenizer.bos_id, g.past, g.own)
        both = token_bits(lm, tokenizer.bos_id, g.context, g.gap)
        total["past"] += float(past.sum())
        total["both"] += float(both.sum())
        for (a, b), (c, d) in zip(part_spans(g.own), part_spans(g.gap), strict=True):
            if L.AHEAD <= g.gap[c + 1] < L.SIZE:
                ahead["past"] += float(past[a:b].sum())
                ahead["both"] += float(both[c:d].sum())
    notes = sum(g.notes for g in gaps)
    oracle = 1 - (total["both"] - ahead["both"]) / total["past"]
    return (
        f"{split}: {len(gaps)} gaps, {notes} notes; parts that come back after the gap: "
        f"{ahead['past']:.0f} bits past-only, {ahead['both']:.0f} with the future; everything else: "
        f"{total['past'] - ahead['past']:.0f} -> {total['both'] - ahead['both']:.0f}; in all "
        f"{total['past'] / notes:.3f} -> {total['both'] / notes:.3f} bits/note "
        f"({1 - total['both'] / total['past']:.1%} lower; at most {oracle:.1%} if those parts cost nothing)"
    )


def shared_with_future(model_dir: str, split: str, bars: int = 4) -> str:
    """Notes of the gaps' written-out parts by what they share with a later part (see the docstring)."""
    model = load_model(model_dir)
    counts = {"written": 0, "equal": 0, "equal but velocities": 0, "3/4 of onsets and pitches": 0}
    pieces = read_split("data/prepared-game-bars", split)
    gaps, _, _ = held_out_gaps(model.tokenizer, pieces, bars, model.model.config.sequence_length)
    for g in gaps:
        future = g.context[g.context.index(L.FILL) + 1 : -1]
        parts = _run([*g.past, *g.own, *future])[1]  # the past, the gap, then the piece's later bars
        first = len(bar_starts(g.past))
        end = first + bars
        ahead = min(len(bar_starts(future)), N_REPEATS)
        for (b, inst), part in parts.items():
            if not first <= b < end or any(parts.get((b - k, inst)) == part for k in range(1, N_REPEATS + 1)):
                continue
            later = [v for (fb, i), v in parts.items() if i == inst and end <= fb < end + ahead]
            counts["written"] += len(part)
            notes = {(p, n, d) for p, n, d, _ in part}
            onsets = {(p, n) for p, n, _, _ in part}
            if part in later:
                counts["equal"] += len(part)
            elif any({(p, n, d) for p, n, d, _ in v} == notes for v in later):
                counts["equal but velocities"] += len(part)
            elif any(len(onsets & {(p, n) for p, n, _, _ in v}) >= 0.75 * len(onsets) for v in later):
                counts["3/4 of onsets and pitches"] += len(part)
    return (
        f"{split}: notes of parts written out in the gaps, by what they share with a later part: "
        + ", ".join(f"{k} {v}" for k, v in counts.items())
    )


if __name__ == "__main__":
    if len(sys.argv) < 3:
        raise SystemExit(__doc__)
    for name in sys.argv[2:]:
        print(breakdown(sys.argv[1], name))
        print(shared_with_future(sys.argv[1], name))
