"""The one interface every tokenizer offers: encode(score) / decode(ids), saved as tokenizer.json."""

from __future__ import annotations

import abc
import json
from collections.abc import Collection
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import torch
    from symusic import Score
    from torch import Tensor

    from overworld.config import SampleConfig
    from overworld.tokenizers.grammar import Grammar

__all__ = ["Tokenizer", "refuse_controls"]


def refuse_controls(
    name: str, config: SampleConfig, keeps: Collection[str] = (), *, max_bars: int | None = None
) -> None:
    """Raise :class:`ConfigError` for a control that tokenizer ``name``'s grammar cannot keep: a field of
    ``config`` that declares how it is ``refused`` (an instrument set or budget, a beat grid, a key, a
    time signature...), set, and not in ``keeps`` (the grammar's ``KEEPS``), or a length in bars."""
    import dataclasses

    from overworld.errors import ConfigError

    for f in dataclasses.fields(config):
        if "refused" in f.metadata and f.name not in keeps and getattr(config, f.name):
            raise ConfigError(f.metadata["refused"].format(name=name))
    if max_bars is not None:
        raise ConfigError(f"a length in bars needs the bar tokenizer; {name} has no bars, ask for seconds")


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

    def grammar(
        self,
        batch_size: int,
        config: SampleConfig,
        *,
        budgets: Tensor,
        max_seconds: float | None = None,
        max_bars: int | None = None,
        device: torch.device,
    ) -> Grammar:
        """The sampling constraints of ``batch_size`` sequences under ``config`` (``budgets (B,)``: each
        piece's instrument budget, 0 none). This default masks only PAD and BOS and refuses the
        controls it cannot keep; a tokenizer with a grammar overrides it."""
        from overworld.tokenizers.grammar import FreeGrammar

        refuse_controls(self.name, config, max_bars=max_bars)
        return FreeGrammar(self, batch_size, max_seconds=max_seconds, device=device)

    def primer_slice(self, ids: np.ndarray, seconds: float, rng: np.random.Generator) -> np.ndarray:
        """A random excerpt of about ``seconds`` of a piece's ids (no specials), to prime with. This
        default takes the opening ~50 tokens a second."""
        return ids[: max(16, int(seconds * 50))]

    def infill_example(self, piece: np.ndarray, rng: np.random.Generator, length: int) -> np.ndarray | None:
        """A training window of ``length + 1`` tokens that teaches filling a gap from both sides, or
        ``None`` where ``piece`` has none. This default: the tokenizer cannot infill."""
        from overworld.errors import ConfigError

        raise ConfigError(f"the {self.name} tokenizer cannot infill; use the bar tokenizer")

    def infill_context(
        self, ids: np.ndarray, first: int, end: int, length: int
    ) -> tuple[list[int], list[int]]:
        """``(context, gap)``: what a model reads before regenerating bars ``first`` to ``end - 1`` of
        ``ids``, within ``length`` tokens, and those bars as the model writes them after it: the piece's own
        tokens, except that a part that comes back after the gap may be written as a copy of it. This
        default: the tokenizer cannot infill."""
        from overworld.errors import ConfigError

        raise ConfigError(f"the {self.name} tokenizer cannot infill; use the bar tokenizer")

    def save(self, path: str | Path) -> Path:
        """Write ``tokenizer.json`` (``path``, or into the folder ``path``) whole or not at all."""
        from overworld.atomic import write_atomically

        path = Path(path)
        if path.is_dir():
            path = path / "tokenizer.json"
        text = json.dumps(self.to_dict(), indent=1)
        return write_atomically(path, lambda temp: temp.write_text(text, encoding="utf-8"))
