"""A bar-token model's run folder carries its training pieces' arrangement plans, and recommends them."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import symusic

from overworld.config import ModelConfig
from overworld.data.shards import write_shard
from overworld.generation.plans import read_plans
from overworld.models.storage import load_model
from overworld.tokenizers import make_tokenizer
from overworld.training.loop import train


def _score(rng: np.random.Generator, bars: int) -> symusic.Score:
    """A bass on every beat and a lead that comes in at bar 3 (4/4, 120 bpm)."""
    score = symusic.Score(480)
    bass, lead = symusic.Track(program=33), symusic.Track(program=80)
    for b in range(bars):
        bass.notes.extend(
            [symusic.Note(b * 1920 + q * 480, 400, int(rng.integers(36, 44)), 90) for q in range(4)]
        )
        if b >= 2:
            lead.notes.append(symusic.Note(b * 1920, 1800, int(rng.integers(70, 80)), 100))
    score.tracks.extend([bass, lead])
    score.tempos.append(symusic.Tempo(0, 120.0))
    score.time_signatures.append(symusic.TimeSignature(0, 4, 4))
    return score


def test_a_bar_model_is_saved_with_its_plans_and_follows_them(tmp_path, tiny_train):
    bars = make_tokenizer("bars")
    rng = np.random.default_rng(0)
    folder = tmp_path / "prepared"
    folder.mkdir()
    splits = {
        "train": [bars.encode(_score(rng, 8)) for _ in range(3)],
        "validation": [bars.encode(_score(rng, 4))],
        "test": [bars.encode(_score(rng, 4))],
    }
    summary = {
        s: {"files": len(q), "tokens": write_shard(folder, s, [np.asarray(x) for x in q])}
        for s, q in splits.items()
    }
    bars.save(folder / "tokenizer.json")
    files = [
        {
            "path": f"{s}{i}.mid",
            "source": "code",
            "sha256": f"{s}{i}",
            "split": s,
            "tokens": len(q),
            "notes": 0,
            "seconds": 0.0,
            "instruments": [33, 80],
        }
        for s, seqs in splits.items()
        for i, q in enumerate(seqs)
    ]
    (folder / "manifest.json").write_text(
        json.dumps({"tokenizer": "bars", "vocab_size": bars.vocab_size, "splits": summary, "files": files})
    )
    model = ModelConfig(embedding_size=32, sequence_length=64, num_blocks=1, num_heads=2, feed_forward_dim=64)
    train(
        tmp_path / "run",
        folder,
        model,
        replace(tiny_train, steps=2, eval_every=2, save_every=2),
        progress=False,
    )
    loaded = load_model(tmp_path / "run")
    plans = read_plans(loaded)
    assert len(plans) == 3  # one per training piece
    assert all(p.bars[0] == ((33, 0),) and (80, 0) in p.bars[2] for p in plans)
    assert loaded.sampling.plan and loaded.sampling.temperature == 1.0
