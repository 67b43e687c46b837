"""Fixtures for the evaluation tests: a tiny prepared folder and a tiny model, built in code."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest


def melody_score(pitches, step=0.25, program=0, start=0.0, drums=False):
    """One track playing ``pitches`` one after another, ``step`` seconds apart, in seconds time."""
    import symusic

    score = symusic.Score(480, ttype="second")
    track = symusic.Track(name="t", program=program, is_drum=drums, ttype="second")
    for i, p in enumerate(pitches):
        track.notes.append(symusic.Note(start + i * step, step * 0.9, int(p), 80, "second"))
    score.tracks.append(track)
    return score


def write_prepared(root: Path, splits: dict[str, list[np.ndarray]]) -> Path:
    """A prepared folder (performance tokenizer) whose splits hold the given token ids (no BOS/EOS)."""
    from overworld.tokenizers import make_tokenizer

    tok = make_tokenizer("performance")
    root.mkdir(parents=True, exist_ok=True)
    tok.save(root / "tokenizer.json")
    summary = {}
    for split, files in splits.items():
        framed = [np.concatenate([[tok.bos_id], f, [tok.eos_id]]).astype(np.uint16) for f in files]
        data = np.concatenate(framed) if framed else np.zeros(0, np.uint16)
        data.tofile(root / f"{split}.bin")
        np.save(root / f"{split}.idx.npy", np.cumsum([0] + [len(f) for f in framed]).astype(np.int64))
        summary[split] = {"files": len(files), "tokens": len(data)}
    manifest = {"tokenizer": "performance", "vocab_size": tok.vocab_size, "files": [], "splits": summary}
    (root / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return root


@pytest.fixture
def prepared(tmp_path):
    """Train / validation / test splits of encoded random melodies (seeded)."""
    from overworld.tokenizers import make_tokenizer

    tok = make_tokenizer("performance")
    rng = np.random.default_rng(0)

    def files(n, length):
        return [tok.encode(melody_score(rng.integers(55, 80, size=length))) for _ in range(n)]

    return write_prepared(
        tmp_path / "prepared", {"train": files(3, 10), "validation": files(2, 3), "test": files(3, 12)}
    )


@pytest.fixture
def tiny_model():
    """A one-block relative-attention transformer over the performance vocabulary, window of 16."""
    import torch

    from overworld.config import ModelConfig
    from overworld.models import build_model

    torch.manual_seed(0)
    config = ModelConfig(
        vocab_size=520,
        embedding_size=16,
        sequence_length=16,
        num_blocks=1,
        num_heads=2,
        feed_forward_dim=32,
        dropout=0.0,
    )
    return build_model(config).eval()


@pytest.fixture
def melody():
    """The :func:`melody_score` factory: ``melody(pitches, step=0.25, program=0, start=0.0, drums=False)``."""
    return melody_score


@pytest.fixture
def make_prepared():
    """The :func:`write_prepared` factory: ``make_prepared(root, {"train": [ids, ...], ...})``."""
    return write_prepared
