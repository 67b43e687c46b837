"""The bar engine: one endless bar-token piece, sampled a bar at a time through one key/value cache.

:class:`BarEngine` keeps the model's cache across bars (each token costs one incremental ``model.step``),
so the music continues with everything the cache holds. When the cache holds more than ``context``
tokens, or when bars are taken back (:meth:`BarEngine.rewind`), it is rebuilt from the last bars that fit
in half of that (the window slides a few bars at a time). The grammar (key, metre, tempo, line-up and an
intensity's budgets, :mod:`overworld.generation.intensity`) is rebuilt from the recent bars whenever the
intensity changes, so a change acts from the next bar while the model's context runs on unbroken. (A live
stream composes every bar at one level, its full arrangement, and applies the intensity by layers as bars
are handed out: :mod:`overworld.live.stream`.)

Every bar is kept standing alone (:meth:`~overworld.tokenizers.abilities.BarAbilities.tail`: its repeats of
earlier bars written out, its metre and tempo named), so it decodes by itself and the window can start at
any bar.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from overworld.config import SampleConfig
from overworld.generation.controls import draw_budgets
from overworld.generation.intensity import Intensity, with_intensity
from overworld.generation.sampler import next_logits
from overworld.tokenizers import bar_grid
from overworld.tokenizers.abilities import BarLayout, bars_of, has_bars

__all__ = ["BarEngine"]

KEPT_BARS = 64  # bars remembered (rewinds and the window reach at most this far back)
ENDLESS = 10**9  # the grammar's bar limit: never reached, so it never ends the piece
PLAN_BARS = 128  # bars of the plan a grammar holds to (it is rebuilt long before they run out)


def standalone(bars: list[list[int]], layout: type[BarLayout] | None = None) -> list[int]:
    """Bars (each from its ``BAR``; the first names the metre and tempo) as one piece: the metre and
    tempo named once, in its first bar. ``layout``: the tokens' (default: the bar tokenizer's)."""
    L = layout or bar_grid().layout
    out: list[int] = []
    for i, bar in enumerate(bars):
        out.extend(bar if i == 0 else [t for t in bar if not L.TIMESIG <= t < L.TRACK])
    return out


def _plan(model: Any, settings: SampleConfig, seed: int) -> Any:
    """One training piece's whole arrangement plan (on the line-up), when the settings follow plans and
    the model has them; the engine goes round it bar by bar (:mod:`overworld.generation.plans`)."""
    if not settings.plan or not has_bars(model.tokenizer):
        return None
    from overworld.generation.compose import INTENSITY_INSTRUMENTS
    from overworld.generation.plans import draw_plans, read_plans

    plans = read_plans(model)  # with enough instruments that a calm level has fewer layers
    return draw_plans(plans, 1, None, seed, settings.instruments, INTENSITY_INSTRUMENTS)[0] if plans else None


class BarEngine:
    """Samples one bar at a time (see the module docstring). ``settings`` hold the key, metre, tempo and
    line-up (``instruments``); ``context`` is the most tokens the cache holds before it slides."""

    def __init__(self, model: Any, settings: SampleConfig, *, seed: int, context: int) -> None:
        self.model, self.settings = model, dataclasses.replace(settings, steady=True)
        self.tokenizer = bars_of(model.tokenizer, "live music")
        self.layout = self.tokenizer.layout
        self.plan = _plan(model, self.settings, seed)  # the arrangement the endless piece goes round
        self.lm = model.model
        self.context = max(64, min(int(context), self.lm.config.sequence_length - 1))
        self.device = next(self.lm.parameters()).device
        self.generator = torch.Generator(device=self.device).manual_seed(int(seed))
        self.bars: list[list[int]] = []  # the last KEPT_BARS bars, each standing alone
        self.first = 0  # the index of self.bars[0] in the piece
        self.level: float | None = None
        self.stale = True  # the cache and grammar are (re)built before the next bar

    @property
    def count(self) -> int:
        """Bars composed so far."""
        return self.first + len(self.bars)

    def ranking(self, level: float) -> tuple[int, ...]:
        """The instruments bars composed at ``level`` may hold, the most important first (the lowest
        layers): the plan's by the bars they play in (as :meth:`~overworld.tokenizers.bars_plan.Plan.layers`
        keeps them), else the line-up in its order."""
        if self.plan is None:
            return tuple(self.settings.instruments)
        plan = self.plan.layers(Intensity(level).instruments, Intensity(level).drums)
        played = {i: sum(i in {p for p, _ in parts} for parts in plan.bars) for i in plan.instruments}
        return tuple(sorted(played, key=lambda i: (-played[i], i)))

    # ------------------------------------------------------------------------------------------ state
    def _grammar(self, level: float | None, primer: list[int]) -> Any:
        """A grammar at ``level`` (None: the settings' own budgets), primed with ``primer``; the budget of
        distinct instruments counts from here, so a calmer level thins the line-up at once."""
        model, config, plan = self.model, self.settings, self.plan
        if level is not None and plan is not None:  # the plan's layers at that level, its velocities, texture
            model, config = (
                with_intensity(self.model, Intensity(level), planned=True),
                Intensity(level).texture(config),
            )
            plan = plan.layers(Intensity(level).instruments, Intensity(level).drums)
        elif level is not None:
            model, config = with_intensity(self.model, Intensity(level)), Intensity(level).settings(config)
        self.config = config
        budget = 0 if plan is not None else config.max_instruments
        budgets = draw_budgets(budget, 1, self.generator, self.device)
        grammar = model.tokenizer.grammar(1, config, budgets=budgets, max_bars=ENDLESS, device=self.device)
        grammar.prime(primer)
        grammar.used.zero_()
        if plan is not None:  # from the bar under way: the primer ends with its BAR
            grammar.follow([plan.segment(self.count, PLAN_BARS)], under_way=bool(primer))
        return grammar

    def _window(self, budget: int) -> list[int]:
        """The last bars whose tokens fit in ``budget`` (at most 16 + 1, for repeats), as one piece
        whose repeats are found again, then the ``BAR`` of the next bar."""
        size, start, reach, L = 0, len(self.bars), self.tokenizer.repeat_reach, self.layout
        while start > 0 and len(self.bars) - start <= reach and size + len(self.bars[start - 1]) <= budget:
            start -= 1
            size += len(self.bars[start])
        if start == len(self.bars):
            return [L.BAR]
        ids = self.tokenizer.tail(standalone(self.bars[start:], L), 0)
        missing = len(self.bars) - start - ids.count(L.BAR)  # silent bars at the end
        return [*ids, *[L.BAR] * missing, L.BAR]

    def _reset(self) -> None:
        """A new cache holding ``BOS``, the last bars that fit in half the context and the next ``BAR``;
        a grammar primed with them."""
        primer = self._window(self.context // 2) if self.bars else []
        self.cache = self.lm.new_cache(1, self.device)
        ids = torch.tensor([[self.model.tokenizer.bos_id, *primer]], dtype=torch.long, device=self.device)
        chunk = max(1, self.lm.config.sequence_length // 2)
        with torch.inference_mode():
            for begin in range(0, ids.shape[1], chunk):
                self.logits = self.lm.step(ids[:, begin : begin + chunk], self.cache)[:, -1]  # (1, V)
        self.fed = ids.shape[1]
        self.grammar = self._grammar(self.level, primer)
        self.bar: list[int] = [self.layout.BAR] if primer else []
        self.seen: list[int] = []  # the notes sampled since, -1 for other tokens (the filters' history)
        self.stale = False

    def rewind(self, keep: int) -> None:
        """Forget the bars from ``keep`` on (and the bar under way) and continue after bar ``keep - 1``."""
        keep = max(self.first, min(int(keep), self.count))
        del self.bars[keep - self.first :]
        self.stale = True

    def adopt(self, bar: list[int] | tuple[int, ...]) -> None:
        """Continue after ``bar`` (standalone tokens, as :meth:`next_bar` returns them) as the next bar."""
        self.bars.append(list(bar))
        if len(self.bars) > KEPT_BARS:
            self.first += len(self.bars) - KEPT_BARS
            del self.bars[: len(self.bars) - KEPT_BARS]
        self.stale = True

    # --------------------------------------------------------------------------------------- sampling
    def next_bar(self, level: float | None, cancel: Callable[[], bool] = lambda: False) -> list[int] | None:
        """The next bar at intensity ``level`` (None: the settings' budgets), standing alone; None when
        ``cancel()`` turned true on the way (then :meth:`rewind` before going on)."""
        if self.stale or self.fed > self.context:
            self.level = level
            self._reset()
        elif level != self.level:
            self.level = level
            self.grammar = self._grammar(level, self._window(self.context // 2) if self.bars else [])
        with torch.inference_mode():
            while True:
                if cancel():
                    return None
                token = self._sample()
                if token == self.layout.BAR and self.bar:
                    done, self.bar = self.bar, [token]
                    self._feed(token)
                    return self._keep(done)
                self.bar.append(token)
                self._feed(token)

    def _sample(self) -> int:
        history = torch.tensor([self.seen], dtype=torch.long, device=self.device)  # (1, t): recent notes
        probs = torch.softmax(next_logits(self.logits, self.grammar, self.config, history), dim=-1)  # (1, V)
        return int(torch.multinomial(probs, 1, generator=self.generator)[0, 0])

    def _feed(self, token: int) -> None:
        ids = torch.tensor([token], dtype=torch.long, device=self.device)
        note = bool(self.grammar.note_tokens()[token])
        self.seen = [*self.seen[-self.config.repetition_window + 1 :], token if note else -1]
        self.grammar.update(ids)
        self.logits = self.lm.step(ids[:, None], self.cache)[:, -1]  # (1, V): one incremental step
        self.fed += 1

    def _keep(self, bar: list[int]) -> list[int]:
        """Remember ``bar`` standing alone (its repeats written out from the bars before it)."""
        back = self.bars[-self.tokenizer.repeat_reach :]
        alone = self.tokenizer.tail(standalone([*back, bar], self.layout), len(back))
        self.adopt(alone)
        self.stale = False
        return list(alone)


def notes_of(tokenizer: Any, bar: list[int], bar_ticks: int) -> dict[int, np.ndarray]:
    """The notes of a bar standing alone: instrument -> ``(N, 4)`` (onset tick from the bar line,
    duration, pitch, velocity) at 480 ticks a quarter."""
    from overworld.generation.arrangement import Arrangement

    return Arrangement.from_score(tokenizer.decode(bar), bar_ticks).bars(0, 1).notes
