"""Bar self-similarity on pieces built in code: forms whose repeats are known, bars from time signatures
and tempo maps, pieces with no steady beat; and the evaluate / plot commands that show it."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import symusic

from overworld.cli import main
from overworld.evaluation.structure import (
    NO_STEADY_TEMPO,
    bar_signatures,
    grid_fit,
    self_similarity_matrix,
    structure_of,
)

TPQ = 480
SIXTEENTH = TPQ // 4


def piece(bars, *, numerator=4, denominator=4, tempos=((0, 120.0),), drum_bars=None):
    """A Score in ticks playing ``bars``, each a list of ``(sixteenth, pitch)`` onsets, one bar after
    another in the given time signature; ``drum_bars`` adds a drum track in the same way."""
    score = symusic.Score(TPQ)
    score.time_signatures.append(symusic.TimeSignature(0, numerator, denominator))
    for time, qpm in tempos:
        score.tempos.append(symusic.Tempo(time, qpm))
    bar_ticks = TPQ * 4 * numerator // denominator
    for is_drum, content in ((False, bars), (True, drum_bars or [])):
        track = symusic.Track(name="drums" if is_drum else "lead", program=0, is_drum=is_drum)
        for i, bar in enumerate(content):
            for step, pitch in bar:
                track.notes.append(
                    symusic.Note(round(i * bar_ticks + step * SIXTEENTH), SIXTEENTH, pitch, 90)
                )
        if len(track.notes):
            score.tracks.append(track)
    return score


def distinct_bar(k):
    """A bar that shares no onset with any other ``distinct_bar``: four quarter notes of pitch 40 + k."""
    return [(0, 40 + k), (4, 40 + k), (8, 40 + k), (12, 40 + k)]


def test_aaba_repeats_exactly_what_returns():
    a = [distinct_bar(k) for k in range(4)]
    b = [distinct_bar(k) for k in range(4, 8)]
    s = structure_of(piece(a + a + b + a))  # 16 bars: A A B A, four bars each
    # of the 15 bars after the first, the second A (4) and the last A (4) repeat; the other 7 are new
    # and share nothing with earlier bars
    assert s.bars == 16 and s.reason is None and s.grid_fit == 1.0
    assert s.exact_repeats == pytest.approx(8 / 15)
    assert s.self_similarity == pytest.approx(8 / 15)
    matrix = self_similarity_matrix(piece(a + a + b + a))
    assert matrix.shape == (16, 16) and np.allclose(matrix, matrix.T) and np.allclose(np.diag(matrix), 1)
    assert matrix[0, 4] == 1.0 and matrix[0, 12] == 1.0 and matrix[0, 8] == 0.0


def test_a_half_changed_bar_is_half_similar():
    first = [(0, 60), (4, 62), (8, 64), (12, 65)]
    second = [(0, 60), (4, 62), (8, 67), (12, 69)]  # two of four onsets kept: Jaccard 2 / 6
    s = structure_of(piece([first, second]))
    assert s.self_similarity == pytest.approx(2 / 6) and s.exact_repeats == 0.0


def test_random_bars_are_dissimilar_and_never_repeat():
    rng = np.random.default_rng(0)
    bars = [
        [(int(t), int(p)) for t, p in zip(rng.integers(0, 16, 6), rng.integers(48, 84, 6))] for _ in range(16)
    ]
    s = structure_of(piece(bars))
    assert s.exact_repeats == 0.0 and s.self_similarity < 0.2


def test_a_one_bar_loop_repeats_every_bar():
    loop = [(0, 36), (4, 43), (6, 48), (10, 43), (12, 36)]
    s = structure_of(piece([loop] * 20, drum_bars=[[(0, 36), (8, 38)]] * 20))
    assert s.bars == 16  # only the first 16 bars count
    assert s.self_similarity == 1.0 and s.exact_repeats == 1.0


def test_drums_and_pitch_are_told_apart():
    # the same key played by the lead and by the drum kit are different onsets
    signatures = bar_signatures(piece([[(0, 36)], []], drum_bars=[[], [(0, 36)]]))
    assert signatures == [frozenset({(0, 36, False)}), frozenset({(0, 36, True)})]


def test_bars_follow_a_three_four_time_signature():
    waltz = [(0, 48), (4, 60), (8, 64)]  # one bar of 3/4: bass, then two chords tones
    score = piece([waltz] * 8, numerator=3)
    signatures = bar_signatures(score)
    assert len(signatures) == 8 and all(s == signatures[0] for s in signatures)
    assert max(step for step, _, _ in signatures[0]) < 12  # twelve sixteenths a bar
    assert structure_of(score).exact_repeats == 1.0
    score.time_signatures = type(score.time_signatures)([symusic.TimeSignature(0, 4, 4)])
    # read in 4/4, the 24 beats make 6 bars, and the waltz lines up with the bar lines only every 3 of them
    wrong = structure_of(score)
    assert wrong.bars == 6 and wrong.exact_repeats == pytest.approx(3 / 5)


def test_bars_survive_a_tempo_change_and_seconds():
    loop = [(0, 60), (2, 64), (4, 67), (8, 72), (14, 71)]
    # 120 bpm for four bars, then 90: in seconds the bars grow from 2 s to 2.67 s
    score = piece([loop] * 8, tempos=((0, 120.0), (4 * 4 * TPQ, 90.0)))
    in_seconds = score.to("second")
    assert bar_signatures(in_seconds) == bar_signatures(score)
    s = structure_of(in_seconds)
    assert s.bars == 8 and s.self_similarity == 1.0 and s.exact_repeats == 1.0


def test_empty_bars_and_leading_silence_are_skipped():
    loop = [(0, 60), (8, 67)]
    score = piece([[], [], loop, [], loop, loop])  # two silent bars before the first note, a rest bar
    signatures = bar_signatures(score)
    assert len(signatures) == 4 and signatures[1] == frozenset()  # counted from the first note
    assert math.isnan(self_similarity_matrix(score)[1, 1])
    s = structure_of(score)
    assert s.exact_repeats == 1.0 and s.self_similarity == 1.0  # the rest bar is neither scored nor matched
    assert structure_of(piece([loop])).reason is not None  # one bar: nothing to compare


def test_swung_triplets_sit_on_the_grid():
    shuffle = [(0, 60), (8 / 3, 64), (4, 60), (4 + 8 / 3, 64), (8, 60), (8 + 8 / 3, 64)]
    assert grid_fit(piece([shuffle] * 4)) == 1.0
    assert structure_of(piece([shuffle] * 4)).exact_repeats == 1.0


def test_no_steady_tempo_has_no_value():
    # a performance recorded without a click: onsets anywhere, at the default 120 bpm
    rng = np.random.default_rng(1)
    score = symusic.Score(TPQ)
    track = symusic.Track(name="piano", program=0)
    for t, p in zip(np.sort(rng.integers(0, 16 * 4 * TPQ, 300)), rng.integers(48, 84, 300)):
        track.notes.append(symusic.Note(int(t), 100, int(p), 80))
    score.tracks.append(track)
    s = structure_of(score)
    assert s.self_similarity is None and s.exact_repeats is None and s.reason == NO_STEADY_TEMPO
    assert 0.25 < s.grid_fit < 0.5  # about 0.375 of random onsets land near a grid point by chance


def test_evaluate_prints_the_new_rows_and_counts_unsteady_pieces(tmp_path, capsys):
    gen, ref = tmp_path / "gen", tmp_path / "ref"
    gen.mkdir()
    ref.mkdir()
    rng = np.random.default_rng(2)
    for i in range(3):
        bars = [distinct_bar(k) for k in rng.integers(0, 4, 8)]
        piece(bars, drum_bars=[[(0, 36)]] * 8).dump_midi(str(ref / f"r{i}.mid"))
        piece([distinct_bar(k) for k in range(8)]).dump_midi(str(gen / f"g{i}.mid"))
    unsteady = symusic.Score(TPQ)
    track = symusic.Track(name="piano", program=0)
    for t in np.sort(rng.integers(0, 8 * 4 * TPQ, 200)):
        track.notes.append(symusic.Note(int(t), 100, 60, 80))
    unsteady.tracks.append(track)
    unsteady.dump_midi(str(gen / "unsteady.mid"))
    out = tmp_path / "stats.json"
    assert main(["evaluate", "--generated", str(gen), "--reference", str(ref), "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    for row in ("drum_share", "bar_self_similarity", "exact_repeat_rate", "mean OA, all rows"):
        assert row in printed
    assert "generated: 1 of 4 pieces has no steady tempo" in printed
    data = json.loads(out.read_text())["metrics"]
    assert {"drum_share", "bar_self_similarity", "exact_repeat_rate"} <= set(data["metrics"])
    assert len(data["mean_overlapping_area_of"]) == 9
    assert data["unmeasured"] == {"generated": {NO_STEADY_TEMPO: 1}, "reference": {}}
    assert data["metrics"]["exact_repeat_rate"]["generated_mean"] == 0.0


def test_plot_self_similarity_writes_a_png(tmp_path, capsys):
    path = tmp_path / "loop.mid"
    piece([distinct_bar(0), distinct_bar(1)] * 4).dump_midi(str(path))
    assert main(["plot", str(path), "--self-similarity"]) == 0
    png = tmp_path / "loop.self-similarity.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    out = tmp_path / "x.png"
    assert main(["plot", str(path), "--self-similarity", "--bars", "4", "--out", str(out)]) == 0
    assert out.stat().st_size > 0 and str(out) in capsys.readouterr().out
