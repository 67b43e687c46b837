"""The one interface every tokenizer offers: encode(score) / decode(ids), saved as tokenizer.json."""

from __future__ import annotations

import abc
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from symusic import Score

__all__ = ["Tokenizer"]


class Tokenizer(abc.ABC):
    """Turns a symusic Score into token ids and back.

    Ids never include BOS/EOS from ``encode``; ``prepare`` adds them around each file.
    """

    name: str

    @property
    @abc.abstractmethod
    def vocab_size(self) -> int: ...

    @property
    @abc.abstractmethod
    def pad_id(self) -> int: ...

    @property
    @abc.abstractmethod
    def bos_id(self) -> int: ...

    @property
    @abc.abstractmethod
    def eos_id(self) -> int: ...

    @abc.abstractmethod
    def encode(self, score: Score) -> np.ndarray:
        """Token ids (int64, 1-D) of a score whose time unit is seconds or ticks."""

    @abc.abstractmethod
    def decode(self, ids: np.ndarray | list[int]) -> Score:
        """A multi-track Score (one track per instrument, drums apart, every note closed)."""

    @abc.abstractmethod
    def augment(self, ids: np.ndarray, transpose: int = 0, stretch: float = 1.0) -> np.ndarray:
        """Ids of the same music transposed by ``transpose`` semitones (pitched notes only; drums
        untouched; pitches kept in 0-127) and with time scaled by ``stretch``."""

    @abc.abstractmethod
    def count_notes(self, ids: np.ndarray) -> int:
        """How many notes the ids start."""

    @abc.abstractmethod
    def seconds(self, ids: np.ndarray) -> float:
        """How many seconds of music the ids span."""

    @abc.abstractmethod
    def to_dict(self) -> dict[str, Any]:
        """Everything needed to rebuild the tokenizer; has a ``"type"`` key naming it."""

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        if path.is_dir():
            path = path / "tokenizer.json"
        path.write_text(json.dumps(self.to_dict(), indent=1), encoding="utf-8")
        return path
