"""Copy detection finds a melody lifted from the training set and stays quiet on random notes."""

from __future__ import annotations

import numpy as np
import pytest

from overworld.errors import DataError
from overworld.evaluation.copying import build_index, detect_copies, detect_copies_in_folder, note_sequence


@pytest.fixture
def training(melody):
    rng = np.random.default_rng(1)
    return [melody(rng.integers(40, 90, size=200), step=0.25, program=int(p)) for p in (0, 24, 80)]


def test_an_inserted_20_note_run_is_found(training, melody):
    rng = np.random.default_rng(2)
    lifted = training[1].tracks[0].notes.numpy()["pitch"][50:70]  # 20 notes of the guitar part
    pitches = np.concatenate([rng.integers(40, 90, 30), lifted, rng.integers(40, 90, 30)])
    generated = melody(pitches, step=0.25, program=24, start=0.5)  # other start, same rhythm: still a copy
    index = build_index([note_sequence(s)[0] for s in training], n=8)
    codes, onsets = note_sequence(generated)
    longest, spans, found = detect_copies(codes, onsets, index, span_seconds=4.0)
    assert longest == 20
    # 4 s spans from t = 0.5 s: span [8, 12) s holds notes 30..45, all lifted; [20, 24) only 2 notes
    assert spans == 5 and found == 1


def test_random_notes_are_not_copies(training, melody):
    rng = np.random.default_rng(3)
    index = build_index([note_sequence(s)[0] for s in training], n=8)
    codes, onsets = note_sequence(melody(rng.integers(40, 90, 100), step=0.25))
    longest, spans, found = detect_copies(codes, onsets, index)
    assert longest == 0 and found == 0 and spans > 0


def test_the_other_instrument_or_rhythm_is_not_a_copy(training, melody):
    index = build_index([note_sequence(s)[0] for s in training], n=8)
    pitches = training[0].tracks[0].notes.numpy()["pitch"][:40]
    for other in (melody(pitches, program=24), melody(pitches, step=0.3)):
        assert detect_copies(*note_sequence(other), index)[0] == 0
    assert detect_copies(*note_sequence(melody(pitches)), index)[0] == 40


def test_folder_against_a_prepared_train_split(tmp_path, melody, training, make_prepared):
    from overworld.tokenizers import make_tokenizer

    tok = make_tokenizer("performance")
    prepared = make_prepared(tmp_path / "prep", {"train": [tok.encode(s) for s in training]})
    gen = tmp_path / "gen"
    gen.mkdir()
    copied = training[2].tracks[0].notes.numpy()["pitch"][:64]
    melody(copied, step=0.25, program=80).dump_midi(str(gen / "copy.mid"))
    (gen / "bad.mid").write_bytes(b"MThd")
    report = detect_copies_in_folder(gen, prepared)
    assert report.longest_run == 64 and report.span_fraction == pytest.approx(1.0)
    assert [p.rsplit("/", 1)[-1] for p, _ in report.skipped] == ["bad.mid"]
    with pytest.raises(DataError):
        detect_copies_in_folder(gen, [])
