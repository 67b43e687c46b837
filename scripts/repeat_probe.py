"""Where a bar model's repeats go: teacher-forced versus free-running.

For a bar-token model (``overworld.tokenizers.bars``) this prints, side by side in one run:

* teacher-forced, on the validation split: after each ``TRACK``, the share of parts in the data that are a
  ``REPEAT`` and the mean probability the model puts on a ``REPEAT`` there (all of them, and only the ones
  the grammar allows: the instrument had a part ``k`` bars back);
* free-running: the share of ``REPEAT`` parts and parts per bar in ``--num`` generated pieces of
  ``--bars`` bars, for each sampling setting given with ``--setting NAME=k=v,k=v`` (a NAME starting with
  ``raw`` starts from the plain defaults, as ``generate --raw``; others from the model's recommended ones).

    python3 scripts/repeat_probe.py runs/bars data/prepared-game-bars --num 8 --bars 32 \\
        --setting raw=top_p=1.0 --setting recommended=
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from overworld import load_model
from overworld.config import SampleConfig
from overworld.data.shards import read_split
from overworld.generation.sampler import generate
from overworld.tokenizers.bars import N_REPEATS
from overworld.tokenizers.bars import Layout as L


def part_stats(seqs: list[np.ndarray]) -> tuple[float, float]:
    """(share of parts that are REPEAT, parts per bar) over ``seqs``."""
    parts = repeats = bars = 0
    for s in seqs:
        s = np.asarray(s, dtype=np.int64)
        parts += int(((s >= L.TRACK) & (s < L.REPEAT)).sum())
        repeats += int(((s >= L.REPEAT) & (s < L.POS)).sum())
        bars += int((s == L.BAR).sum())
    return repeats / max(parts, 1), parts / max(bars, 1)


def valid_repeats(s: np.ndarray) -> np.ndarray:
    """``(T, K)``: at each position, which REPEAT k the grammar would allow after a TRACK there."""
    out = np.zeros((len(s), N_REPEATS), dtype=bool)
    history: list[set[int]] = []
    current: set[int] = set()
    for i, t in enumerate(s):
        if t == L.BAR:
            history.append(current)
            current = set()
        elif L.TRACK <= t < L.REPEAT:
            inst = int(t - L.TRACK)
            current.add(inst)
            for k in range(1, N_REPEATS + 1):
                out[i, k - 1] = len(history) >= k and inst in history[-k]
    return out


@torch.inference_mode()
def teacher_forced(pre, seqs: list[np.ndarray], length: int) -> tuple[float, float, float]:
    """(data repeat share after TRACK, model's repeat mass, model's mass on allowed repeats)."""
    model = pre.model.eval()
    data, mass, allowed_mass = [], [], []
    for s in seqs:
        s = np.asarray(s, dtype=np.int64)
        valid = valid_repeats(s)
        for begin in range(0, max(len(s) - 1, 1), length):
            window = s[begin : begin + length + 1]
            ids = torch.as_tensor(np.concatenate([[pre.tokenizer.bos_id], window[:-1]]))[None]
            probs = torch.softmax(model(ids)[0].float(), dim=-1).numpy()  # (T, V)
            for j in range(len(window) - 1):
                t = window[j]
                if L.TRACK <= t < L.REPEAT and (begin + j) > 0:
                    p = probs[j + 1, L.REPEAT : L.POS]
                    data.append(L.REPEAT <= window[j + 1] < L.POS)
                    mass.append(p.sum())
                    allowed_mass.append(p[valid[begin + j]].sum())
    return float(np.mean(data)), float(np.mean(mass)), float(np.mean(allowed_mass))


def parse_setting(text: str) -> tuple[str, dict[str, float]]:
    name, _, rest = text.partition("=")
    settings = {}
    for item in filter(None, rest.split(",")):
        key, _, value = item.partition("=")
        settings[key] = float(value) if key != "max_instruments" else tuple(map(int, value.split("-")))
    return name, settings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model")
    parser.add_argument("prepared")
    parser.add_argument("--num", type=int, default=8)
    parser.add_argument("--bars", type=int, default=32)
    parser.add_argument("--pieces", type=int, default=6, help="validation pieces for the teacher-forced part")
    parser.add_argument("--setting", action="append", default=[])
    args = parser.parse_args()
    torch.manual_seed(0)
    pre = load_model(args.model)
    seqs = read_split(args.prepared, "validation")[: args.pieces]
    share, parts_per_bar = part_stats(seqs)
    data, mass, allowed = teacher_forced(pre, seqs, pre.model.config.sequence_length)
    print(f"validation data: {share:.2f} of parts REPEAT, {parts_per_bar:.1f} parts a bar")
    print(
        f"teacher-forced after TRACK: data {data:.2f} REPEAT; model mass {mass:.2f}, on allowed {allowed:.2f}"
    )
    for text in args.setting or ["recommended="]:
        name, settings = parse_setting(text)
        if name.startswith("raw"):  # the plain defaults plus these settings, as generate --raw
            pieces = generate(pre, config=SampleConfig(**settings), num=args.num, bars=args.bars, seed=1)
        else:  # the model's recommended settings plus these
            pieces = generate(pre, num=args.num, bars=args.bars, seed=1, **settings)
        share, parts_per_bar = part_stats([np.concatenate([[L.BAR], p]) for p in pieces])
        print(f"generated {name:<14} {share:.2f} of parts REPEAT, {parts_per_bar:.1f} parts a bar")


if __name__ == "__main__":
    main()
