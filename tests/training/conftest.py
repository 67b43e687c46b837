"""A tiny prepared folder built in code (shards in the documented layout) and tiny configs."""

from __future__ import annotations

import json

import numpy as np
import pytest

from overworld.config import ModelConfig, TrainConfig
from overworld.data.shards import write_shard
from overworld.tokenizers import make_tokenizer
from overworld.tokenizers import vocab as V


def _piece(rng: np.random.Generator, n_notes: int) -> np.ndarray:
    """A random monophonic line on one instrument: NOTE_ON, a time shift, NOTE_OFF, repeated."""
    out = [V.BOS, V.INSTRUMENT_OFFSET + int(rng.integers(0, 4)), V.VELOCITY_OFFSET + 20]
    for _ in range(n_notes):
        pitch = int(rng.integers(60, 72))
        out += [
            V.NOTE_ON_OFFSET + pitch,
            V.TIME_SHIFT_OFFSET + int(rng.integers(4, 20)),
            V.NOTE_OFF_OFFSET + pitch,
        ]
    return np.array([*out, V.EOS], dtype=np.int64)


@pytest.fixture
def prepared(tmp_path):
    folder = tmp_path / "prepared"
    folder.mkdir()
    rng = np.random.default_rng(0)
    splits = {
        "train": [_piece(rng, 60) for _ in range(6)],
        "validation": [_piece(rng, 30)],
        "test": [_piece(rng, 30)],
    }
    summary = {s: {"files": len(seqs), "tokens": write_shard(folder, s, seqs)} for s, seqs in splits.items()}
    make_tokenizer("performance").save(folder / "tokenizer.json")
    files = [
        {
            "path": f"{s}{i}.mid",
            "source": "code",
            "sha256": f"{s}{i}",
            "split": s,
            "tokens": len(q),
            "notes": 0,
            "seconds": 0.0,
            "instruments": [0],
        }
        for s, seqs in splits.items()
        for i, q in enumerate(seqs)
    ]
    (folder / "manifest.json").write_text(
        json.dumps(
            {"tokenizer": "performance", "vocab_size": V.VOCAB_SIZE, "splits": summary, "files": files}
        )
    )
    return folder


@pytest.fixture
def tiny_model():
    return ModelConfig(
        embedding_size=32, sequence_length=32, num_blocks=2, num_heads=2, feed_forward_dim=64, dropout=0.1
    )


@pytest.fixture
def tiny_train():
    return TrainConfig(
        steps=6,
        batch_size=4,
        learning_rate=3e-3,
        warmup_steps=2,
        eval_every=3,
        log_every=1,
        save_every=2,
        seed=1,
        device="cpu",
    )
