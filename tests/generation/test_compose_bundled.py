"""compose on the bundled model: a 16-bar battle loop at 150 bpm in D minor, with stems, exactly as long as
asked in the MIDI and the audio, in key, with loop markers and OGG comments, stems that sum to the mix, no
click at the seam, and a seam the model scores like its other bar transitions; intensity that measurably
changes density, instruments and velocity in ten seeds, and an AABA form."""

from __future__ import annotations

import json

import mido
import numpy as np
import pytest
import soundfile

from overworld import load_model
from overworld.export import write_composition
from overworld.generation.arrangement import Arrangement
from overworld.generation.compose import ComposeConfig, compose
from overworld.generation.loop import loop_transitions
from overworld.render.stems import replay_error, seam
from overworld.render.vorbis_comments import read_comments
from overworld.theory import parse_key
from overworld.tokenizers.abilities import has_bars

from .test_compose import _measures, _onsets

SR = 8000


@pytest.fixture(scope="module")
def bundled():
    model = load_model("default")
    if not has_bars(model.tokenizer):
        pytest.skip("the bundled model has no bar tokens")
    return model


@pytest.fixture(scope="module")
def battle_loop(bundled, tmp_path_factory):
    config = ComposeConfig(
        bars=16, bpm=150, key="D minor", loop=True, stems=True, sample_rate=SR, formats=("ogg", "wav")
    )
    piece = compose(bundled, config, seed=7)[0]
    return piece, write_composition(piece, tmp_path_factory.mktemp("loop"), config, model_name="default")


def test_the_loop_is_16_bars_to_the_tick_and_to_the_sample_in_d_minor(battle_loop):
    piece, folder = battle_loop
    midi = mido.MidiFile(folder / "piece.mid")
    assert max(sum(m.time for m in t) for t in midi.tracks) == 16 * 4 * midi.ticks_per_beat
    audio, rate = soundfile.read(folder / "mix.wav")
    assert rate == SR and len(audio) == 16 * 4 * 60 * SR // 150
    pitched = [n.pitch for t in piece.score.tracks if not t.is_drum for n in t.notes]
    assert pitched and {p % 12 for p in pitched} <= parse_key("D minor")
    events, tick = set(), 0
    for msg in midi.tracks[0]:
        tick += msg.time
        events.add((tick, msg.type, getattr(msg, "text", getattr(msg, "control", None))))
    assert {(0, "marker", "loopStart"), (16 * 4 * midi.ticks_per_beat, "marker", "loopEnd")} <= events
    assert (0, "control_change", 111) in events
    assert read_comments(folder / "mix.ogg")["LOOPLENGTH"] == str(len(audio))


def test_stems_sum_to_the_mix_and_the_seam_has_no_click(battle_loop):
    _, folder = battle_loop
    mix, _ = soundfile.read(folder / "mix.wav")
    stems = [
        soundfile.read(folder / f)[0]
        for f in json.loads((folder / "piece.json").read_text())["files"]["stems"].values()
        for f in f
        if f.endswith(".wav")
    ]
    assert len(stems) >= 2 and np.abs(np.sum(stems, axis=0) - mix).max() < 1e-3
    assert seam(mix).clickless, seam(mix)


def test_the_seam_is_what_the_loop_played_on_sounds_like(battle_loop):
    piece, _ = battle_loop
    assert replay_error(piece.score, 16 * 4 * 60 * SR // 150, sample_rate=SR) < 1e-6


def test_the_seam_is_as_likely_as_the_other_bar_transitions(bundled, battle_loop):
    piece, _ = battle_loop
    scores = loop_transitions(bundled, Arrangement.from_score(piece.score, 1920), 16, (150.0, 4, 4))
    assert min(scores.bars) <= scores.seam <= max(scores.bars), scores


def test_on_the_bundled_model_intense_beats_calm_on_every_measure_in_ten_seeds(bundled):
    def at(level: float, seed: int):
        return compose(bundled, ComposeConfig(bars=4, bpm=140, key="C major", intensity=(level,)), seed=seed)[
            0
        ]

    for seed in range(10):
        calm, intense = _measures(at(0.2, seed)), _measures(at(0.8, seed))
        assert intense[0] > calm[0] and intense[1] > calm[1] and intense[2] > calm[2], (seed, calm, intense)


def test_on_the_bundled_model_aaba_repeats_a_and_b_differs(bundled):
    piece = compose(bundled, ComposeConfig(form="AABA", section_bars=4, key="G major", bpm=120), seed=3)[0]
    arr = Arrangement.from_score(piece.score, 1920)
    assert [s[0] for s in piece.sections] == list("AABA") and piece.bars == 16
    a1, a2, b, a3 = (_onsets(arr, s, e) for _, s, e in piece.sections)
    assert a1 == a2 == a3 and a1 != b
