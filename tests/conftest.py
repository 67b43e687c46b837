"""Shared fixtures: tiny scores built in code. Each helper module adds its own fixtures beside its tests."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("OMP_NUM_THREADS", "2")


@pytest.fixture
def c_major_score():
    """A C major scale on piano (program 0) plus a kick drum on every beat, 120 bpm, in seconds."""
    import symusic

    score = symusic.Score(480, ttype="second")
    piano = symusic.Track(name="Piano", program=0, is_drum=False, ttype="second")
    for i, pitch in enumerate([60, 62, 64, 65, 67, 69, 71, 72]):  # C4 .. C5, one note per half second
        piano.notes.append(symusic.Note(i * 0.5, 0.45, pitch, 80, "second"))
    drums = symusic.Track(name="Drums", program=0, is_drum=True, ttype="second")
    for i in range(8):
        drums.notes.append(symusic.Note(i * 0.5, 0.1, 36, 100, "second"))
    score.tracks.append(piano)
    score.tracks.append(drums)
    return score
