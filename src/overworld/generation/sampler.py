"""Cached sampling: every new token costs one incremental ``model.step``; ``num`` pieces are one batch.

``generate`` feeds ``BOS + primer`` through the model's cache, then samples token by token: the
tokenizer's grammar (``tokenizer.grammar(...)``, the :class:`~overworld.tokenizers.grammar.Grammar`
protocol) masks invalid tokens, the filters (:mod:`overworld.generation.filters`) apply temperature,
top-k and top-p, and a seeded ``torch.Generator`` draws, so the same seed gives the same music on the same
device. The sampler knows no tokenizer by name: the grammar says what may come next, when a row is done
and what a finished piece is (the primer or the state it left, the body, closing tokens). The model's
cache keeps at most ``sequence_length - 1`` positions, so generation runs past the model's length by
sliding its window. A sequence stops at EOS, after ``length`` tokens, once its music reaches ``seconds``
or after ``bars`` bars (tokenizers with bars).
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from overworld.config import ModelConfig, SampleConfig, check_seed
from overworld.devices import free_memory
from overworld.errors import ConfigError
from overworld.generation.controls import draw_budgets
from overworld.generation.filters import apply_filters
from overworld.tokenizers import Tokenizer
from overworld.tokenizers.abilities import bars_of
from overworld.tokenizers.grammar import Grammar

__all__ = ["DEFAULT_LENGTH", "TOKENS_PER_SECOND_CAP", "generate", "next_logits", "score_of", "write_midi"]

log = logging.getLogger(__name__)

DEFAULT_LENGTH = 1024  # tokens, when neither a length nor seconds is asked
TOKENS_PER_SECOND_CAP = 200  # with ``seconds`` and no ``length``: at most this many tokens per second
TOKENS_PER_BAR_CAP = 512  # with ``bars`` and no ``length``: at most this many tokens per bar
MAX_BATCH = 4096  # pieces in one batch
MAX_SECONDS = 3600.0  # an hour of music per piece
MAX_BARS = 2048
MAX_LENGTH = 1_000_000  # tokens per piece


def _unwrap(model: Any, tokenizer: Tokenizer | None) -> tuple[Any, Tokenizer]:
    """Accept a :class:`~overworld.models.storage.Pretrained` or a bare model plus its tokenizer."""
    if hasattr(model, "tokenizer") and hasattr(model, "model"):
        return model.model, tokenizer or model.tokenizer
    if tokenizer is None:
        raise ConfigError("generate needs the model's tokenizer (or a model loaded with load_model)")
    return model, tokenizer


def generate(
    model: Any,
    tokenizer: Tokenizer | None = None,
    config: SampleConfig | None = None,
    *,
    primer_ids: np.ndarray | list[int] | None = None,
    num: int = 1,
    length: int | None = None,
    seconds: float | None = None,
    bars: int | None = None,
    seed: int = 0,
    inclusive: bool = False,
    progress: Callable[[float, float], None] | None = None,
    plans: Sequence[Any] | None = None,
    **settings: Any,
) -> list[np.ndarray]:
    """Compose ``num`` pieces in one batch; returns their token ids (no BOS/EOS/PAD).

    ``model`` is a ``LanguageModel`` (then pass ``tokenizer``) or what ``load_model`` returns.
    ``config`` holds the sampling settings (default: a loaded model's recommended ones); keyword
    ``settings`` (``temperature=0.9, top_k=32``...) override its fields for this call. ``length`` counts
    generated tokens (default 1024); ``seconds`` stops each piece when its music reaches that many
    seconds, ``bars`` after that many bars. ``progress(done, total)`` is called as the pieces grow, in the
    unit of the length asked: seconds of music with ``seconds`` (the mean over the batch, a finished piece
    counting in full), bars with ``bars``, else tokens; its last call has ``done == total`` when every
    piece reached its length. Raises :class:`ConfigError` for bad settings.
    """
    check_seed(seed, "seed")  # numpy's and the CLI's range, for every caller
    lm, tokenizer = _unwrap(model, tokenizer)
    config = _settings(config or getattr(model, "sampling", None) or SampleConfig(), settings)
    length = _length(num, length, seconds, bars)
    device = next(lm.parameters()).device
    _threads(lm, num, device)
    primer = _primer(primer_ids, tokenizer)
    _check_memory(lm, num, length, len(primer) + 1, device)
    generator = torch.Generator(device=device).manual_seed(int(seed))
    plans = _plans(model, config, plans, num, bars, seed)
    if plans:  # the ability the tokenizer declares, before any grammar is built
        bars_of(tokenizer, "following arrangement plans")
    budgets = draw_budgets(0 if plans else config.max_instruments, num, generator, device)  # (B,)
    grammar = tokenizer.grammar(
        num, config, budgets=budgets, max_seconds=seconds, max_bars=bars, device=device
    )
    if plans:
        grammar.follow(plans)
    primer = grammar.prime(primer)
    report = _Progress(progress, grammar, tokenizer, length, seconds, bars) if progress is not None else None
    out, steps = _sample(lm, tokenizer, grammar, config, primer, num, length, generator, report)
    pieces = []
    for row in range(num):
        body = _piece(out[row, :steps], tokenizer.pad_id, tokenizer.eos_id).tolist()
        pieces.append(np.asarray(grammar.finish(row, body, inclusive), dtype=np.int64))
    log.info("generated %d pieces of up to %d tokens (seed %d)", num, steps, seed)
    return pieces


def _threads(lm: Any, num: int, device: torch.device) -> None:
    """On a CPU, torch's threads for a batch of ``num`` on this model (a thread per core only spins at
    batch 1: :mod:`overworld.threads`)."""
    if device.type == "cpu":
        from overworld.threads import choose_threads

        size = lm.num_parameters() if hasattr(lm, "num_parameters") else None  # a test's stand-in has none
        choose_threads(batch=num, parameters=size)


def _primer(primer_ids: np.ndarray | list[int] | None, tokenizer: Tokenizer) -> list[int]:
    """The primer's ids as ints, each checked against the vocabulary."""
    primer = [int(t) for t in np.asarray(primer_ids if primer_ids is not None else [], dtype=np.int64)]
    bad = [t for t in primer if not 0 <= t < tokenizer.vocab_size]
    if bad:
        raise ConfigError(f"primer token {bad[0]} is outside the vocabulary of {tokenizer.vocab_size}")
    return primer


