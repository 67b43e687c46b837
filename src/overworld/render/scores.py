"""The Score a renderer or a picture starts from: :func:`as_score` (a Score in seconds from a Score or a MIDI
path) and :func:`music_end` (where its last note ends). The package's ``__init__`` and its parts import
them from here, so no part imports the package back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["as_score", "music_end"]


def as_score(source: Any, max_seconds: float = 3600.0) -> Any:
    """A Score in seconds from a Score (any time unit) or a MIDI path (loaded safely)."""
    if isinstance(source, str | Path):
        from overworld.midi import load_score

        return load_score(source, max_seconds=max_seconds)
    from overworld.midi import in_seconds

    return in_seconds(source)


def music_end(score: Any) -> float:
    """When the last note of a Score in seconds ends (controls and markers after it do not count)."""
    notes = (t.notes.numpy() for t in score.tracks if len(t.notes))
    ends = [float((n["time"] + n["duration"]).max()) for n in notes]
    return max(ends, default=0.0)
