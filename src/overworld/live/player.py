"""Play a live stream into a sink for a while, and measure it: how many bars were composed ahead at each
bar line, which bars were late or repeated (fallbacks), and when each intensity change was heard.

With ``realtime`` the player takes each bar ``lead`` seconds before its bar line on the wall clock (as a
game or a sound card would) and waits for it otherwise; a sink that blocks while a bar plays (the sound
card, a MIDI port) paces itself, so it runs with ``realtime=False`` and ``live=True`` (a bar is needed as
soon as the one before has been written), as a file sink runs with neither to record as fast as the
model composes. The intensity is applied as a bar is taken, so a change is heard at the first bar taken
after it: at the next bar line unless it came in the last ``lead`` seconds before it, when that bar was
already on its way to the sink.
"""

from __future__ import annotations

import bisect
import statistics
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from overworld.live.stream import LiveMusic

__all__ = ["Change", "Controls", "PlayReport", "play"]


@dataclass
class Change:
    """One intensity change: when (``time.monotonic()``), to what, the bar playing then, and the first
    bar at the new level and when it started playing (None until it has)."""

    at: float
    level: float
    playing: int
    heard_bar: int | None = None
    heard_at: float | None = None

    @property
    def latency(self) -> float | None:
        """Seconds from the change to the start of the first bar played at the new level."""
        return None if self.heard_at is None else self.heard_at - self.at


@dataclass
class PlayReport:
    """What one play did: bars played, the bars composed ahead at each bar line, bars that came late (not
    ready at their bar line), ``fallbacks`` (bars repeated because none was composed in time), each bar's
    ``lines`` (when it started playing, ``time.monotonic()``) and when it was ``taken`` from the stream,
    and the intensity changes."""

    bars: int = 0
    ahead: list[int] = field(default_factory=list)
    late: int = 0
    fallbacks: int = 0
    lines: list[float] = field(default_factory=list)
    taken: list[float] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    started: float = 0.0
    wall_seconds: float = 0.0

    def next_line(self, change: Change) -> int | None:
        """The bar whose line came first after ``change`` (None: playing stopped before one did)."""
        i = bisect.bisect_right(self.lines, change.at)
        return i if i < len(self.lines) else None

    def on_time(self) -> tuple[int, int]:
        """Changes heard at the first bar line after them, and the changes that had a bar line after them
        and were not overtaken by another change before it."""
        counted = [c for i, c in enumerate(self.changes) if self._counts(i)]
        heard = sum(c.heard_bar is not None and c.heard_bar == self.next_line(c) for c in counted)
        return heard, len(counted)

    def _counts(self, i: int) -> bool:
        line = self.next_line(self.changes[i])
        later = self.changes[i + 1 :]
        return line is not None and not (later and later[0].at < self.lines[line])

    def too_late(self) -> int:
        """Changes that came after the bar at their next bar line was taken (so it could not have them)."""
        lines = [self.next_line(c) for c in self.changes]
        return sum(
            i is not None and i < len(self.taken) and c.at > self.taken[i]
            for c, i in zip(self.changes, lines)
        )

    def ahead_summary(self) -> tuple[int, float]:
        """The fewest bars composed ahead at a bar line after the first, and the median."""
        ahead = self.ahead[1:] or [0]
        return min(ahead), statistics.median(ahead)


class Controls:
    """Changes the intensity of a stream while :func:`play` plays it (from any thread), and times each
    change into ``report``."""

    def __init__(self, stream: LiveMusic) -> None:
        self.stream, self.report, self.playing = stream, PlayReport(), -1
        self.lock = threading.Lock()

    def set_intensity(self, level: float) -> None:
        with self.lock:
            self.stream.set_intensity(level)
            self.report.changes.append(Change(time.monotonic(), float(level), self.playing))

    def heard(self, bar: Any, now: float) -> None:
        with self.lock:
            self.playing = bar.index
            for change in self.report.changes:
                if change.heard_bar is None and bar.index > change.playing and bar.intensity == change.level:
                    change.heard_bar, change.heard_at = bar.index, now


def play(stream: LiveMusic, sink: Any, *, minutes: float | None = None, realtime: bool = False,
         lead: float = 0.25, stop: threading.Event | None = None,
         controls: Controls | None = None, live: bool = False) -> PlayReport:  # fmt: skip
    """Take bars from ``stream`` into ``sink`` until ``minutes`` of music have played or ``stop`` is set.
    Change the intensity through ``controls.set_intensity`` (from another thread) so that the report
    times it. A bar not composed in time (``realtime``: half ``lead`` before its bar line; ``live``, a
    sink that plays as it is written: 50 ms after it is asked for) is a repeat of an earlier one
    (:meth:`LiveMusic.next`), so playback never waits. The sink is closed at the end (its file kept on an
    interrupt, removed on an error)."""
    ctl = controls or Controls(stream)
    report = ctl.report
    stop = stop or threading.Event()
    report.started = time.monotonic()
    period, t0 = stream.config.bar_seconds, None
    ok = False
    try:
        while not stop.is_set():
            if minutes is not None and report.bars * period >= minutes * 60 - 1e-9:
                break
            if realtime and t0 is not None:
                _sleep_until(t0 + period * report.bars - lead, stop)
            line = t0 + period * report.bars if t0 is not None else time.monotonic() + lead
            bar = stream.next(
                deadline=line - lead / 2 if realtime else time.monotonic() + 0.05 if live else None
            )
            now = time.monotonic()
            t0 = now + (lead if realtime else 0.0) if t0 is None else t0
            bar_line = t0 + period * report.bars if realtime else now
            report.late += bool(realtime and now > bar_line)
            report.fallbacks += bar.fallback
            report.ahead.append(stream.ahead())
            report.lines.append(max(now, bar_line))
            report.taken.append(now)
            ctl.heard(bar, max(now, bar_line))
            sink.write(bar)
            report.bars += 1
        ok = True
    except KeyboardInterrupt:
        ok = True
        raise
    finally:
        report.wall_seconds = time.monotonic() - report.started
        sink.close(ok)
    return report


def _sleep_until(when: float, stop: threading.Event) -> None:
    left = when - time.monotonic()
    if left > 0:
        stop.wait(left)
