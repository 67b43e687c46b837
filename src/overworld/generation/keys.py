"""The key of a piece that is being rewritten, so that new notes keep to it.

:func:`piece_key` asks, in order: the key the caller gives (``--key``); ``piece.json`` beside the MIDI
file (what ``overworld compose`` writes); the file's first key signature; an estimate from its notes
(Krumhansl and Kessler's key profiles correlated with the duration-weighted pitch classes of the pitched
notes outside the span being rewritten). It says which source it used.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from overworld.errors import ConfigError

__all__ = ["estimate_key", "piece_json", "piece_key", "signature_key"]

# Krumhansl & Kessler (1982) probe-tone profiles, C major and C minor
_MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
_MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])
_MAJOR_NAMES = ("C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
_MINOR_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "G#", "A", "Bb", "B")


def signature_key(score: Any) -> str:
    """The key of ``score``'s first key signature (``"G major"``, ``"E minor"``), or "" when it has none."""
    if not len(score.key_signatures):
        return ""
    first = min(score.key_signatures, key=lambda k: k.time)
    sharps, minor = int(first.key), bool(first.tonality)
    if not -7 <= sharps <= 7:
        return ""
    tonic = (7 * sharps + (9 if minor else 0)) % 12  # the circle of fifths; a minor key a sixth above
    return f"{(_MINOR_NAMES if minor else _MAJOR_NAMES)[tonic]} {'minor' if minor else 'major'}"


def estimate_key(score: Any, span: tuple[int, int] | None = None) -> str:
    """The major or minor key whose profile best correlates with the pitched notes of ``score`` (weighted
    by duration) outside ``span`` (ticks, end excluded); "" when there are none."""
    weights = np.zeros(12)
    for track in score.tracks:
        if track.is_drum:
            continue
        notes = track.notes.numpy()
        keep = np.ones(len(notes["time"]), dtype=bool)
        if span is not None:
            keep = (notes["time"] < span[0]) | (notes["time"] >= span[1])
        np.add.at(weights, notes["pitch"][keep] % 12, np.maximum(notes["duration"][keep], 1))
    if not weights.any() or np.ptp(weights) == 0:
        return ""
    best = max(
        (float(np.corrcoef(weights, np.roll(profile, tonic))[0, 1]), tonic, mode)
        for mode, profile in (("major", _MAJOR), ("minor", _MINOR))
        for tonic in range(12)
    )
    _, tonic, mode = best
    return f"{(_MAJOR_NAMES if mode == 'major' else _MINOR_NAMES)[tonic]} {mode}"


def piece_json(path: str | Path) -> dict[str, Any]:
    """What ``overworld compose`` wrote in ``piece.json`` beside the MIDI file ``path`` (key, bpm, console,
    ...); empty when there is none or it describes another MIDI file. A damaged one is a one-line
    :class:`ConfigError` naming it."""
    path = Path(path)
    info_path = path.with_name("piece.json")
    if not info_path.is_file():
        return {}
    try:
        info = json.loads(info_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ConfigError(f"{info_path}: not a readable piece.json ({exc})") from None
    if not isinstance(info, dict):
        raise ConfigError(f"{info_path}: not a readable piece.json (not an object)")
    files = info.get("files")
    midi = files.get("midi") if isinstance(files, dict) else None
    return info if midi in (None, path.name) else {}


def _from_piece_json(path: Path) -> str:
    """The key in ``piece.json`` beside ``path``, or ""."""
    key = piece_json(path).get("key")
    if not isinstance(key, str) or not key.strip():
        return ""
    from overworld.theory import parse_key

    try:
        parse_key(key)
    except ConfigError as exc:
        raise ConfigError(f"{path.with_name('piece.json')}: {exc}") from None
    return key


def piece_key(
    score: Any, path: str | Path | None = None, span: tuple[int, int] | None = None, given: str = ""
) -> tuple[str, str]:
    """``(key, source)``: the key new notes in ``span`` of ``score`` (read from ``path``) should keep to,
    and where it came from (see the module docstring). The key is "" (any pitch) when nothing tells."""
    if given:
        return given, "--key"
    if path is not None:
        key = _from_piece_json(Path(path))
        if key:
            return key, f"{Path(path).with_name('piece.json')}"
    key = signature_key(score)
    if key:
        return key, "the file's key signature"
    key = estimate_key(score, span)
    if key:
        return key, "estimated from the notes outside the span"
    return "", "no pitched notes outside the span: any pitch"
