"""The music pack: a WAV whose smpl chunk holds the loop to the sample, intro and loop files that are the
mix cut at the loop point, and a piece.json with the loop, metre, sections, jump points and layers."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile

from overworld.export.wav_loop import add_loop, read_loop

from .conftest import SR, compose_config

BAR = 4 * 60 * SR // 150  # samples in a 4/4 bar at 150 bpm: 12,800


def test_the_smpl_loop_and_the_intro_and_loop_files_are_exact_to_the_sample(packs):
    for piece, folder in packs:  # 10 seeds, half with an intro bar
        mix, rate = soundfile.read(folder / "mix.wav", dtype="int16")
        intro_bars = piece.loop[0]
        assert rate == SR and len(mix) == (intro_bars + 4) * BAR
        assert read_loop(folder / "mix.wav") == (intro_bars * BAR, (intro_bars + 4) * BAR)  # sample-exact
        loop, _ = soundfile.read(folder / "loop.wav", dtype="int16")
        assert len(loop) == 4 * BAR  # the loop's bars x a bar's samples
        intro = soundfile.read(folder / "intro.wav", dtype="int16")[0] if intro_bars else mix[:0]
        assert (folder / "intro.wav").exists() == bool(intro_bars)
        assert np.array_equal(np.concatenate([intro, loop]), mix)  # intro + loop == the mix


def test_stems_carry_the_same_loop_and_length(packs):
    _, folder = max(packs, key=lambda pack: len(pack[0].score.tracks))
    info = json.loads((folder / "piece.json").read_text())
    wavs = [f for files in info["files"]["stems"].values() for f in files if f.endswith(".wav")]
    assert len(wavs) >= 2
    for name in wavs:
        assert soundfile.info(folder / name).frames == info["samples"]
        assert read_loop(folder / name) == (info["loop"]["start_sample"], info["loop"]["end_sample"])


def test_piece_json_says_where_the_loop_sections_and_jumps_are(packs):
    _, folder = packs[1]  # an intro bar, then the 4-bar loop
    info = json.loads((folder / "piece.json").read_text())
    assert info["loop"] == {
        "start_bar": 2,
        "end_bar": 5,
        "length_bars": 4,
        "start_seconds": 1.6,
        "end_seconds": 8.0,
        "start_sample": BAR,
        "end_sample": 5 * BAR,
        "length_samples": 4 * BAR,
    }
    assert info["metre"] == {"numerator": 4, "denominator": 4, "beats_per_bar": 4} and info["bpm"] == 150
    assert info["form"] == [
        {"section": "A", "start_bar": 2, "end_bar": 5, "start_sample": BAR, "end_sample": 5 * BAR}
    ]
    assert [(j["bar"], j["sample"]) for j in info["jump_points"]] == [(2, BAR), (6, 5 * BAR)]
    assert info["bar_lines"] == [b * BAR for b in range(6)]
    assert info["files"]["pack"] == {"intro": "intro.wav", "loop": "loop.wav"}
    assert info["layers"] == [{"intensity": None, "stems": list(info["files"]["stems"])}]


def test_a_form_gives_a_jump_point_at_every_section(bar_model, tmp_path):
    from overworld.export import write_composition
    from overworld.generation.compose import compose

    config = compose_config(0, bars=None, form="AABA", section_bars=1, intro=0, stems=False)
    piece = compose(bar_model, config, seed=4)[0]
    info = json.loads((write_composition(piece, tmp_path / "p", config) / "piece.json").read_text())
    assert [j["bar"] for j in info["jump_points"]] == [1, 2, 3, 4, 5]
    assert info["jump_points"][0]["what"] == "section A, loop start"


def test_layers_name_the_stems_each_intensity_keeps(bar_model, tmp_path):
    from overworld.export import write_pieces
    from overworld.generation.compose import compose

    config = compose_config(0, intensity=(0.2, 0.8))
    pieces = compose(bar_model, config, seed=5)
    folders = write_pieces(pieces, tmp_path, config)
    assert [f.name for f in folders] == ["5-intensity-0.2", "5-intensity-0.8"]
    layers = json.loads((folders[0] / "piece.json").read_text())["layers"]
    intense = json.loads((folders[1] / "piece.json").read_text())
    assert [layer["intensity"] for layer in layers] == [0.2, 0.8]
    assert layers[1]["stems"] == list(intense["files"]["stems"])  # the fullest version: every stem
    assert set(layers[0]["stems"]) < set(layers[1]["stems"])  # the calm layer keeps some of them


def test_a_smpl_chunk_reads_back_and_is_refused_twice(tmp_path):
    path = tmp_path / "a.wav"
    soundfile.write(path, np.zeros(101, dtype=np.float32), SR)
    add_loop(path, 10, 100)
    assert read_loop(path) == (10, 100) and soundfile.info(path).frames == 101  # still a valid WAV
    with pytest.raises(Exception, match="already has a smpl chunk"):
        add_loop(path, 0, 5)
