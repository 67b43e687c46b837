"""MidiTok's tokenizers (REMI, TSD, MIDILike, MMM) behind overworld's Tokenizer interface.

They are multi-track (``use_programs=True``, one token stream), keep drums apart, and carry MidiTok's own
PAD/BOS/EOS. BPE (``train(vocab_size, files)``) is MidiTok's; its merges round trip through our
``tokenizer.json``, which embeds MidiTok's own serialisation. ``augment`` transposes by decoding, shifting
the pitches of non-drum tracks and encoding again (MidiTok has no token-level transposition with BPE);
time stretch is not applied to MidiTok tokens, since their time is in beats, not seconds.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from overworld.errors import ConfigError
from overworld.tokenizers.base import Tokenizer

__all__ = ["MIDITOK_SCHEMES", "MidiTokTokenizer"]

MIDITOK_SCHEMES = {"remi": "REMI", "tsd": "TSD", "midilike": "MIDILike", "mmm": "MMM"}


def _build(scheme: str, params: dict[str, Any] | None):
    import miditok

    cls = getattr(miditok, MIDITOK_SCHEMES[scheme])
    if params is not None:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "tokenizer.json"
            path.write_text(json.dumps(params), encoding="utf-8")
            return cls(params=path)
    kwargs = dict(
        use_programs=True, use_velocities=True, use_tempos=True, special_tokens=["PAD", "BOS", "EOS"]
    )
    if scheme == "mmm":
        kwargs["base_tokenizer"] = "TSD"
    else:
        kwargs["one_token_stream_for_programs"] = True
    return cls(miditok.TokenizerConfig(**kwargs))


class MidiTokTokenizer(Tokenizer):
    """One of MidiTok's schemes: ``remi``, ``tsd``, ``midilike`` or ``mmm``."""

    def __init__(self, scheme: str = "remi", params: dict[str, Any] | None = None) -> None:
        if scheme not in MIDITOK_SCHEMES:
            raise ConfigError(
                f"unknown MidiTok scheme {scheme!r}; choose one of {', '.join(MIDITOK_SCHEMES)}"
            )
        self.name = scheme
        self.inner = _build(scheme, params)

    @property
    def vocab_size(self) -> int:
        return int(self.inner.vocab_size)

    @property
    def pad_id(self) -> int:
        return int(self.inner.pad_token_id)

    @property
    def bos_id(self) -> int:
        return int(self.inner["BOS_None"])

    @property
    def eos_id(self) -> int:
        return int(self.inner["EOS_None"])

    def train(self, vocab_size: int, files: Sequence[str | Path]) -> None:
        """Learn BPE merges on ``files`` (MIDI paths) up to ``vocab_size`` tokens."""
        self.inner.train(vocab_size=vocab_size, model="BPE", files_paths=[Path(f) for f in files])

    def encode(self, score: Any) -> np.ndarray:
        if not str(score.ttype).lower().endswith("tick"):
            score = score.to("tick")
        seq = self.inner.encode(score)
        if isinstance(seq, list):  # one sequence per track (mmm)
            ids = [i for s in seq for i in s.ids]
        else:
            ids = seq.ids
        return np.asarray(ids, dtype=np.int64)

    def _ids_without_specials(self, ids: Any) -> list[int]:
        specials = {self.pad_id, self.bos_id, self.eos_id}
        return [int(i) for i in np.asarray(ids).tolist() if int(i) not in specials]

    def decode(self, ids: Any) -> Any:
        from miditok import TokSequence

        clean = self._ids_without_specials(ids)
        seq = TokSequence(ids=clean, are_ids_encoded=self.inner.is_trained)
        try:
            score = self.inner.decode(seq)
        except Exception:  # MidiTok raises various errors on ungrammatical sequences; fall back to empty
            import symusic

            score = symusic.Score(self.inner.time_division)
        return score.to("second")

    def augment(self, ids: np.ndarray, transpose: int = 0, stretch: float = 1.0) -> np.ndarray:
        if not transpose:
            return np.asarray(ids, dtype=np.int64)
        score = self.decode(ids)
        for track in score.tracks:
            if track.is_drum:
                continue
            track.shift_pitch(int(transpose), inplace=True)
            kept = [n for n in track.notes if 0 <= n.pitch < 128]
            track.notes = type(track.notes)(kept)
        return self.encode(score)

    def count_notes(self, ids: np.ndarray) -> int:
        return int(self.decode(ids).note_num())

    def seconds(self, ids: np.ndarray) -> float:
        return float(self.decode(ids).end())

    def grammar(
        self,
        batch_size: int,
        config: Any,
        *,
        budgets: Any,
        max_seconds: float | None = None,
        max_bars: int | None = None,
        device: Any,
    ) -> Any:
        """MidiTok's token-type graph with the instrument, polyphony and note-length controls
        (:class:`~overworld.tokenizers.miditok_grammar.MidiTokGrammar`); with BPE, the free default."""
        from overworld.tokenizers.base import refuse_controls

        if self.inner.is_trained:  # merged ids: no type graph describes them
            return super().grammar(
                batch_size, config, budgets=budgets, max_seconds=max_seconds, max_bars=max_bars, device=device
            )
        from overworld.tokenizers.miditok_grammar import MidiTokGrammar

        refuse_controls(self.name, config, MidiTokGrammar.KEEPS, max_bars=max_bars)
        return MidiTokGrammar(self.inner, batch_size, config, budgets=budgets, max_seconds=max_seconds,
                              seconds_of=self.seconds, device=device)  # fmt: skip

    def to_dict(self) -> dict[str, Any]:
        with tempfile.TemporaryDirectory() as tmp:
            self.inner.save(tmp)
            params = json.loads((Path(tmp) / "tokenizer.json").read_text(encoding="utf-8"))
        return {"type": self.name, "vocab_size": self.vocab_size, "miditok": params}