def _plans(
    model: Any, config: SampleConfig, plans: Sequence[Any] | None, num: int, bars: int | None, seed: int
) -> list[Any] | None:
    """The arrangement plan of each piece: those given, else drawn from the model's when ``config.plan``."""
    if plans is not None:
        return list(plans)
    if not config.plan:
        return None
    from overworld.generation.plans import draw_plans, read_plans

    return draw_plans(read_plans(model), num, bars, seed, config.instruments)


def _settings(config: SampleConfig, settings: dict[str, Any]) -> SampleConfig:
    """``config`` with the keyword ``settings`` of one call (checked again by SampleConfig itself)."""
    if not settings:
        return config
    try:
        return dataclasses.replace(config, **settings)
    except TypeError as exc:
        raise ConfigError(f"unknown sampling setting: {exc}") from exc


def _length(num: int, length: int | None, seconds: float | None, bars: int | None) -> int:
    """The token budget of each piece, after checking the sizes asked for."""
    if not 1 <= num <= MAX_BATCH:
        raise ConfigError(f"num must be between 1 and {MAX_BATCH} pieces in one batch, not {num}")
    if seconds is not None and not 0 < seconds <= MAX_SECONDS:
        raise ConfigError(f"seconds must be positive and at most {MAX_SECONDS:g}, not {seconds}")
    if bars is not None and not 1 <= bars <= MAX_BARS:
        raise ConfigError(f"bars must be between 1 and {MAX_BARS}, not {bars}")
    if length is None:
        length = DEFAULT_LENGTH
        if seconds is not None:
            length = int(seconds * TOKENS_PER_SECOND_CAP) + 64
        if bars is not None:
            length = max(length if seconds is not None else 0, bars * TOKENS_PER_BAR_CAP + 64)
    if not 1 <= length <= MAX_LENGTH:
        raise ConfigError(f"length must be between 1 and {MAX_LENGTH:,} tokens, not {length}")
    return length


