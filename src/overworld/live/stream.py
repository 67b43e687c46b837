"""Endless music for a game loop: :class:`LiveMusic` yields bars, composed ahead of playback in a thread.

::

    with LiveMusic(load_model("default"), LiveConfig(bpm=140, key="D minor"), seed=7) as stream:
        stream.wait_ready(6)                       # while the game loads
        while playing:
            bar = stream.next(deadline=when_needed)  # its notes, its start in seconds, its tempo
            engine.schedule(bar.start, bar.score())
            if boss_appeared:
                stream.set_intensity(0.9)          # heard from the next bar handed out

The music is built the way adaptive game music is, from vertical layers. A background thread keeps up
to ``ahead`` bars composed beyond the last one handed out, each at the full arrangement
(``LiveConfig.full``) with every instrument tagged with its layer: the lowest intensity it sounds at (an
arrangement plan's most-played instruments are the lowest layers; :mod:`overworld.live.bar`). The
intensity is applied when a bar is handed out (layers muted or unmuted, velocities scaled), so a change
never throws away the bars composed ahead and is heard at the next bar handed out.

If the composer falls behind (no bar composed by ``next``'s ``deadline``), the music does what game music
does, and loops: the last ``LOOP_BARS`` bars handed out go round (the last phrase plays again) until a
composed bar is there again; :meth:`LiveMusic.stats` counts these fallback bars. The key,
metre, tempo and line-up are fixed at the start; with no ``instruments`` the line-up is an arrangement
plan's (or the instruments the model writes in one opening bar at full intensity).
"""

from __future__ import annotations

import dataclasses
import statistics
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from overworld.errors import OverworldError
from overworld.generation.intensity import Intensity, layer_levels
from overworld.live.bar import TPQ, Bar, LiveConfig
from overworld.tokenizers.abilities import bars_of

__all__ = ["LOOP_BARS", "TPQ", "Bar", "LiveConfig", "LiveMusic", "LiveStats"]

LOOP_BARS = 4  # while composing is behind, the last bars go round: the last phrase loops
MIN_AHEAD = 2  # bars a real-time consumer should find ready at each bar line
SLACK = 1.25  # how much longer than its recent mean a bar may take, when foreseeing the next bar line


@dataclass(frozen=True)
class LiveStats:
    """How a stream is doing: bars ``composed`` and ``handed_out``, of which ``fallbacks`` were repeats
    (none composed in time), bars ``ahead`` now, and the wall and CPU seconds a bar took to compose
    (``real_time``: music seconds composed per wall second; above 1, the queue refills)."""

    composed: int
    handed_out: int
    fallbacks: int
    ahead: int
    compose_seconds: float
    compose_cpu_seconds: float
    real_time: float


