"""The grammar protocol every tokenizer's sampling constraints follow, and the grammar of a tokenizer
with none (a free vocabulary, such as MidiTok's with BPE).

The sampler knows a grammar only through :class:`Grammar`: it builds one with
``tokenizer.grammar(batch_size, config, ...)``, primes it with the primer (``prime``), asks which tokens may
come next (``allowed``), tells it what was drawn (``update``), stops rows that are ``done`` and asks it
for each finished piece (``finish``: the primer or the state it left, the body, and any closing tokens).
The grammar's clock is part of the protocol: which rows face a structural choice (``structural``, sampled
at the structure temperature), how much music each row has composed (``composed``, for progress), and
which tokens are notes (``note_tokens``, what a filter of earlier tokens such as the repetition penalty
looks at). Every grammar implements them; the sampler asks nothing else.

A grammar is built from the sampling config whole (``Grammar(..., batch_size, config, *, budgets,
max_seconds, max_bars, device)``) and reads the controls it keeps; a control that declares how it is
refused, set and missing from the grammar's ``KEEPS``, is a one-line error before the grammar is built
(:func:`overworld.tokenizers.base.refuse_controls`).
What writing bar by bar needs beyond sampling is the other protocol, :mod:`overworld.tokenizers.abilities`.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np
import torch
from torch import Tensor

__all__ = ["BudgetMixin", "FreeGrammar", "Grammar", "budget_spent", "prime_rows"]

# B batch, V vocabulary, I instruments


@runtime_checkable
class Grammar(Protocol):
    """The decoding state of a batch of sequences and the masks it implies."""

    done: Tensor  # (B,) bool: the sequence has ended; only PAD may follow

    def prime(self, primer: list[int]) -> list[int]:
        """Take in the primer (the same for every row) and return it as the model will see it (cleaned
        of what the grammar cannot follow); lengths count from after it."""

    def allowed(self) -> Tensor:
        """``(B, V)`` bool: True where the token may come next."""

    def update(self, tokens: Tensor) -> None:
        """Advance every sequence by one token, ``tokens (B,)``."""

    def finish(self, row: int, body: list[int], inclusive: bool) -> list[int]:
        """The ids of piece ``row``: with ``inclusive`` the primer and ``body``, otherwise ``body`` with the
        state the primer left; closed (every note released)."""

    def structural(self) -> Tensor:
        """``(B,)`` bool: rows whose next token is a structural choice (bar tokens: repeat a part or write
        it, which part comes next), sampled at ``SampleConfig.structure_temperature``; all False for a
        grammar that makes no such choice."""

    def composed(self, unit: str) -> Tensor | None:
        """``(B,)`` float64: the music each row has composed since the primer, in ``unit`` ("seconds" or
        "bars"; the bar under way not counted), from the grammar's own clock; None where the grammar keeps
        no clock in that unit (the sampler then measures decoded tokens)."""

    def note_tokens(self) -> Tensor:
        """``(V,)`` bool: the ids that start a note (its pitch); bar lines, parts, positions, durations,
        time, tempo and velocities are structure, which a filter of earlier tokens leaves alone."""

    def bias(self) -> Tensor | None:
        """``(B, V)`` float: logits the grammar adds before the filters (bar tokens: a variation's guide,
        :mod:`overworld.tokenizers.bars_vary`), or None where it adds nothing."""


def budget_spent(used: Tensor, budget: Tensor) -> Tensor:
    """``(B,)``: True where a sequence has played as many distinct instruments as its budget (``used``
    ``(B, I)`` marks the instruments played; a budget of 0 is no limit)."""
    return (budget > 0) & (used.sum(dim=1) >= budget)


class BudgetMixin:
    """The instruments a row may still start: the allowed set, and only those already played once its
    budget is spent."""

    allowed_instruments: Tensor  # (I,)
    used: Tensor  # (B, I)
    budget: Tensor  # (B,)

    def may_play(self) -> Tensor:
        """``(B, I)`` bool."""
        spent = budget_spent(self.used, self.budget)
        return self.allowed_instruments[None, :] & (~spent[:, None] | self.used)


def prime_rows(grammar: Grammar, primer: list[int], batch_size: int, device: torch.device) -> None:
    """Feed ``primer`` to every row of ``grammar``, one token at a time."""
    for tok in primer:
        grammar.update(torch.full((batch_size,), tok, dtype=torch.long, device=device))


class SecondsLimit:
    """Ends a row once its music reaches ``max_seconds``, measured with ``seconds(ids)`` every 16 tokens
    (for vocabularies whose time a grammar does not follow token by token)."""

    def __init__(self, seconds_of: object, batch_size: int, max_seconds: float | None, pad: int, eos: int):
        self.seconds_of = seconds_of
        self.max_seconds = max_seconds
        self.pad, self.eos = pad, eos
        self.tokens: list[list[int]] = [[] for _ in range(batch_size)]
        self.steps = 0

    def check(self, tokens: Tensor, done: Tensor) -> None:
        """Record ``tokens (B,)``; set ``done`` where the music is long enough."""
        if self.max_seconds is None:
            return
        for row, tok in enumerate(tokens.tolist()):
            self.tokens[row].append(tok)
        self.steps += 1
        if self.steps % 16:
            return
        for row, ids in enumerate(self.tokens):
            if done[row]:
                continue
            a = np.asarray(ids, dtype=np.int64)
            ends = np.flatnonzero(a == self.eos)
            a = a[: ends[0]] if ends.size else a
            if self.seconds_of(a[a != self.pad]) >= self.max_seconds:  # type: ignore[operator]
                done[row] = True


class FreeGrammar:
    """Any token but PAD and BOS; a row ends at EOS (or at ``max_seconds``), then only PAD follows."""

    def __init__(
        self, tokenizer: object, batch_size: int, *, max_seconds: float | None, device: torch.device
    ):
        self.vocab_size = int(tokenizer.vocab_size)  # type: ignore[attr-defined]
        self.pad, self.bos, self.eos = (int(getattr(tokenizer, n)) for n in ("pad_id", "bos_id", "eos_id"))
        self.done = torch.zeros(batch_size, dtype=torch.bool, device=device)
        self.limit = SecondsLimit(tokenizer.seconds, batch_size, max_seconds, self.pad, self.eos)  # type: ignore[attr-defined]
        self.primer: list[int] = []

    def prime(self, primer: list[int]) -> list[int]:
        self.primer = list(primer)
        return self.primer

    def allowed(self) -> Tensor:
        ok = torch.ones(len(self.done), self.vocab_size, dtype=torch.bool, device=self.done.device)
        ok[:, [self.pad, self.bos]] = False
        ok[self.done] = False
        ok[self.done, self.pad] = True
        return ok

    def update(self, tokens: Tensor) -> None:
        self.done |= tokens == self.eos
        self.limit.check(tokens, self.done)

    def finish(self, row: int, body: list[int], inclusive: bool) -> list[int]:
        return (self.primer if inclusive else []) + body

    def structural(self) -> Tensor:
        return torch.zeros_like(self.done)

    def composed(self, unit: str) -> Tensor | None:
        return None  # no clock: the sampler decodes the tokens

    def bias(self) -> Tensor | None:
        return None

    def note_tokens(self) -> Tensor:
        """Every token but the specials: a free vocabulary does not say which are notes."""
        ok = torch.ones(self.vocab_size, dtype=torch.bool, device=self.done.device)
        ok[[self.pad, self.bos, self.eos]] = False
        return ok