def _check_memory(lm: Any, num: int, length: int, prefill: int, device: torch.device) -> None:
    """Refuse a batch that would not fit in what ``device`` has free (else an allocation traceback, or on
    Linux the kernel's OOM killer, which may take another process with it)."""
    config = getattr(lm, "config", None)
    free = free_memory(device) if isinstance(config, ModelConfig) else None
    if free is None:
        return
    need = config.sampling_bytes(num, length, prefill)
    if need > 0.8 * free:  # room for the grammar, the output and everything else
        raise ConfigError(
            f"{num} pieces of up to {length:,} tokens need about {need / 2**30:.1f} GiB, more than {device} "
            f"has free ({free / 2**30:.1f} GiB); ask for fewer pieces or shorter ones"
        )


def _sample(
    lm: Any,
    tokenizer: Tokenizer,
    grammar: Any,
    config: SampleConfig,
    primer: list[int],
    num: int,
    length: int,
    generator: torch.Generator,
    progress: _Progress | None,
) -> tuple[torch.Tensor, int]:
    """The token loop: ``(B, length)`` ids (PAD after a row ends) and how many steps ran."""
    device = generator.device
    out = torch.full((num, length), tokenizer.pad_id, dtype=torch.long, device=device)
    seen = torch.full_like(out, -1)  # (B, length): what the filters see of earlier tokens, the notes only
    notes = grammar.note_tokens()  # (V,) bool
    done = torch.zeros(num, dtype=torch.bool, device=device)
    was_training = lm.training
    lm.eval()
    steps = 0
    try:
        with torch.inference_mode():
            prefix = torch.tensor([tokenizer.bos_id, *primer], dtype=torch.long, device=device).expand(
                num, -1
            )
            cache = lm.new_cache(num, device)
            chunk = max(1, lm.config.sequence_length // 2)
            for begin in range(0, prefix.shape[1], chunk):
                logits = lm.step(prefix[:, begin : begin + chunk], cache)[:, -1]  # (B, V)
            for t in range(length):
                probs = torch.softmax(next_logits(logits, grammar, config, seen[:, :t]), dim=-1)  # (B, V)
                token = torch.multinomial(probs, 1, generator=generator).squeeze(1)  # (B,)
                token = torch.where(done, torch.full_like(token, tokenizer.pad_id), token)
                out[:, t] = token
                seen[:, t] = torch.where(notes[token] & ~done, token, -1)
                steps = t + 1
                grammar.update(token)
                done |= grammar.done
                if progress is not None:
                    progress(steps, out, done)
                if bool(done.all()) or t == length - 1:
                    break
                logits = lm.step(token[:, None], cache)[:, -1]  # (B, V): one incremental step
    finally:
        lm.train(was_training)
    return out, steps


class _Progress:
    """Calls ``callback(done, total)`` in the unit of the length asked: seconds or bars of music composed
    since the primer (the batch's mean, a finished piece counting as ``total``), else tokens."""

    def __init__(
        self,
        callback: Callable[[float, float], None],
        grammar: Grammar,
        tokenizer: Tokenizer,
        length: int,
        seconds: float | None,
        bars: int | None,
    ) -> None:
        self.callback, self.grammar, self.tokenizer = callback, grammar, tokenizer
        self.unit, self.total = "tokens", length
        if seconds is not None:
            self.unit, self.total = "seconds", float(seconds)
        elif bars is not None:
            self.unit, self.total = "bars", float(bars)
        self.measured_at = 0.0

    def __call__(self, steps: int, out: torch.Tensor, done: torch.Tensor) -> None:
        if self.unit == "tokens":
            self.callback(steps, self.total)
            return
        finished = bool(done.all()) or steps == out.shape[1]
        reached = self.grammar.composed(self.unit)  # (B,) from the grammar's clock, or None
        if reached is None:  # no clock in the grammar: decode the tokens, at most every half second
            if not finished and time.monotonic() - self.measured_at < 0.5:
                return
            reached = self._decoded_seconds(out[:, :steps], done)
            self.measured_at = time.monotonic()
        reached = torch.where(done.to(reached.device), self.total, reached.clamp(0, self.total))
        self.callback(round(float(reached.mean()), 3), self.total)

    def _decoded_seconds(self, out: torch.Tensor, done: torch.Tensor) -> torch.Tensor:
        """``(B,)`` seconds of each unfinished row's tokens (finished rows: 0, counted in full anyway)."""
        pad, eos = self.tokenizer.pad_id, self.tokenizer.eos_id
        seconds = [
            0.0 if bool(done[row]) else self.tokenizer.seconds(_piece(out[row], pad, eos))
            for row in range(len(out))
        ]
        return torch.tensor(seconds, dtype=torch.float64)


def next_logits(
    logits: torch.Tensor, grammar: Grammar, config: SampleConfig, history: torch.Tensor
) -> torch.Tensor:
    """The logits a token is drawn from, given the model's ``logits (B, V)``: structural choices at their
    temperature, the grammar's bias (a plan's variation guides), its mask, then the filters, which see
    ``history (B, t)``, the notes generated so far (-1 elsewhere). The sampler and the live engine both
    draw from these."""
    logits = _structure_scaled(logits.float(), grammar, config)
    bias = grammar.bias()  # (B, V) or None
    logits = logits if bias is None else logits + bias
    return apply_filters(logits.masked_fill(~grammar.allowed(), float("-inf")), config, history)


def _structure_scaled(logits: torch.Tensor, grammar: Grammar, config: SampleConfig) -> torch.Tensor:
    """``logits (B, V)`` of the rows whose next token is a structural choice (the grammar's
    ``structural()``) scaled so that the temperature filter gives them ``structure_temperature``."""
    t, s = config.temperature, config.structure_temperature
    if not s or s == t or t <= 0:
        return logits
    rows = grammar.structural()  # (B,) bool
    return torch.where(rows[:, None], logits * (t / s), logits)


def _piece(ids: torch.Tensor, pad: int, eos: int) -> np.ndarray:
    """The tokens before the first EOS, without PAD."""
    a = ids.cpu().numpy()
    ends = np.flatnonzero(a == eos)
    if ends.size:
        a = a[: ends[0]]
    return a[a != pad]


def write_midi(
    pieces: list[np.ndarray],
    tokenizer: Tokenizer,
    out_dir: str | Path,
    seed: int,
    bpm: float = 0.0,
    offset: float = 0.0,
) -> list[Path]:
    """Decode each piece and write ``overworld-<seed>-<n>.mid`` (n from 0) into ``out_dir``. A piece with
    no tempo of its own (performance tokens are in seconds) is written at ``bpm`` when given (the tempo
    of the grid it was sampled on, its first beat ``offset`` seconds into the piece), otherwise at the
    tempo its onsets keep, where they keep a steady beat (:func:`overworld.midi.tempo.align_to_beat`),
    so a DAW's bar lines fall on its beats."""
    from overworld.midi import write_score

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    return [
        write_score(score_of(ids, tokenizer, bpm=bpm, offset=offset), out / f"overworld-{seed}-{n}.mid")
        for n, ids in enumerate(pieces)
    ]


def score_of(ids: np.ndarray, tokenizer: Tokenizer, *, bpm: float = 0.0, offset: float = 0.0) -> Any:
    """The score of ``ids`` as it is written: a score with no tempo of its own (performance tokens are in
    seconds) at ``bpm`` when given (its first beat ``offset`` seconds in), otherwise at the tempo its
    onsets keep where they keep a steady beat; a score with a tempo map as it is."""
    from overworld.midi.tempo import BeatGrid, align_to_beat, with_beat

    score = tokenizer.decode(ids)
    if bpm > 0 and not len(score.tempos):
        return with_beat(score, BeatGrid(qpm=bpm, offset=offset, fit=1.0))
    return align_to_beat(score)
