"""Carry a bar-token model trained with a smaller vocabulary (467 tokens: before ``AHEAD k``) over to the bar
tokenizer's current one, so that fine-tuning starts from its weights instead of from scratch.

    python scripts/grow_vocab.py src/overworld/assets/default runs/bars-grown

Every weight is copied; the embedding (tied to the output layer) gets one new row per new token. An
``AHEAD k`` row starts as ``REPEAT k``'s (both copy an instrument's part ``k`` bars away), plus a little
noise so the two can part. Only safetensors and JSON are read (never a pickle).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch
from safetensors.torch import load_file

from overworld.config import ModelConfig, config_from_dict, read_config_file
from overworld.models import build_model, save_model
from overworld.tokenizers.bars import BarTokenizer, Layout

OLD_SIZE = 467  # the bar tokenizer before AHEAD: ... FILL, MIDDLE


def main(source: str, out: str) -> None:
    folder = Path(source)
    data = read_config_file(folder / "config.json")
    data.pop("format", None)
    data.pop("version", None)
    old = config_from_dict(ModelConfig, data)
    if old.vocab_size != OLD_SIZE:
        raise SystemExit(f"grow_vocab: {source} has {old.vocab_size} tokens, not {OLD_SIZE}")
    tokenizer = BarTokenizer()
    config = config_from_dict(ModelConfig, {**data, "vocab_size": tokenizer.vocab_size})
    model = build_model(config)
    weights = load_file(str(folder / "model.safetensors"), device="cpu")
    embedding = weights["embedding.weight"]  # (467, E)
    generator = torch.Generator().manual_seed(0)
    ahead = embedding[Layout.REPEAT : Layout.REPEAT + (Layout.SIZE - Layout.AHEAD)].clone()
    ahead += 0.01 * embedding.std() * torch.randn(ahead.shape, generator=generator)
    weights["embedding.weight"] = torch.cat([embedding, ahead])  # (483, E)
    missing, unexpected = model.load_state_dict(weights, strict=False)
    tied = {"head.weight", "output.weight", "lm_head.weight"}
    if unexpected or set(missing) - tied:
        raise SystemExit(f"grow_vocab: weights do not fit: missing {missing}, unexpected {unexpected}")
    card = {
        "grown_from": str(folder),
        "note": f"vocabulary {OLD_SIZE} -> {tokenizer.vocab_size}: AHEAD rows from REPEAT",
    }
    save_model(out, model, tokenizer, card=card)
    print(json.dumps({"from": str(folder), "to": out, "vocab_size": tokenizer.vocab_size}))


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    main(sys.argv[1], sys.argv[2])
