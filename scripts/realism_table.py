"""The music issue's table, measured side by side in one run: for each setting, N pieces of B bars from one
seed, against the pieces of a split of a prepared folder (validation to choose, test to report):

* the realism test's AUC with its interval (``overworld.evaluation.realism``) and the statistic that gives
  the music away most;
* each 4-bar window statistic's median, and how many are within 25% of the reference's;
* bar self-similarity over the first 16 bars (median) against the reference pieces' interquartile range;
* scale consistency (median over pieces: the share of a piece's pitched notes in its best major or minor
  scale, ``overworld.evaluation.metrics``);
* copy detection against the training split (longest run of notes copied; 0 is what we want);
* seconds of music per second of compute (batch 1 speed is benchmarks/bench_generate.py's).

A setting is NAME=MODEL:KEY=VALUE,KEY=VALUE (sampling overrides; ``raw`` starts from the plain defaults):

    python3 scripts/realism_table.py --data data/prepared-game-bars --split validation --num 10 --bars 32 \\
        "recommended-before=default:plan=false,temperature=0.7" "plan-t1=default:plan=true,temperature=1.0"

``--constant MODULE.NAME=VALUE`` sets a module's constant for every setting of the run, for probing a value
that is not a sampling control (``--constant overworld.tokenizers.bars_vary.RESTRIKE=0``).
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from overworld.config import SampleConfig
from overworld.evaluation.copying import detect_copies_in_folder
from overworld.evaluation.metrics import load_folder, piece_metrics
from overworld.evaluation.realism import STATISTICS, realism, window_statistics
from overworld.evaluation.structure import structure_of
from overworld.generation.pieces import compose_pieces
from overworld.midi import write_score
from overworld.models.storage import load_model

TOLERANCE = 0.25  # a statistic's median "matches" within 25% of the reference's


def _value(text: str):
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return text


def _setting(spec: str) -> tuple[str, str, dict]:
    name, rest = spec.split("=", 1)
    model, _, changes = rest.partition(":")
    pairs = dict(kv.split("=", 1) for kv in changes.split(",") if kv)
    return name, model, {k: _value(v) for k, v in pairs.items()}


def _set_constant(spec: str) -> None:
    """``MODULE.NAME=VALUE``: set the module's constant (it must exist) to the value."""
    target, _, value = spec.partition("=")
    module, _, name = target.rpartition(".")
    mod = importlib.import_module(module)
    if not hasattr(mod, name):
        raise SystemExit(f"realism_table: {module} has no {name}")
    setattr(mod, name, _value(value))


def _reference(prepared: str, split: str) -> Path:
    folder = Path(tempfile.mkdtemp(prefix=f"ref-{split}-"))
    for f in json.loads((Path(prepared) / "manifest.json").read_text())["files"]:
        if f["split"] == split:
            os.symlink(Path(f["path"]).resolve(), folder / f"{f['source']}-{Path(f['path']).name}")
    return folder


def _similarity(scores: list) -> list[float]:
    values = [structure_of(s).self_similarity for s in scores]
    return [v for v in values if v is not None]


def _scale(scores: list) -> float:
    return float(np.nanmedian([piece_metrics(s)["scale_consistency"] for s in scores]))


def _generate(model, changes: dict, num: int, bars: int, seed: int, out: Path) -> float:
    base = SampleConfig() if changes.pop("raw", False) else model.sampling
    config = dataclasses.replace(base, **changes)
    start = time.perf_counter()
    pieces = compose_pieces(model, config, num=num, bars=bars, seed=seed)
    took = time.perf_counter() - start
    out.mkdir(parents=True, exist_ok=True)
    for n, piece in enumerate(pieces):
        write_score(piece.score, out / f"piece-{n}.mid")
    return sum(p.seconds for p in pieces) / took


