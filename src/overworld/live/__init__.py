"""Endless game music: bars composed ahead of playback while a game changes their intensity
(:class:`LiveMusic`), and sinks that play or record them (:mod:`overworld.live.sinks`)."""

from overworld.live.stream import Bar, LiveConfig, LiveMusic

__all__ = ["Bar", "LiveConfig", "LiveMusic"]
