"""Loss by position in the window: does a model use what lies far back? Mean next-token loss (nats) of a
model over the contiguous windows of a prepared split, in position buckets (1-64, 65-256, 257-512, ...).
A model that uses long context has lower loss late in the window than early.

    python scripts/loss_by_position.py runs/bars data/prepared-game-bars --split test
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from overworld.data.dataset import TokenWindows
from overworld.models.storage import load_model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("data")
    parser.add_argument("--split", default="test")
    parser.add_argument("--batch-size", type=int, default=4)
    args = parser.parse_args()
    pretrained = load_model(args.model)
    model = pretrained.model.eval()
    length = model.config.sequence_length
    windows = TokenWindows(args.data, args.split, length, tokenizer=pretrained.tokenizer)
    total = np.zeros(length)
    count = np.zeros(length)
    pad = pretrained.tokenizer.pad_id
    with torch.inference_mode():
        for batch in windows.eval_batches(args.batch_size):
            logits = model(batch[:, :-1]).float()  # (B, T, V)
            target = batch[:, 1:]  # (B, T)
            nll = -torch.log_softmax(logits, dim=-1).gather(-1, target[..., None]).squeeze(-1)  # (B, T)
            keep = (target != pad).float()
            total[: nll.shape[1]] += (nll * keep).sum(0).numpy()
            count[: nll.shape[1]] += keep.sum(0).numpy()
    edges = [0, 64, 256, 512, 1024, 2048, 4096]
    edges = [e for e in edges if e < length] + [length]
    print(f"{args.model} on {args.data} ({args.split}), window {length}")
    print(f"{'positions':>12}{'loss (nats)':>13}{'targets':>10}")
    for lo, hi in zip(edges, edges[1:]):
        n = count[lo:hi].sum()
        print(f"{f'{lo + 1}-{hi}':>12}{total[lo:hi].sum() / max(n, 1):>13.3f}{int(n):>10}")


if __name__ == "__main__":
    main()
