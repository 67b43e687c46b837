"""The realism test: window statistics mean what they say, the AUC is the Mann-Whitney statistic, folds
keep each piece on one side, a collapsed set is told apart and a set like the reference is not."""

from __future__ import annotations

import json

import numpy as np
import pytest
import symusic

from overworld.errors import DataError
from overworld.evaluation.realism import STATISTICS, _folds, auc, realism, window_statistics

S = {name: i for i, name in enumerate(STATISTICS)}


def _piece(rng: np.random.Generator, bars: int = 8, collapsed: bool = False) -> symusic.Score:
    """A bass, a lead and drums at 120 bpm in 4/4; ``collapsed``: the lead re-strikes one loud note."""
    score = symusic.Score(480)
    bass, lead, drums = symusic.Track(program=33), symusic.Track(program=80), symusic.Track(is_drum=True)
    for b in range(bars):
        start = b * 1920
        bass.notes.extend(
            [symusic.Note(start + q * 480, 440, int(36 + rng.integers(0, 8)), 90) for q in range(4)]
        )
        for e in range(8):
            pitch = 72 if collapsed else int(rng.choice([60, 62, 64, 65, 67, 69, 71, 72]))
            velocity = 124 if collapsed else int(rng.integers(70, 110))
            lead.notes.append(symusic.Note(start + e * 240, 220, pitch, velocity))
        drums.notes.extend([symusic.Note(start + q * 480, 60, 36 + 2 * (q % 2), 100) for q in range(4)])
    score.tracks.extend([bass, lead, drums])
    score.tempos.append(symusic.Tempo(0, 120.0))
    score.time_signatures.append(symusic.TimeSignature(0, 4, 4))
    return score


def test_window_statistics_of_a_known_piece():
    stats = window_statistics(_piece(np.random.default_rng(0), bars=8, collapsed=True))
    assert stats.shape == (2, len(STATISTICS))  # two 4-bar windows
    w = stats[0]
    assert w[S["instruments"]] == 3
    assert w[S["notes_per_second"]] == pytest.approx(64 / 8.0)  # 16 + 32 + 16 notes in 8 s
    assert w[S["drum_share"]] == pytest.approx(16 / 64)
    assert w[S["parts_per_bar"]] == 3
    assert w[S["restruck_share"]] >= 31 / 48  # the lead's 32 notes are one pitch
    assert w[S["note_length"]] == pytest.approx(220 / 480)


def test_auc_is_the_mann_whitney_statistic():
    assert auc(np.array([1.0, 2.0, 3.0, 4.0]), np.array([0, 0, 1, 1])) == 1.0
    assert auc(np.array([4.0, 3.0, 2.0, 1.0]), np.array([0, 0, 1, 1])) == 0.0
    assert auc(np.array([1.0, 1.0, 1.0, 1.0]), np.array([0, 1, 0, 1])) == 0.5  # ties count half
    assert auc(np.array([0.1, 0.4, 0.35, 0.8]), np.array([0, 0, 1, 1])) == 0.75


def test_folds_never_split_a_piece_and_hold_both_sides():
    y = np.r_[np.ones(40), np.zeros(60)]
    groups = np.repeat(np.arange(20), 5)
    folds = _folds(y, groups, seed=3)
    for g in range(20):
        assert len(set(folds[groups == g])) == 1
    for f in range(5):
        assert set(y[folds == f]) == {0.0, 1.0}


def test_a_collapsed_set_is_told_apart_and_a_like_one_is_not():
    rng = np.random.default_rng(1)
    reference = [_piece(rng) for _ in range(10)]
    alike = [_piece(rng) for _ in range(10)]
    collapsed = [_piece(rng, collapsed=True) for _ in range(10)]
    told = realism(collapsed, reference, seed=0)
    assert told.auc > 0.95 and told.per_statistic["restruck_share"] > 0.95
    assert told.medians["velocity"][0] > told.medians["velocity"][1]
    same = realism(alike, reference, seed=0)
    assert same.auc < 0.75 and same.interval[0] <= same.auc <= same.interval[1]
    with pytest.raises(DataError):
        realism(reference[:1], reference)


def test_evaluate_prints_the_realism_test(tmp_path, capsys):
    from overworld.cli import main
    from overworld.midi import write_score

    rng = np.random.default_rng(2)
    for side, collapsed in (("gen", True), ("ref", False)):
        (tmp_path / side).mkdir()
        for n in range(6):
            write_score(_piece(rng, collapsed=collapsed), tmp_path / side / f"{n}.mid")
    argv = ["evaluate", "--generated", str(tmp_path / "gen"), "--reference", str(tmp_path / "ref")]
    assert main([*argv, "--json", str(tmp_path / "r.json")]) == 0
    out = capsys.readouterr().out
    assert "realism:" in out and "restruck_share" in out
    assert json.loads((tmp_path / "r.json").read_text())["realism"]["auc"] > 0.8
