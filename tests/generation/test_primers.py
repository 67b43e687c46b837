"""Each primer kind encodes what it says and appears at the start of an inclusive output."""

from __future__ import annotations

import json

import numpy as np
import pytest

from overworld.config import SampleConfig
from overworld.errors import ConfigError, DataError
from overworld.generation import primers
from overworld.generation.sampler import generate
from overworld.tokenizers import vocab as V

from .conftest import replay


def notes_of(tokenizer, ids):
    """(start s, duration s, pitch) of every decoded note, sorted."""
    out = []
    for track in tokenizer.decode(ids).tracks:
        out.extend((round(n.time, 3), round(n.duration, 3), n.pitch) for n in track.notes)
    return sorted(out)


def test_melody_follows_magenta_convention(tokenizer):
    # C4 for two sixteenths, D4 for one then released, rest, E4 to the end; 150 bpm: 0.1 s a step
    ids = primers.from_melody("[60, -2, 62, -1, -2, 64]", tokenizer, bpm=150)
    assert notes_of(tokenizer, ids) == [(0.0, 0.2, 60), (0.2, 0.1, 62), (0.5, 0.1, 64)]
    assert ids[0] == V.INSTRUMENT_OFFSET + 80
    with pytest.raises(ConfigError):
        primers.from_melody("[60, -3]", tokenizer)
    with pytest.raises(ConfigError):
        primers.from_melody("sixty", tokenizer)


def test_pitches_make_one_chord(tokenizer):
    ids = primers.from_pitches("[60, 64, 67]", tokenizer, bpm=60)
    assert notes_of(tokenizer, ids) == [(0.0, 1.0, 60), (0.0, 1.0, 64), (0.0, 1.0, 67)]


def test_file_primer_takes_the_opening(tokenizer, c_major_score, tmp_path):
    from overworld.midi import write_score

    path = write_score(c_major_score, tmp_path / "scale.mid")
    ids = primers.from_file(path, tokenizer, seconds=1.2)
    starts = {start for start, _, _ in notes_of(tokenizer, ids)}
    assert starts == {0.0, 0.5, 1.0}  # notes starting before 1.2 s, cut there


def prepared_folder(tmp_path, tokenizer, score):
    """A prepared dataset of one file, laid out as docs/architecture.md says."""
    ids = np.concatenate([[V.BOS], tokenizer.encode(score), [V.EOS]]).astype(np.uint16)
    ids.tofile(tmp_path / "train.bin")
    np.save(tmp_path / "train.idx.npy", np.array([0, len(ids)], dtype=np.int64))
    manifest = {"tokenizer": "performance", "vocab_size": V.VOCAB_SIZE, "files": [], "splits": {}}
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    return tmp_path


def test_dataset_slice_is_seeded_and_safe(tokenizer, c_major_score, tmp_path):
    folder = prepared_folder(tmp_path, tokenizer, c_major_score)
    a = primers.from_dataset(folder, tokenizer, seconds=1.0, seed=5)
    assert np.array_equal(a, primers.from_dataset(folder, tokenizer, seconds=1.0, seed=5))
    problems = replay(a)
    assert problems["orphan_off"] == 0 and problems["special"] == 0
    assert V.INSTRUMENT_OFFSET <= a[0] < V.VOCAB_SIZE  # the instrument in force comes first
    with pytest.raises(DataError):
        primers.from_dataset(tmp_path / "nope", tokenizer)


@pytest.mark.parametrize("bpm", [float("nan"), float("inf"), 0.0, -120.0, 1e-300, 1e300])
@pytest.mark.parametrize("make", [primers.from_melody, primers.from_pitches])
def test_a_primer_tempo_out_of_range_is_a_one_line_error(tokenizer, make, bpm):
    # nan used to reach numpy as a negative dimension, 1e-300 an index of -9e16: tracebacks
    with pytest.raises(ConfigError, match=r"^primer bpm must be between 10 and 1000, not "):
        make("[60, 62]", tokenizer, bpm=bpm)


@pytest.mark.parametrize("seconds", [float("nan"), float("inf"), 0.0, -1.0, 1e12])
def test_primer_seconds_out_of_range_are_a_one_line_error(tokenizer, c_major_score, tmp_path, seconds):
    # nan used to cut every note away (or reach int() from a dataset slice: a traceback)
    folder = prepared_folder(tmp_path, tokenizer, c_major_score)
    for make in (
        lambda: primers.from_score(c_major_score, tokenizer, seconds=seconds),
        lambda: primers.from_dataset(folder, tokenizer, seconds=seconds),
    ):
        with pytest.raises(ConfigError, match=r"^primer seconds must be positive and at most 3600, not "):
            make()


def test_a_dataset_whose_manifest_is_not_an_object_is_a_data_error(tokenizer, c_major_score, tmp_path):
    folder = prepared_folder(tmp_path, tokenizer, c_major_score)
    (folder / "manifest.json").write_text("[1, 2]")
    with pytest.raises(DataError, match="holds a list, not a manifest"):
        primers.from_dataset(folder, tokenizer)


@pytest.mark.parametrize("kind", ["melody", "pitches", "file", "dataset"])
def test_each_primer_starts_the_inclusive_output(kind, tiny_model, tokenizer, c_major_score, tmp_path):
    from overworld.midi import write_score

    if kind == "melody":
        primer = primers.from_melody([72, -2, 74, -2, 76, -1], tokenizer)
    elif kind == "pitches":
        primer = primers.from_pitches([48, 55, 64], tokenizer)
    elif kind == "file":
        primer = primers.from_file(write_score(c_major_score, tmp_path / "s.mid"), tokenizer, seconds=2.0)
    else:
        primer = primers.from_dataset(prepared_folder(tmp_path, tokenizer, c_major_score), tokenizer, seed=1)
    out = generate(
        tiny_model, tokenizer, SampleConfig(), primer_ids=primer, num=2, length=60, seed=0, inclusive=True
    )
    for ids in out:
        assert np.array_equal(ids[: len(primer)], primer)
        assert replay(ids)["unclosed"] == 0 and replay(ids)["orphan_off"] == 0
    alone = generate(tiny_model, tokenizer, SampleConfig(), primer_ids=primer, num=2, length=60, seed=0)
    assert all(replay(ids)["orphan_off"] == 0 for ids in alone)


def test_sounding_notes_carry_over_into_the_continuation(tiny_model, tokenizer):
    on = V.NOTE_ON_OFFSET
    primer = [V.INSTRUMENT_OFFSET + 33, V.VELOCITY_OFFSET + 20, on + 40, V.TIME_SHIFT_OFFSET + 49]
    ids = generate(tiny_model, tokenizer, SampleConfig(), primer_ids=primer, num=1, length=5, seed=0)[0]
    assert ids[:3].tolist() == [V.INSTRUMENT_OFFSET + 33, V.VELOCITY_OFFSET + 20, on + 40]


def test_special_tokens_in_a_primer_do_not_end_generation(tiny_model, tokenizer):
    primer = [V.BOS, V.INSTRUMENT_OFFSET + 80, V.NOTE_ON_OFFSET + 60, V.EOS, V.PAD]
    ids = generate(
        tiny_model, tokenizer, SampleConfig(), primer_ids=primer, num=1, length=30, seed=0, inclusive=True
    )[0]
    assert ids[:2].tolist() == [V.INSTRUMENT_OFFSET + 80, V.NOTE_ON_OFFSET + 60]
    assert len(ids) > 2 and replay(ids)["special"] == 0 and replay(ids)["unclosed"] == 0
