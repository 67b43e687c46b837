"""What every section of scripts/reliability.py shares: the environment of its subprocesses, a tiny
model's flags, a section's tally (:class:`Section`), ``python -m overworld`` with a timeout, and a tiny
prepared folder. Not run on its own."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ENV = {
    **os.environ,
    "OMP_NUM_THREADS": "1",
    "HF_HUB_OFFLINE": "1",
    "MPLBACKEND": "Agg",
    "PYTHONUNBUFFERED": "1",
}
TINY = [
    "--sequence-length",
    "32",
    "--embedding-size",
    "32",
    "--num-blocks",
    "1",
    "--num-heads",
    "2",
    "--feed-forward-dim",
    "64",
    "--batch-size",
    "2",
    "--device",
    "cpu",
    "--quiet",
]


@dataclass
class Section:
    """One section's result: ``count`` things tried, a tally of outcomes, and the outcomes that must be 0."""

    name: str
    noun: str
    count: int = 0
    tally: Counter = field(default_factory=Counter)
    bad: tuple[str, ...] = ()
    examples: list[str] = field(default_factory=list)  # what went wrong, first few
    notes: list[str] = field(default_factory=list)  # what each try was, where there are few
    seconds: float = 0.0

    def add(self, outcome: str, example: str = "") -> None:
        self.count += 1
        self.tally[outcome] += 1
        if outcome in self.bad and len(self.examples) < 10:
            self.examples.append(f"{outcome}: {example}")

    def failures(self) -> int:
        return sum(self.tally[b] for b in self.bad)

    def summary(self) -> str:
        shown = [
            *self.bad,
            *sorted((o for o in self.tally if o not in self.bad), key=lambda o: -self.tally[o]),
        ]
        return ", ".join(f"{self.tally[o]:,} {o}" for o in shown)

    def as_json(self) -> dict:
        """What ``--json`` writes of this section."""
        return {
            "name": self.name,
            "noun": self.noun,
            "count": self.count,
            "tally": dict(self.tally),
            "bad": list(self.bad),
            "failures": self.failures(),
            "examples": self.examples,
            "notes": self.notes,
            "seconds": round(self.seconds, 1),
        }

    def line(self) -> str:
        return f"{self.count:,} {self.noun}: {self.summary()} ({self.seconds:.0f} s)"


def run_cli(argv: list[str], cwd: Path, timeout: float) -> tuple[int | None, str]:
    """``python -m overworld ARGV``: (exit status, or None when it ran past ``timeout``; stderr)."""
    try:
        done = subprocess.run(
            [sys.executable, "-m", "overworld", *argv],
            cwd=cwd,
            env=ENV,
            timeout=timeout,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            errors="replace",
        )
    except subprocess.TimeoutExpired as exc:
        err = exc.stderr or ""
        return None, err.decode(errors="replace") if isinstance(err, bytes) else err
    return done.returncode, done.stderr


def prepared_folder(folder: Path, seed: int = 0) -> Path:
    """A tiny prepared folder in the documented layout (performance tokens), as tests/training builds it."""
    import numpy as np

    from overworld.data.shards import write_shard
    from overworld.tokenizers import make_tokenizer
    from overworld.tokenizers import vocab as V

    def piece(rng: np.random.Generator, n_notes: int) -> np.ndarray:  # a monophonic line on one instrument
        out = [V.BOS, V.INSTRUMENT_OFFSET + int(rng.integers(0, 4)), V.VELOCITY_OFFSET + 20]
        for _ in range(n_notes):
            pitch = int(rng.integers(60, 72))
            out += [
                V.NOTE_ON_OFFSET + pitch,
                V.TIME_SHIFT_OFFSET + int(rng.integers(4, 20)),
                V.NOTE_OFF_OFFSET + pitch,
            ]
        return np.array([*out, V.EOS], dtype=np.int64)

    folder.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    splits = {
        "train": [piece(rng, 60) for _ in range(6)],
        "validation": [piece(rng, 30)],
        "test": [piece(rng, 30)],
    }
    summary = {s: {"files": len(q), "tokens": write_shard(folder, s, q)} for s, q in splits.items()}
    make_tokenizer("performance").save(folder / "tokenizer.json")
    files = [
        {
            "path": f"{s}{i}.mid",
            "source": "code",
            "sha256": f"{s}{i}",
            "split": s,
            "tokens": len(q),
            "notes": 60,
            "seconds": 10.0,
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