def _row(spec: str, args: argparse.Namespace, out_root: Path, reference: list, ref_medians, iqr) -> dict:
    """Generate with one setting and measure it against the reference; print its line, return its row."""
    low, high = iqr
    name, model_path, changes = _setting(spec)
    speed = _generate(load_model(model_path), changes, args.num, args.bars, args.seed, out_root / name)
    generated = [s for _, s in load_folder(out_root / name, ttype="tick")[0]]
    result = realism(generated, reference, seed=0)
    sim = float(np.median(_similarity(generated)))
    scale = _scale(generated)
    copies = detect_copies_in_folder(out_root / name, args.data)
    medians = {s: result.medians[s][0] for s in STATISTICS}
    within = sum(
        abs(medians[s] - ref_medians[i]) <= TOLERANCE * abs(ref_medians[i]) for i, s in enumerate(STATISTICS)
    )
    worst = max(result.per_statistic, key=result.per_statistic.get)
    interval = f"{result.interval[0]:.2f}-{result.interval[1]:.2f}"
    inside = "inside" if low <= sim <= high else "outside"
    print(
        f"{name}: AUC {result.auc:.3f} ({interval}), most telling {worst} {result.per_statistic[worst]:.2f}; "
        f"{within}/{len(STATISTICS)} medians within 25%; self-similarity {sim:.3f} ({inside} IQR); scale "
        f"consistency {scale:.2f}; longest "
        f"copied run {copies.longest_run} notes; {speed:.1f}x real time (batch {args.num})",
        flush=True,
    )
    return {
        "auc": result.auc,
        "interval": result.interval,
        "per_statistic": result.per_statistic,
        "medians": medians,
        "within_25": int(within),
        "self_similarity": sim,
        "in_iqr": bool(low <= sim <= high),
        "scale_consistency": scale,
        "copied_run": copies.longest_run,
        "speed": speed,
        "load": os.getloadavg()[0],
    }


def _table(rows: dict[str, dict], ref_medians) -> None:
    names = list(rows)
    print("\n| per 4-bar window (median) | reference | " + " | ".join(names) + " |")
    print("|---|---|" + "---|" * len(names))
    for i, s in enumerate(STATISTICS):
        cells = " | ".join(f"{rows[n]['medians'][s]:.2f}" for n in names)
        print(f"| {s} | {ref_medians[i]:.2f} | {cells} |")
    for key, fmt in (
        ("auc", "{:.3f}"),
        ("within_25", "{}/12"),
        ("self_similarity", "{:.3f}"),
        ("scale_consistency", "{:.2f}"),
        ("copied_run", "{}"),
    ):
        print(f"| {key} | | " + " | ".join(fmt.format(rows[n][key]) for n in names) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("settings", nargs="+")
    parser.add_argument("--data", default="data/prepared-game-bars")
    parser.add_argument("--split", default="validation")
    parser.add_argument("--num", type=int, default=10)
    parser.add_argument("--bars", type=int, default=32)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--out", default="", help="keep the generated pieces in OUT/<setting>/")
    parser.add_argument("--json", default="")
    parser.add_argument("--constant", action="append", default=[], metavar="MODULE.NAME=VALUE")
    args = parser.parse_args()
    for spec in args.constant:
        _set_constant(spec)
    ref_folder = _reference(args.data, args.split)
    reference = [s for _, s in load_folder(ref_folder, ttype="tick")[0]]
    ref_medians = np.median(np.concatenate([w for w in map(window_statistics, reference) if len(w)]), axis=0)
    ref_sim = _similarity(reference)
    low, high = np.percentile(ref_sim, [25, 75])
    iqr = f"median {np.median(ref_sim):.3f}, IQR {low:.3f}-{high:.3f}"
    print(
        f"reference: {len(reference)} {args.split} pieces of {args.data}; bar self-similarity {iqr}; "
        f"scale consistency {_scale(reference):.2f}; load {os.getloadavg()[0]:.1f}"
    )
    out_root = Path(args.out or tempfile.mkdtemp(prefix="realism-"))
    rows = {}
    for spec in args.settings:
        rows[_setting(spec)[0]] = _row(spec, args, out_root, reference, ref_medians, (low, high))
    _table(rows, ref_medians)
    if args.json:
        ref = {"medians": dict(zip(STATISTICS, ref_medians.tolist())), "self_similarity_iqr": [low, high]}
        Path(args.json).write_text(json.dumps({"reference": ref, "settings": rows}, indent=1, default=float))


if __name__ == "__main__":
    main()