class LiveMusic:
    """Bars of one endless piece from a bar-token ``model`` (what ``load_model`` returns); iterate it, or
    call :meth:`next`. See the module docstring."""

    def __init__(self, model: Any, config: LiveConfig | None = None, seed: int = 0) -> None:
        bars_of(model.tokenizer, "live music")  # a one-line ConfigError before any work
        from overworld.generation.compose import resolve_key

        self.model, self.config, self.seed = model, config or LiveConfig(), int(seed)
        self.key = resolve_key(self.config.key, self.seed)
        self._level = self.config.intensity
        self._ready: deque[Bar] = deque()  # composed bars (full arrangement) not yet handed out
        self._played: deque[Bar] = deque(maxlen=LOOP_BARS)  # the last bars handed out, as composed
        self._taken = 0  # bars handed out
        self._composed = 0
        self.fallbacks = 0  # bars handed out as repeats, none composed in time
        self._loop = 0  # while behind: the bars that go round (0: not behind)
        self._since: float | None = None  # when the bar under way began composing (None: idle)
        self.compose_seconds = 0.0  # the mean wall time one bar takes to compose (recent bars weigh most)
        self.timings: deque[tuple[float, float]] = deque(maxlen=4096)  # (wall, CPU seconds) of each bar
        self._stop = False
        self._error: BaseException | None = None
        self._lock = threading.Condition()
        self._thread: threading.Thread | None = None
        self.lineup: tuple[int, ...] = self.config.instruments
        self.layers: dict[int, float] = {}  # instrument -> the lowest intensity it sounds at

    # ----------------------------------------------------------------------------------- consumer API
    def start(self) -> LiveMusic:
        """Start composing (iterating starts it too)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="overworld-live", daemon=True)
            self._thread.start()
        return self

    def __iter__(self) -> Iterator[Bar]:
        self.start()
        while True:
            yield self.next()

    def next(self, timeout: float | None = None, *, deadline: float | None = None) -> Bar:
        """The next bar at the current intensity, waiting for it at most ``timeout`` seconds (None: as
        long as it takes; then :class:`TimeoutError`). ``deadline`` (a ``time.monotonic()``) is the last
        moment the bar is needed: if none is composed by then, an earlier bar is repeated instead (the
        last :data:`LOOP_BARS` bars handed out go round, fewer at the start), so playback never waits
        once it has begun."""
        self.start()
        until = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            while not self._ready:
                if self._error is not None:
                    raise OverworldError(f"live composition failed: {self._error}") from self._error
                if self._stop:
                    raise OverworldError("the live stream is closed")
                now = time.monotonic()
                if deadline is not None and now >= deadline and self._played:
                    self._loop = self._loop or len(self._played)  # the phrase that goes round while behind
                    return self._hand_out(self._played[-self._loop], fallback=True)
                if until is not None and now >= until:
                    raise TimeoutError(f"no bar composed within {timeout:g} s")
                ends = [t for t in (until, deadline if self._played else None) if t is not None]
                self._lock.wait(max(0.0, min(ends) - now) if ends else None)
            return self._hand_out(self._ready.popleft(), deadline=deadline)

    def _hand_out(self, take: Bar, fallback: bool = False, deadline: float | None = None) -> Bar:
        """``take`` (a composed bar, or a repeat) at the current intensity, as the next bar of playback
        (lock held). After a bar taken by its ``deadline``, if the next bar line would find fewer than
        :data:`MIN_AHEAD` bars ready, the last phrase is queued again to play next (see the module
        docstring)."""
        index, seconds = self._taken, self.config.bar_seconds
        fallback = fallback or take.fallback
        self._taken += 1
        self.fallbacks += fallback
        self._loop = self._loop if fallback else 0
        self._played.append(take)
        if deadline is not None and self._short(deadline + seconds):
            phrase = [*self._played, *self._ready][-LOOP_BARS:]
            self._ready.extend(dataclasses.replace(b, fallback=True) for b in phrase)
        self._lock.notify_all()  # the composer may fill the place
        return dataclasses.replace(
            take.at(self._level), index=index, start=index * seconds, fallback=fallback
        )

    def _short(self, needed: float) -> bool:
        """Whether, at the recent pace, fewer than :data:`MIN_AHEAD` bars (at most ``ahead - 1``) will be
        ready after the next bar is taken at ``needed`` (a ``time.monotonic()``; lock held)."""
        floor = min(MIN_AHEAD, self.config.ahead - 1)
        if len(self._ready) > floor or not self.compose_seconds:
            return False
        now, pace = time.monotonic(), SLACK * self.compose_seconds
        since = now if self._since is None else self._since  # when the bar under way began
        finish = since + pace if since + pace > now else now + pace  # one overdue is foreseen anew
        done = 0 if finish > needed else 1 + int((needed - finish) / pace)
        return len(self._ready) - 1 + done < floor

    @property
    def intensity(self) -> float:
        return self._level

    def set_intensity(self, level: float) -> None:
        """Play at ``level`` (0 calm to 1 intense) from the next bar handed out: its layers sound, the
        others are muted, its velocities are scaled (the bars composed ahead stay). Raises
        :class:`ConfigError` outside 0..1."""
        Intensity(level)
        with self._lock:
            self._level = float(level)

    def ahead(self) -> int:
        """Bars composed and not yet handed out."""
        with self._lock:
            return len(self._ready)

    def stats(self) -> LiveStats:
        """What the stream has done so far (see :class:`LiveStats`)."""
        with self._lock:
            wall, cpu = zip(*self.timings) if self.timings else ((0.0,), (0.0,))
            mean = statistics.fmean(wall)
            return LiveStats(composed=self._composed, handed_out=self._taken, fallbacks=self.fallbacks,
                             ahead=len(self._ready), compose_seconds=mean,
                             compose_cpu_seconds=statistics.fmean(cpu),
                             real_time=self.config.bar_seconds / mean if mean else 0.0)  # fmt: skip

    def wait_ready(self, bars: int, timeout: float | None = None) -> int:
        """Wait until ``bars`` bars (at most ``ahead``) are composed ahead, at most ``timeout`` seconds;
        returns how many are."""
        self.start()
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            while len(self._ready) < min(bars, self.config.ahead) and self._error is None and not self._stop:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    break
                self._lock.wait(left)
            if self._error is not None:
                raise OverworldError(f"live composition failed: {self._error}") from self._error
            return len(self._ready)

    def close(self) -> None:
        """Stop composing (the thread ends after the token under way)."""
        with self._lock:
            self._stop = True
            self._lock.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def __enter__(self) -> LiveMusic:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------------------------ the thread
    def _queued(self) -> int:
        """Composed bars waiting (repeats queued while behind do not count: composing goes on)."""
        return sum(not b.fallback for b in self._ready)

    def _run(self) -> None:
        try:
            engine = self._engine()
            while True:
                with self._lock:
                    while self._queued() >= self.config.ahead and not self._stop:
                        self._lock.wait()
                    if self._stop:
                        return
                    began, cpu = time.monotonic(), time.thread_time()
                    self._since = began
                ids = engine.next_bar(self.config.full, cancel=lambda: self._stop)
                if ids is None:
                    return
                bar = self._bar(engine, ids)
                took = time.monotonic() - began
                with self._lock:
                    self._since = None
                    self.timings.append((took, time.thread_time() - cpu))
                    self.compose_seconds = (
                        took if not self._composed else 0.8 * self.compose_seconds + 0.2 * took
                    )
                    self._ready.append(bar)
                    self._composed += 1
                    self._lock.notify_all()
        except BaseException as exc:  # handed to the consumer, which raises it
            with self._lock:
                self._error = exc
                self._lock.notify_all()

    def _engine(self) -> Any:
        """The bar engine, with the line-up and each instrument's layer set; torch's threads for this
        thread chosen for sampling one bar at a time (one for a small model)."""
        from overworld.config import SampleConfig
        from overworld.live.engine import BarEngine

        cfg, lm = self.config, self.model.model
        if next(lm.parameters()).device.type == "cpu":  # this thread's torch threads (overworld.threads)
            from overworld.threads import choose_threads

            choose_threads(parameters=lm.num_parameters() if hasattr(lm, "num_parameters") else None)
        base = getattr(self.model, "sampling", None) or SampleConfig()
        settings = dataclasses.replace(base, key=self.key, time_signature=cfg.time_signature, bpm=cfg.bpm,
                                       instruments=cfg.instruments or base.instruments)  # fmt: skip
        engine = BarEngine(self.model, settings, seed=self.seed, context=cfg.context)
        if not cfg.instruments:
            self.lineup = engine.plan.instruments if engine.plan is not None else self._audition(settings)
            settings = dataclasses.replace(settings, instruments=self.lineup)
            engine = BarEngine(self.model, settings, seed=self.seed, context=cfg.context)
        self.layers = layer_levels(engine.ranking(self.config.full))
        return engine

    def _audition(self, settings: Any) -> tuple[int, ...]:
        """The line-up: the instruments of one opening bar composed at full intensity, busiest first."""
        from overworld.live.engine import BarEngine, notes_of

        engine = BarEngine(self.model, settings, seed=self.seed + 7919, context=self.config.context)
        ids = engine.next_bar(1.0, cancel=lambda: self._stop)
        notes = notes_of(self.model.tokenizer, ids or [], self.config.bar_ticks)
        lineup = tuple(sorted(notes, key=lambda i: (-len(notes[i]), i)))
        return lineup or settings.instruments

    def _bar(self, engine: Any, ids: list[int]) -> Bar:
        """A composed bar (the full arrangement, at its composed velocities), its layers tagged."""
        from overworld.live.engine import notes_of

        cfg, index = self.config, engine.count - 1
        notes = notes_of(self.model.tokenizer, ids, cfg.bar_ticks)
        return Bar(index=index, start=index * cfg.bar_seconds, seconds=cfg.bar_seconds, bpm=cfg.bpm,
                   time_signature=cfg.time_signature, key=self.key, intensity=cfg.full, notes=notes,
                   ids=tuple(ids), ready_at=time.monotonic(), full=notes, layers=self.layers,
                   full_level=cfg.full, composed=index)  # fmt: skip
