"""Endless game music: bars composed ahead of playback at their full arrangement, each part tagged with
its intensity layer, the intensity applied as each bar is handed out (:class:`LiveMusic`); and sinks
that play or record them (:mod:`overworld.live.sinks`)."""

from overworld.live.bar import Bar, LiveConfig
from overworld.live.stream import LiveMusic, LiveStats

__all__ = ["Bar", "LiveConfig", "LiveMusic", "LiveStats"]
