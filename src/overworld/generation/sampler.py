"""Cached sampling: every new token costs one incremental ``model.step``; ``num`` pieces are one batch.

``generate`` feeds ``BOS + primer`` through the model's cache, then samples token by token: the grammar
mask (performance vocabulary, :mod:`overworld.generation.constraints`) removes invalid tokens, the
filters (:mod:`overworld.generation.filters`) apply temperature, top-k and top-p, and a seeded
``torch.Generator`` draws, so the same seed gives the same music on the same device. The model's cache
keeps at most ``sequence_length - 1`` positions, so generation runs past the model's length by sliding
its window. A sequence stops at EOS, after ``length`` tokens or once its music reaches ``seconds``.

Output of each piece: with ``inclusive`` the primer then the continuation; otherwise the continuation
alone, preceded by the state the primer left: the instrument and velocity in force and the notes still
sounding at the primer's end, which start again at time 0 so they carry over until the model releases
them. Every note still sounding at the end is released. MidiTok tokenizers without BPE follow MidiTok's
own token-type graph with the same instrument, polyphony and note-length controls
(:mod:`overworld.generation.miditok_grammar`); with BPE only PAD/BOS are masked and the decoder drops
what does not parse. Their ``seconds`` is checked every 16 tokens.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from overworld.config import SampleConfig
from overworld.errors import ConfigError
from overworld.generation.constraints import Grammar, clean_primer, draw_budgets
from overworld.generation.filters import apply_filters
from overworld.generation.miditok_grammar import MidiTokGrammar
from overworld.tokenizers import Tokenizer

__all__ = ["DEFAULT_LENGTH", "TOKENS_PER_SECOND_CAP", "generate", "write_midi"]

log = logging.getLogger(__name__)

DEFAULT_LENGTH = 1024  # tokens, when neither a length nor seconds is asked
TOKENS_PER_SECOND_CAP = 200  # with ``seconds`` and no ``length``: at most this many tokens per second


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
    seed: int = 0,
    inclusive: bool = False,
    progress: Callable[[int, int], None] | None = None,
    **settings: Any,
) -> list[np.ndarray]:
    """Compose ``num`` pieces in one batch; returns their token ids (no BOS/EOS/PAD).

    ``model`` is a ``LanguageModel`` (then pass ``tokenizer``) or what ``load_model`` returns.
    ``config`` holds the sampling settings (default: a loaded model's recommended ones); keyword ``settings`` (``temperature=0.9, top_k=32``...)
    override its fields for this call. ``length`` counts generated tokens (default 1024);
    ``seconds`` stops each piece when its music reaches that many seconds. ``progress(done, total)``
    is called after each step. Raises :class:`ConfigError` for bad settings.
    """
    lm, tokenizer = _unwrap(model, tokenizer)
    config = config or getattr(model, "sampling", None) or SampleConfig()
    if settings:
        try:
            config = dataclasses.replace(config, **settings)
        except TypeError as exc:
            raise ConfigError(f"unknown sampling setting: {exc}") from exc
    if num < 1:
        raise ConfigError(f"num must be at least 1, not {num}")
    if seconds is not None and seconds <= 0:
        raise ConfigError(f"seconds must be positive, not {seconds}")
    if length is None:
        length = DEFAULT_LENGTH if seconds is None else int(seconds * TOKENS_PER_SECOND_CAP) + 64
    if length < 1:
        raise ConfigError(f"length must be at least 1 token, not {length}")
    performance = getattr(tokenizer, "name", None) == "performance"
    inner = getattr(tokenizer, "inner", None)  # a MidiTok tokenizer without BPE has a token-type grammar
    typed = hasattr(inner, "tokens_types_graph") and not getattr(inner, "is_trained", False)
    if (config.instruments or config.max_instruments) and not (performance or typed):
        raise ConfigError(
            "instruments can only be restricted with the performance tokenizer or MidiTok's without BPE"
        )
    if config.grid and not performance:
        raise ConfigError(
            "a beat grid is for the performance tokenizer; MidiTok's timing is in beats already"
        )

    device = next(lm.parameters()).device
    primer = [int(t) for t in np.asarray(primer_ids if primer_ids is not None else [], dtype=np.int64)]
    bad = [t for t in primer if not 0 <= t < tokenizer.vocab_size]
    if bad:
        raise ConfigError(f"primer token {bad[0]} is outside the vocabulary of {tokenizer.vocab_size}")
    generator = torch.Generator(device=device).manual_seed(int(seed))
    budgets = draw_budgets(config.max_instruments, num, generator, device)  # (B,)
    grammar = None
    if performance:
        primer = clean_primer(primer)  # no specials, no releases of notes it never started
        grammar = Grammar(num, max_polyphony=config.max_polyphony, max_note_seconds=config.max_note_seconds,
                          max_instruments=budgets, bpm=config.bpm, grid=config.grid,
                          instruments=config.instruments, max_seconds=seconds, device=device)  # fmt: skip
        for tok in primer:
            grammar.update(torch.full((num,), tok, dtype=torch.long, device=device))
        carry = grammar.carry_tokens(0)
        grammar.mark_start()
    else:
        carry = []
        if typed:
            grammar = MidiTokGrammar(inner, num, instruments=config.instruments,
                                     max_instruments=budgets, max_polyphony=config.max_polyphony,
                                     max_note_seconds=config.max_note_seconds, device=device)  # fmt: skip
            for tok in primer:
                grammar.update(torch.full((num,), tok, dtype=torch.long, device=device))
    pad, bos, eos = tokenizer.pad_id, tokenizer.bos_id, tokenizer.eos_id
    out = torch.full((num, length), pad, dtype=torch.long, device=device)
    done = torch.zeros(num, dtype=torch.bool, device=device)

    was_training = lm.training
    lm.eval()
    try:
        with torch.inference_mode():
            prefix = torch.tensor([bos, *primer], dtype=torch.long, device=device).expand(num, -1)
            cache = lm.new_cache(num, device)
            chunk = max(1, lm.config.sequence_length // 2)
            for begin in range(0, prefix.shape[1], chunk):
                logits = lm.step(prefix[:, begin : begin + chunk], cache)[:, -1]  # (B, V)
            steps = 0
            for t in range(length):
                logits = logits.float()
                if grammar is not None:
                    allowed = grammar.allowed()  # (B, V)
                else:
                    allowed = torch.ones_like(logits, dtype=torch.bool)
                    allowed[:, [pad, bos]] = False
                    allowed[done] = False
                    allowed[done, pad] = True
                logits = apply_filters(logits.masked_fill(~allowed, float("-inf")), config)
                probs = torch.softmax(logits, dim=-1)  # (B, V)
                token = torch.multinomial(probs, 1, generator=generator).squeeze(1)  # (B,)
                token = torch.where(done, torch.full_like(token, pad), token)
                out[:, t] = token
                steps = t + 1
                if grammar is not None:
                    grammar.update(token)
                    done |= grammar.done
                else:
                    done |= token == eos
                if not performance and seconds is not None and steps % 16 == 0:
                    for row in range(num):
                        if not done[row] and tokenizer.seconds(_piece(out[row, :steps], pad, eos)) >= seconds:
                            done[row] = True
                if progress is not None:
                    progress(steps, length)
                if bool(done.all()) or t == length - 1:
                    break
                logits = lm.step(token[:, None], cache)[:, -1]  # (B, V): one incremental step
    finally:
        lm.train(was_training)

    pieces = []
    for row in range(num):
        body = _piece(out[row, :steps], pad, eos).tolist()
        closing = grammar.closing_tokens(row) if isinstance(grammar, Grammar) else []
        head = primer if inclusive else carry
        pieces.append(np.asarray(head + body + closing, dtype=np.int64))
    log.info("generated %d pieces of up to %d tokens (seed %d)", num, steps, seed)
    return pieces


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
    from overworld.midi.tempo import BeatGrid, align_to_beat, with_beat

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for n, ids in enumerate(pieces):
        score = tokenizer.decode(ids)
        if bpm > 0 and not len(score.tempos):
            score = with_beat(score, BeatGrid(qpm=bpm, offset=offset, fit=1.0))
        else:
            score = align_to_beat(score)
        paths.append(write_score(score, out / f"overworld-{seed}-{n}.mid"))
    return paths
