"""Where generated music collapses: its distributions next to the training music's, per folder.

For each folder (training pieces first; then generated ones at each setting) it prints the share of pitched
notes at velocity >= 120, the median note length in beats, the pitch-class entropy of all pitched notes,
parts a bar, the share of pitched notes that re-strike their instrument's previous pitch, and per
instrument role (bass: GM 32-39; drums; lead: every other program) the 99th percentile of the runs of one
re-struck pitch, and how many runs of the folder are longer than the FIRST folder's 99th percentile (about
1% for music like the training music; a collapsed folder holds far more).

    python3 scripts/collapse.py /tmp/ref-train out/t07 out/plan-t09
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from overworld.evaluation.metrics import load_folder
from overworld.evaluation.realism import _bar_ticks, _note_table

ROLES = ("bass", "drums", "lead")


def _role(inst: int) -> str:
    return "drums" if inst == 128 else "bass" if 32 <= inst < 40 else "lead"


def _runs(notes: dict[str, np.ndarray]) -> dict[str, list[int]]:
    """Per role, the lengths of the runs of one pitch struck again and again by one instrument."""
    out: dict[str, list[int]] = {r: [] for r in ROLES}
    for inst in np.unique(notes["inst"]):
        mine = notes["inst"] == inst
        times, pitches = notes["time"][mine], notes["pitch"][mine]
        top = np.array([pitches[times == t].max() for t in np.unique(times)])  # the part's top line
        if not len(top):
            continue
        change = np.flatnonzero(np.diff(top) != 0)
        lengths = np.diff(np.r_[-1, change, len(top) - 1])
        out[_role(int(inst))] += lengths.tolist()
    return out


def folder_figures(folder: str) -> tuple[dict[str, float], dict[str, list[int]]]:
    scores, _ = load_folder(folder, ttype="tick")
    vel, length, pcs, parts, restruck, pitched = [], [], np.zeros(12), [], 0, 0
    runs: dict[str, list[int]] = {r: [] for r in ROLES}
    for _, score in scores:
        notes = _note_table(score)
        if notes is None:
            continue
        p = notes["inst"] != 128
        vel += notes["velocity"][p].tolist()
        length += (notes["duration"][p] / score.ticks_per_quarter).tolist()
        pcs += np.bincount(notes["pitch"][p] % 12, minlength=12)
        bars = notes["time"] // _bar_ticks(score)
        parts.append(
            len({(int(b), int(i)) for b, i in zip(bars, notes["inst"])}) / max(1, len(np.unique(bars)))
        )
        for inst in np.unique(notes["inst"][p]):
            line = notes["pitch"][notes["inst"] == inst]
            restruck += int((line[1:] == line[:-1]).sum())
        pitched += int(p.sum())
        for role, r in _runs(notes).items():
            runs[role] += r
    prob = pcs[pcs > 0] / pcs.sum()
    return {
        "pieces": len(scores),
        "velocity>=120": float(np.mean(np.asarray(vel) >= 120)),
        "note length (beats)": float(np.median(length)),
        "pitch-class entropy": float(-(prob * np.log2(prob)).sum()),
        "parts a bar": float(np.median(parts)),
        "re-struck share": restruck / max(1, pitched),
    }, runs


def main(folders: list[str]) -> None:
    rows = [(f, *folder_figures(f)) for f in folders]
    limits = {r: float(np.percentile(rows[0][2][r], 99)) if rows[0][2][r] else 0.0 for r in ROLES}
    names = list(rows[0][1])
    print(
        f"{'folder':<34}"
        + "".join(f"{n:>21}" for n in names)
        + "".join(f"{'runs>p99 ' + r:>16}" for r in ROLES)
    )
    for folder, figures, runs in rows:
        over = [np.mean(np.asarray(runs[r]) > limits[r]) if runs[r] else float("nan") for r in ROLES]
        print(
            f"{Path(folder).name[:33]:<34}"
            + "".join(f"{figures[n]:>21.3f}" for n in names)
            + "".join(f"{o:>16.3f}" for o in over)
        )
    print(
        "99th percentile of the first folder's runs of one re-struck pitch: "
        + ", ".join(f"{r} {limits[r]:g} notes" for r in ROLES)
    )


if __name__ == "__main__":
    main(sys.argv[1:])
