"""A prepared folder made in code (two tiny performance-token pieces per split), for checks that need one."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np


def prepared_folder(folder: Path) -> Path:
    from overworld.data.shards import write_shard
    from overworld.tokenizers import make_tokenizer
    from overworld.tokenizers import vocab as V

    folder.mkdir(parents=True)
    piece = np.array(
        [
            V.BOS,
            V.INSTRUMENT_OFFSET,
            V.VELOCITY_OFFSET + 20,
            V.NOTE_ON_OFFSET + 60,
            V.TIME_SHIFT_OFFSET + 10,
            V.NOTE_OFF_OFFSET + 60,
            V.EOS,
        ]
    )
    splits = {
        s: {"files": 2, "tokens": write_shard(folder, s, [piece, piece])}
        for s in ("train", "validation", "test")
    }
    make_tokenizer("performance").save(folder / "tokenizer.json")
    manifest = {"tokenizer": "performance", "vocab_size": V.VOCAB_SIZE, "splits": splits, "files": []}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder
