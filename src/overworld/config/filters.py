"""Sampling filters, each declared once: a pure function over logits and the
:class:`~overworld.config.SampleConfig` fields it reads.

A filter takes logits ``(B, V)``, its settings and, where it declares ``history``, the tokens generated so
far ``(B, t)`` (long ids; -1 for finished rows and for tokens the grammar does not call notes, see
:meth:`~overworld.tokenizers.grammar.Grammar.note_tokens`), and returns new logits. Tokens a filter
removes get ``-inf``; a filter never removes every token of a row (the best stays). A filter's settings
at their defaults leave the logits untouched.

:data:`FILTERS` is the registry, in the order the filters run; ``SampleConfig`` is built with every
registered filter's fields, so a filter added here is a flag of ``generate``, ``compose`` and ``infill``,
a widget of the studio and a key of ``generation_config.json`` with no other change. The registry lives at
the config layer (not in :mod:`overworld.generation`) because ``SampleConfig`` is made of it and the model
folder (``models/storage.py``, below generation) reads ``SampleConfig``. torch is imported inside the
functions, so reading a config (``overworld --help``) does not import it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from overworld.config.fields import control

if TYPE_CHECKING:
    from torch import Tensor

__all__ = ["FILTERS", "Filter", "min_p", "repetition_penalty", "temperature", "top_k", "top_p"]

# B batch, V vocabulary, t tokens generated so far


@dataclass(frozen=True)
class Filter:
    """One filter: ``fn(logits, *settings)`` (with ``history``: ``fn(logits, *settings, history)``) and
    its settings, ``{SampleConfig field name: its field}`` (:func:`~overworld.config.fields.control`; the
    field's type is its default's), passed to ``fn`` in this order."""

    fn: Callable[..., Tensor]
    fields: dict[str, Any]
    history: bool = False


def temperature(logits: Tensor, value: float) -> Tensor:
    """Divide logits by ``value``; ``value <= 0`` is greedy (only the best token of each row stays)."""
    import torch

    if value <= 0:
        best = logits.argmax(dim=-1, keepdim=True)  # (B, 1)
        out = torch.full_like(logits, float("-inf"))
        return out.scatter(-1, best, logits.gather(-1, best))
    if value == 1.0:
        return logits
    return logits / value


def top_k(logits: Tensor, value: int) -> Tensor:
    """Keep exactly the ``value`` highest logits of each row; ``value <= 0`` (or >= V) keeps all."""
    import torch

    k = int(value)
    if k <= 0 or k >= logits.shape[-1]:
        return logits
    kept, index = torch.topk(logits, k, dim=-1)  # (B, k)
    out = torch.full_like(logits, float("-inf"))
    return out.scatter(-1, index, kept)


def top_p(logits: Tensor, value: float) -> Tensor:
    """Nucleus: keep the smallest set of most likely tokens whose probability sums to at least ``value``.

    ``value >= 1`` keeps all; the most likely token is always kept.
    """
    import torch

    if value >= 1.0:
        return logits
    ordered, index = torch.sort(logits, dim=-1, descending=True)  # (B, V)
    probs = torch.softmax(ordered, dim=-1)  # (B, V)
    before = torch.cumsum(probs, dim=-1) - probs  # mass of the better tokens, (B, V)
    drop_sorted = before >= value
    drop_sorted[..., 0] = False
    drop = torch.zeros_like(drop_sorted).scatter(-1, index, drop_sorted)  # back to vocabulary order
    return logits.masked_fill(drop, float("-inf"))


def min_p(logits: Tensor, value: float) -> Tensor:
    """Min-p (Nguyen et al. 2024): drop the tokens less likely than ``value`` times the most likely one of
    their row. Unlike a lower temperature it leaves the odds between the tokens it keeps as they were, so it
    cuts the improbable tail (a stray far pitch, a crowded chord) without piling notes onto the mode;
    ``value`` 0 is off."""
    import torch

    if value <= 0:
        return logits
    probs = torch.softmax(logits, dim=-1)  # (B, V)
    keep = probs >= value * probs.amax(dim=-1, keepdim=True)  # the best token of each row always stays
    return logits.masked_fill(~keep, float("-inf"))


def repetition_penalty(logits: Tensor, value: float, window: int, history: Tensor) -> Tensor:
    """CTRL's penalty (Keskar et al. 2019): the logits of the notes among the last ``window`` tokens of
    ``history`` ``(B, t)`` divided by ``value`` where positive and multiplied by it where negative, so a
    pitch just played is less likely to come again; ``value`` 1 is off. Only notes are seen (``history``
    holds -1 elsewhere): a penalty on bar lines, parts and positions would break the structure the music
    repeats by design."""
    import torch

    recent = history[:, -window:]  # (B, w)
    if value == 1.0 or recent.shape[1] == 0:
        return logits
    seen = torch.zeros(logits.shape[0], logits.shape[1] + 1, dtype=torch.bool, device=logits.device)
    seen = seen.scatter(-1, recent.clamp(min=-1) + 1, True)[:, 1:]  # (B, V); column 0 took the -1s
    penalised = torch.where(logits > 0, logits / value, logits * value)
    return torch.where(seen, penalised, logits)


FILTERS: dict[str, Filter] = {
    "temperature": Filter(
        temperature,
        {
            "temperature": control(
                1.0,
                "softmax temperature; 0 is greedy",
                low=0,
                high=100,
                step=0.05,
                what="between 0 (greedy) and 100",
            )
        },
    ),
    "top_k": Filter(
        top_k,
        {
            "top_k": control(
                0,
                "sample among the K best tokens; 0: off",
                low=0,
                high=1_000_000,
                what="between 0 (off) and 1,000,000",
            )
        },
    ),
    "top_p": Filter(
        top_p,
        {
            "top_p": control(
                1.0,
                "nucleus probability; 1: off",
                low=0,
                above=True,
                high=1,
                step=0.01,
                what="above 0 and at most 1 (off)",
            )
        },
    ),
    "min_p": Filter(
        min_p,
        {
            "min_p": control(
                0.0,
                "drop tokens less likely than MIN_P times the best one; 0: off",
                low=0,
                high=1,
                step=0.01,
                what="between 0 (off) and 1",
            )
        },
    ),
    "repetition_penalty": Filter(
        repetition_penalty,
        {
            "repetition_penalty": control(
                1.0,
                "divide the logits of notes played in the last --repetition-window tokens by this (multiply "
                "where negative), CTRL-style; 1: off",
                low=1,
                high=10,
                step=0.05,
                what="between 1 (off) and 10",
            ),
            "repetition_window": control(
                64, "tokens back that --repetition-penalty looks at (notes only)", low=1, high=100_000
            ),
        },
        history=True,
    ),
}
