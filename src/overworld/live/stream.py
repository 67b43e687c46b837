"""Endless music for a game loop: :class:`LiveMusic` yields bars, composed ahead of playback in a thread.

::

    with LiveMusic(load_model("default"), LiveConfig(bpm=140, key="D minor"), seed=7) as stream:
        for bar in stream:                 # each bar's notes, its start in seconds and its tempo
            engine.schedule(bar.start, bar.score())
            if boss_appeared:
                stream.set_intensity(0.9)  # the next bar handed out is composed at 0.9

A background thread keeps up to ``ahead`` bars composed beyond the last one handed out (a bounded
queue). :meth:`LiveMusic.set_intensity` takes effect from the next bar not yet handed out: the bars
composed ahead at the old level are dropped and composed again (the model's context rewinds to the last
bar handed out), so a change is heard in the bar after the one playing. The key, metre, tempo and
line-up are fixed at the start; with no ``instruments`` the line-up is the instruments the model writes
in one opening bar at full intensity, from which each intensity keeps its budget.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from overworld.errors import ConfigError, OverworldError
from overworld.generation.intensity import Intensity

__all__ = ["Bar", "LiveConfig", "LiveMusic"]

TPQ = 480


@dataclass(frozen=True)
class LiveConfig:
    """The fixed settings of one live stream. ``key`` ``"auto"``: one of the common game keys drawn from
    the seed. ``instruments`` empty: a line-up the model picks at the start."""

    bpm: float = 120.0
    time_signature: str = "4/4"
    key: str = "auto"
    intensity: float = 0.5
    instruments: tuple[int, ...] = ()
    ahead: int = 4  # bars composed beyond the last one handed out
    context: int = 512  # tokens of the model's cache before its window slides

    def __post_init__(self) -> None:
        from overworld.theory import parse_key
        from overworld.tokenizers.bars import TIME_SIGNATURES

        if self.key != "auto":
            parse_key(self.key)
        Intensity(self.intensity)
        if self.metre not in TIME_SIGNATURES:
            known = ", ".join(f"{n}/{d}" for n, d in TIME_SIGNATURES)
            raise ConfigError(f"the bar grid holds the time signatures {known}; not {self.time_signature}")
        checks = (
            ("bpm", 20 <= self.bpm <= 400, "a tempo between 20 and 400 bpm"),
            ("ahead", 1 <= self.ahead <= 32, "between 1 and 32 bars"),
            ("context", 64 <= self.context <= 8192, "between 64 and 8192 tokens"),
            ("instruments", all(type(i) is int and 0 <= i <= 128 for i in self.instruments),
             "GM programs 0-127 or 128 (drums)"),
        )  # fmt: skip
        for name, ok, what in checks:
            if not ok:
                raise ConfigError(f"{name} must be {what}, not {getattr(self, name)!r}")

    @property
    def metre(self) -> tuple[int, int]:
        from overworld.theory import parse_time_signature

        return parse_time_signature(self.time_signature)

    @property
    def bar_seconds(self) -> float:
        num, den = self.metre
        return num * 4 / den * 60.0 / self.bpm

    @property
    def bar_ticks(self) -> int:
        num, den = self.metre
        return TPQ * 4 * num // den


@dataclass(frozen=True)
class Bar:
    """One composed bar: ``notes`` per instrument (GM program, 128 drums) as ``(N, 4)`` int arrays (onset
    tick from this bar's line, duration, pitch, velocity) at 480 ticks a quarter; a note may ring past the
    bar line. ``start`` is its time in seconds from the stream's first bar; ``ready_at`` the
    ``time.monotonic()`` when it was composed."""

    index: int
    start: float
    seconds: float
    bpm: float
    time_signature: str
    key: str
    intensity: float
    notes: dict[int, np.ndarray] = field(repr=False)
    ids: tuple[int, ...] = field(repr=False)
    ready_at: float = 0.0

    @property
    def bar_ticks(self) -> int:
        num, den = (int(x) for x in self.time_signature.split("/"))
        return TPQ * 4 * num // den

    def score(self) -> Any:
        """This bar as a symusic score in ticks from tick 0, at its exact tempo and metre."""
        from overworld.generation.arrangement import Arrangement

        num, den = (int(x) for x in self.time_signature.split("/"))
        return Arrangement(TPQ, self.bar_ticks, dict(self.notes)).score(self.bpm, num, den)


class LiveMusic:
    """Bars of one endless piece from a bar-token ``model`` (what ``load_model`` returns); iterate it, or
    call :meth:`next`. See the module docstring."""

    def __init__(self, model: Any, config: LiveConfig | None = None, seed: int = 0) -> None:
        if not getattr(model.tokenizer, "can_infill", False):
            raise ConfigError(f"live music needs a bar-token model; this one uses "
                              f"{getattr(model.tokenizer, 'name', 'other')} tokens")  # fmt: skip
        from overworld.generation.compose import resolve_key

        self.model, self.config, self.seed = model, config or LiveConfig(), int(seed)
        self.key = resolve_key(self.config.key, self.seed)
        self._level = self.config.intensity
        self._ready: deque[Bar] = deque()
        self._taken = 0  # bars handed out
        self.compose_seconds = 0.0  # the mean wall time one bar takes to compose (recent bars weigh most)
        self.timings: deque[tuple[float, float]] = deque(maxlen=4096)  # (wall, CPU seconds) of each bar
        self._rewind = False
        self._fallback: deque[Bar] = deque()  # bars composed before a change, handed out if it is late
        self._adopt: list[Bar] = []  # fallback bars handed out: the engine goes on after them
        self._stop = False
        self._error: BaseException | None = None
        self._lock = threading.Condition()
        self._thread: threading.Thread | None = None
        self.lineup: tuple[int, ...] = self.config.instruments

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
        """The next bar, waiting for it at most ``timeout`` seconds (None: as long as it takes). After an
        intensity change, ``deadline`` (a ``time.monotonic()``) is the last moment the bar is needed: if
        it is not composed again by then, the bar composed before the change is handed out instead (and
        the music goes on after it), so a change never leaves a gap."""
        self.start()
        until = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            while not self._ready:
                if self._error is not None:
                    raise OverworldError(f"live composition failed: {self._error}") from self._error
                if self._stop:
                    raise OverworldError("the live stream is closed")
                now = time.monotonic()
                if deadline is not None and now >= deadline and self._fallback:
                    return self._hand_out(self._fallback.popleft(), adopted=True)
                if until is not None and now >= until:
                    raise TimeoutError(f"no bar composed within {timeout:g} s")
                ends = [t for t in (until, deadline if self._fallback else None) if t is not None]
                self._lock.wait(max(0.0, min(ends) - now) if ends else None)
            return self._hand_out(self._ready.popleft())

    def _hand_out(self, bar: Bar, adopted: bool = False) -> Bar:
        """Hand ``bar`` out (the lock held); an adopted fallback bar is what the music goes on after."""
        self._taken += 1
        if not adopted:
            self._fallback.clear()  # they went on from the bars composed before a change, not from this one
        if adopted:
            self._adopt.append(bar)
            self._ready.clear()
            self._rewind = True
        self._lock.notify_all()
        return bar

    @property
    def intensity(self) -> float:
        return self._level

    def set_intensity(self, level: float, *, keep: int | None = 0) -> None:
        """Compose at ``level`` (0 calm to 1 intense) from the next bar not yet handed out: the bars
        composed ahead (and the one under way) are composed again, but for the first ``keep`` of them
        (None: all are kept, so the change comes after them). Until a bar is composed again, the one it
        replaces stands by for :meth:`next`'s ``deadline``. Raises :class:`ConfigError` outside 0..1."""
        Intensity(level)
        with self._lock:
            if level == self._level:
                return
            self._level = float(level)
            if keep is not None:
                dropped = list(self._ready)[max(0, keep) :]
                for _ in dropped:
                    self._ready.pop()
                self._fallback = deque(dropped) if dropped else self._fallback
                self._rewind = True
            self._lock.notify_all()

    def ahead(self) -> int:
        """Bars composed and not yet handed out."""
        with self._lock:
            return len(self._ready)

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
    def _run(self) -> None:
        try:
            engine = self._engine()
            while True:
                with self._lock:
                    while len(self._ready) >= self.config.ahead and not self._rewind and not self._stop:
                        self._lock.wait()
                    if self._stop:
                        return
                    rewind, self._rewind = self._rewind, False
                    adopt, self._adopt = self._adopt, []
                    level, keep = self._level, self._taken + len(self._ready)
                began, cpu = time.monotonic(), time.thread_time()
                for bar in adopt:
                    engine.rewind(bar.index)
                    engine.adopt(bar.ids)
                if rewind:
                    engine.rewind(keep)
                ids = engine.next_bar(level, cancel=lambda: self._rewind or self._stop)
                if ids is None:
                    continue
                bar = self._bar(engine, ids, level)
                took = time.monotonic() - began
                self.timings.append((took, time.thread_time() - cpu))
                self.compose_seconds = (
                    took if not self.compose_seconds else 0.8 * self.compose_seconds + 0.2 * took
                )
                with self._lock:
                    if not self._rewind:
                        self._ready.append(bar)
                        self._lock.notify_all()
        except BaseException as exc:  # handed to the consumer, which raises it
            with self._lock:
                self._error = exc
                self._lock.notify_all()

    def _engine(self) -> Any:
        from overworld.config import SampleConfig
        from overworld.live.engine import BarEngine

        cfg = self.config
        base = getattr(self.model, "sampling", None) or SampleConfig()
        settings = dataclasses.replace(base, key=self.key, time_signature=cfg.time_signature, bpm=cfg.bpm,
                                       instruments=cfg.instruments or base.instruments)  # fmt: skip
        if not cfg.instruments:
            self.lineup = self._audition(settings)
            settings = dataclasses.replace(settings, instruments=self.lineup)
        return BarEngine(self.model, settings, seed=self.seed, context=cfg.context)

    def _audition(self, settings: Any) -> tuple[int, ...]:
        """The line-up: the instruments of one opening bar composed at full intensity."""
        from overworld.live.engine import BarEngine, notes_of

        engine = BarEngine(self.model, settings, seed=self.seed, context=self.config.context)
        if engine.plan is not None:  # the plan's instruments, not only those of its first bar
            return engine.plan.instruments
        engine = BarEngine(self.model, settings, seed=self.seed + 7919, context=self.config.context)
        ids = engine.next_bar(1.0, cancel=lambda: self._stop)
        notes = notes_of(self.model.tokenizer, ids or [], self.config.bar_ticks)
        lineup = tuple(sorted(notes, key=lambda i: (-len(notes[i]), i)))
        return lineup or settings.instruments

    def _bar(self, engine: Any, ids: list[int], level: float) -> Bar:
        from overworld.live.engine import notes_of

        cfg, index = self.config, engine.count - 1
        return Bar(index=index, start=index * cfg.bar_seconds, seconds=cfg.bar_seconds, bpm=cfg.bpm,
                   time_signature=cfg.time_signature, key=self.key, intensity=level,
                   notes=notes_of(self.model.tokenizer, ids, cfg.bar_ticks), ids=tuple(ids),
                   ready_at=time.monotonic())  # fmt: skip
