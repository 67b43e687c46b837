"""Musical statistics on hand-made scores, and Yang and Lerch's overlapping area."""

from __future__ import annotations

import math

import numpy as np
import pytest

from overworld.errors import DataError
from overworld.evaluation.metrics import (
    compare_folders,
    compare_sets,
    load_folder,
    overlapping_area,
    piece_metrics,
)


def test_c_major_scale(melody):
    # C D E F G A B, one note every half second at the default 120 bpm: one note per beat
    m = piece_metrics(melody([60, 62, 64, 65, 67, 69, 71], step=0.5))
    assert m["pitch_class_entropy"] == pytest.approx(math.log2(7))
    assert m["scale_consistency"] == pytest.approx(1.0)
    assert m["pitch_range"] == 11
    assert m["polyphony"] == pytest.approx(1.0)
    assert m["inter_onset_interval"] == pytest.approx(0.5)
    assert m["empty_beat_rate"] == pytest.approx(0.0)
    assert m["instruments_used"] == 1
    assert m["note_density"] == pytest.approx(7 / (6 * 0.5 + 0.45))


def test_chords_rests_and_drums(c_major_score, melody):
    import symusic

    score = melody([60, 64, 67], step=0.0)  # a C major triad, all at time 0
    score.tracks[0].notes = symusic.Note.from_numpy(
        np.array([0.0, 0.0, 0.0, 2.0], np.float32), np.array([1.0, 1.0, 1.0, 1.0], np.float32),
        np.array([60, 64, 67, 61], np.int8), np.array([80] * 4, np.int8), "second",
    )  # fmt: skip  # triad over beats 0-1, C#4 over beats 4-5; beats 2 and 3 silent
    m = piece_metrics(score)
    assert m["polyphony"] == pytest.approx(2.0)  # 3 notes for 1 s, then 1 note for 1 s
    assert m["empty_beat_rate"] == pytest.approx(2 / 6)  # 6 beats of 0.5 s at 120 bpm
    assert m["scale_consistency"] == pytest.approx(0.75)
    two = piece_metrics(c_major_score)
    assert two["instruments_used"] == 2  # piano and the drum kit
    assert two["groove_consistency"] == pytest.approx(1.0)  # the same onset pattern in both bars


def test_overlapping_area_of_a_set_with_itself_and_with_a_far_set():
    rng = np.random.default_rng(0)
    a = rng.normal(0, 1, 200)
    assert overlapping_area(a, a) == pytest.approx(1.0, abs=1e-3)
    assert overlapping_area(a, a + 100) < 1e-3
    same = [{"note_density": x} for x in rng.normal(5, 1, 40)]
    far = [{"note_density": x} for x in rng.normal(500, 1, 40)]
    assert compare_sets(same, same, metric_names=["note_density"]).mean_overlapping_area > 0.8
    assert compare_sets(far, same, metric_names=["note_density"]).mean_overlapping_area < 0.01


def test_folders_skip_corrupt_files_with_a_reason(tmp_path, melody):
    gen, ref = tmp_path / "gen", tmp_path / "ref"
    gen.mkdir()
    ref.mkdir()
    for i in range(3):
        melody([60 + i, 62, 64, 65], step=0.5).dump_midi(str(gen / f"g{i}.mid"))
        melody([60, 64 + i, 67, 72], step=0.25).dump_midi(str(ref / f"r{i}.mid"))
    (gen / "broken.mid").write_bytes(b"<html>not a midi file</html>")
    scores, skipped = load_folder(gen)
    assert len(scores) == 3 and [p.name for p, _ in skipped] == ["broken.mid"]
    comparison = compare_folders(gen, ref)
    assert len(comparison.metrics) == 12 and len(comparison.skipped) == 1  # nine, drums and structure
    data = comparison.to_dict()
    assert set(data) >= {"metrics", "mean_overlapping_area", "generated", "reference"}
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataError, match="no MIDI files"):
        load_folder(empty)
