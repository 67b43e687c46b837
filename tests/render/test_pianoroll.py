"""The piano roll draws notes struck back to back on one pitch as separate notes."""

from __future__ import annotations

import matplotlib.image
import numpy as np
import symusic

from overworld.render.pianoroll import plot_pianoroll

NOTE_COLOUR = np.array([0.122, 0.467, 0.706])  # tab20's first colour: the first instrument's notes


def _runs(row: np.ndarray) -> int:
    """Stretches of pixels of the note colour along a row of RGB(A) pixels."""
    note = np.abs(row[:, :3] - NOTE_COLOUR).max(axis=1) < 0.05
    return int(np.count_nonzero(note[1:] & ~note[:-1]) + note[0])


def test_an_eighth_note_ostinato_is_eight_notes_not_one(tmp_path):
    score = symusic.Score(480)
    track = symusic.Track(program=38)
    track.notes.extend([symusic.Note(i * 240, 240, 60, 100) for i in range(8)])  # C4, eighths, no gaps
    score.tracks.append(track)
    score.tempos.append(symusic.Tempo(0, 120.0))
    png = plot_pianoroll(score.to("second"), tmp_path / "roll.png", width=8.0, height=4.0, dpi=100)
    image = matplotlib.image.imread(png)
    rows = [_runs(image[y]) for y in range(image.shape[0])]
    assert max(rows) == 8  # the row through pitch 60 shows eight notes
