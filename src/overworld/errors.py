"""The exceptions overworld raises on bad input: each carries a one-line reason for the user."""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "DataError",
    "DownloadError",
    "MidiError",
    "OverworldError",
    "PathError",
    "one_line",
]


class OverworldError(Exception):
    """Base class: the message is one line that says what went wrong and, where it can, what to do."""


class ConfigError(OverworldError, ValueError):
    """A configuration file or option is invalid (unknown key, wrong type, mismatch)."""


class MidiError(OverworldError):
    """A MIDI file cannot be read; the message is the reason, e.g. 'tempo of 0 microseconds per beat'."""


class DataError(OverworldError):
    """A dataset, shard or prepared folder is missing or inconsistent."""


class PathError(OverworldError):
    """A file or folder given cannot be used: missing, of the wrong kind, unreadable or not writable. The
    message names the path."""


class DownloadError(OverworldError):
    """A download or archive failed verification (size, checksum, unsafe member, truncated)."""


def one_line(exc: BaseException) -> str:
    """The first line of an exception's message (its type's name when it has none): a reason to report."""
    text = str(exc)
    return text.splitlines()[0] if text.strip() else type(exc).__name__
