"""compose: exact bars, tempo and key; a seamless loop with markers, OGG comments and stems that sum to the
mix; intensity that measurably changes density, instruments and velocity; AABA form; one-line errors."""

from __future__ import annotations

import dataclasses
import json
import types

import mido
import numpy as np
import pytest
import soundfile
import torch

from overworld.cli import main
from overworld.config import ModelConfig, SampleConfig
from overworld.errors import ConfigError
from overworld.export import write_composition
from overworld.generation.arrangement import Arrangement
from overworld.generation.compose import ComposeConfig, compose
from overworld.generation.loop import close_loop, local_transitions, loop_transitions
from overworld.midi.gm import DRUMS
from overworld.render.stems import replay_error, seam
from overworld.render.vorbis_comments import read_comments
from overworld.theory import parse_key
from overworld.tokenizers.bars import BarTokenizer
from overworld.tokenizers.bars import Layout as L

SR = 8000


@pytest.fixture(scope="module")
def bar_model():
    from overworld.models import build_model

    torch.manual_seed(0)
    config = ModelConfig(
        vocab_size=L.SIZE,
        embedding_size=32,
        sequence_length=256,
        num_blocks=2,
        num_heads=2,
        feed_forward_dim=64,
        dropout=0.0,
    )
    sampling = SampleConfig(max_polyphony=4, max_instruments=(2, 4))  # a random model's parts stay small
    return types.SimpleNamespace(
        model=build_model(config).eval(), tokenizer=BarTokenizer(), sampling=sampling
    )


@pytest.fixture(scope="module")
def battle_loop(bar_model, tmp_path_factory):
    """compose --bars 16 --bpm 150 --key 'D minor' --loop --stems, written as OGG and WAV."""
    config = ComposeConfig(
        bars=16, bpm=150, key="D minor", loop=True, stems=True, sample_rate=SR, formats=("ogg", "wav")
    )
    piece = compose(bar_model, config, seed=3)[0]
    return piece, write_composition(piece, tmp_path_factory.mktemp("loop"), config, model_name="tiny")


def test_a_loop_is_exactly_16_bars_in_the_midi_and_the_audio(battle_loop):
    _, folder = battle_loop
    midi = mido.MidiFile(folder / "piece.mid")
    assert max(sum(m.time for m in t) for t in midi.tracks) == 16 * 4 * midi.ticks_per_beat  # to the tick
    tempos = [m.tempo for t in midi.tracks for m in t if m.type == "set_tempo"]
    assert tempos == [400_000]  # 150 bpm exactly, not the tokens' nearest tempo bin
    audio, rate = soundfile.read(folder / "mix.wav")
    assert rate == SR and len(audio) == 16 * 4 * 60 * SR // 150  # 25.6 s to the sample
    info = json.loads((folder / "piece.json").read_text())
    assert info["loop"]["length_samples"] == len(audio) and info["loop"]["start_sample"] == 0
    assert (info["bpm"], info["bars"], info["key"], info["seed"]) == (150, 16, "D minor", 3)


def test_every_pitched_note_is_in_d_minor(battle_loop):
    piece, _ = battle_loop
    pitched = [n.pitch for t in piece.score.tracks if not t.is_drum for n in t.notes]
    assert pitched and {p % 12 for p in pitched} <= parse_key("D minor")


def test_loop_markers_comments_and_stems(battle_loop):
    piece, folder = battle_loop
    events, tick = [], 0
    for msg in mido.MidiFile(folder / "piece.mid").tracks[0]:
        tick += msg.time
        events.append((tick, msg.type, getattr(msg, "text", getattr(msg, "control", None))))
    assert (0, "marker", "loopStart") in events and (16 * 1920, "marker", "loopEnd") in events
    assert (0, "control_change", 111) in events
    comments = read_comments(folder / "mix.ogg")
    assert comments["LOOPSTART"] == "0" and comments["LOOPLENGTH"] == str(16 * 4 * 60 * SR // 150)
    mix, _ = soundfile.read(folder / "mix.wav")
    stems = [
        soundfile.read(folder / f)[0]
        for f in sorted(json.loads((folder / "piece.json").read_text())["files"]["stems"].values(), key=str)
        for f in f
        if f.endswith(".wav")
    ]
    assert len(stems) == len(piece.score.tracks) >= 2 and {len(s) for s in stems} == {len(mix)}
    assert np.abs(np.sum(stems, axis=0) - mix).max() < 1e-3


def test_the_loop_has_no_click(battle_loop):
    _, folder = battle_loop
    mix, _ = soundfile.read(folder / "mix.wav")
    joint = seam(mix)  # the steps around the loop point, played in loop order
    assert joint.clickless, joint  # no larger than the steps the audio around it makes


def test_the_seam_sounds_as_the_loop_played_on_does(battle_loop):
    """The strongest form of "no click": around the loop point, the looped audio is, sample for sample, what
    the piece played three times in a row sounds like at a repeat (the pass before's release tails over the
    opening, voice limits across the seam), so the jump from the last sample to the first is a step the
    music itself makes."""
    piece, _ = battle_loop
    assert replay_error(piece.score, 16 * 4 * 60 * SR // 150, sample_rate=SR) < 1e-6


def test_every_note_is_closed_at_the_loop_point(battle_loop):
    piece, _ = battle_loop
    assert all(n.time + n.duration <= 16 * 1920 for t in piece.score.tracks for n in t.notes)


def test_closing_a_loop_rewrites_only_the_bars_around_the_loop_point(bar_model):
    open_ = compose(bar_model, ComposeConfig(bars=8, key="D minor"), seed=2)[0]
    body = Arrangement.from_score(open_.score, 1920).closed(8)
    closed = close_loop(bar_model, body, 8, 2, config=bar_model.sampling, metre=(120.0, 4, 4), seed=5)
    # bars 2-6 keep every note (onset, duration, pitch, velocity); bars 7-8 and bar 1 are rewritten
    assert all(
        np.array_equal(closed.bars(1, 6).notes.get(i, []), a) for i, a in body.bars(1, 6).notes.items()
    )
    assert set(closed.bars(1, 6).notes) == set(body.bars(1, 6).notes)
    assert not all(
        np.array_equal(closed.bars(0, 1).notes.get(i, []), a) for i, a in body.bars(0, 1).notes.items()
    )
    ends = [a[:, 0] + a[:, 1] for a in closed.notes.values()]
    assert max(int(e.max()) for e in ends) <= 8 * 1920  # closed at the loop point


def test_the_seam_is_scored_like_the_other_transitions(bar_model, battle_loop):
    piece, _ = battle_loop
    arrangement = Arrangement.from_score(piece.score, 1920)
    scores = loop_transitions(bar_model, arrangement, 16, (150.0, 4, 4))
    assert len(scores.bars) == 15 and np.isfinite(scores.seam) and all(np.isfinite(scores.bars))


def test_local_transitions_treat_every_bar_line_of_a_loop_alike(bar_model):
    # a loop turned round by 3 bars is the same loop: the same transitions, the seam now among the others
    rng = np.random.default_rng(0)
    rows = [
        (b * 1920 + 240 * int(rng.integers(0, 8)), 240, int(rng.integers(60, 72)), 90)
        for b in range(8)
        for _ in range(3)
    ]
    piece = Arrangement(480, 1920, {0: np.array(sorted(set(rows)), dtype=np.int64)})
    turned = piece.bars(3, 8).place(piece.bars(0, 3), 5)
    a, b = (local_transitions(bar_model, p, 8, (120.0, 4, 4), context=4) for p in (piece, turned))
    assert len(a.bars) == 7 and np.allclose(sorted((a.seam, *a.bars)), sorted((b.seam, *b.bars)), atol=1e-4)
    assert not np.isclose(a.seam, b.seam)


def _measures(piece) -> tuple[float, int, float]:
    notes = [n for t in piece.score.tracks for n in t.notes]
    seconds = piece.bars * piece.bar_seconds
    return len(notes) / seconds, len(piece.score.tracks), float(np.mean([n.velocity for n in notes]))


def test_intense_beats_calm_on_every_measure_in_ten_seeds(bar_model):
    def at(level, seed):
        return compose(
            bar_model, ComposeConfig(bars=4, bpm=140, key="C major", intensity=(level,)), seed=seed
        )[0]

    for seed in range(10):
        calm, intense = _measures(at(0.2, seed)), _measures(at(0.8, seed))
        assert intense[0] > calm[0] and intense[1] > calm[1] and intense[2] > calm[2], (seed, calm, intense)


def test_two_intensities_share_their_structure(bar_model):
    config = ComposeConfig(bars=4, key="A minor", intensity=(0.2, 0.8))
    calm, intense = compose(bar_model, config, seed=5)
    assert (calm.intensity, intense.intensity) == (0.2, 0.8)
    onsets = lambda p: {(t.program, t.is_drum, n.time, n.pitch) for t in p.score.tracks for n in t.notes}  # noqa: E731
    assert onsets(calm) < onsets(intense)  # the calm layers are the intense piece's own notes
    assert not any(t.is_drum for t in calm.score.tracks)
    assert _measures(calm)[2] < _measures(intense)[2]


def _onsets(arr: Arrangement, first: int, end: int) -> set:
    """(instrument, onset in the bar span, pitch, velocity) of the notes starting in bars first..end-1."""
    return {(i, int(r[0]), int(r[2]), int(r[3])) for i, a in arr.bars(first, end).notes.items() for r in a}


def test_aaba_repeats_a_and_b_differs(bar_model):
    piece = compose(bar_model, ComposeConfig(form="AABA", section_bars=2, key="G major"), seed=2)[0]
    arr = Arrangement.from_score(piece.score, 1920)
    assert [s[0] for s in piece.sections] == list("AABA") and piece.bars == 8
    a1, a2, b, a3 = (_onsets(arr, s, e) for _, s, e in piece.sections)
    assert a1 == a2 == a3 and a1 != b  # durations aside: the last A's notes end with the piece


def test_a_looped_form_keeps_its_repeats_first_bars_the_loops_bar_1(bar_model):
    config = ComposeConfig(form="AABA", section_bars=2, key="G major", loop=True, stems=False)
    piece = compose(bar_model, config, seed=2)[0]
    plain = compose(bar_model, dataclasses.replace(config, loop=False), seed=2)[0]
    arr, before = Arrangement.from_score(piece.score, 1920), Arrangement.from_score(plain.score, 1920)
    assert _onsets(arr, 0, 1) != _onsets(before, 0, 1)  # the loop rewrote bar 1 ...
    assert _onsets(arr, 0, 1) == _onsets(arr, 2, 3)  # ... and the second A starts with it again
    assert _onsets(arr, 4, 5) == _onsets(before, 4, 5)  # B untouched


def test_variation_rewrites_the_end_of_each_repeat(bar_model):
    piece = compose(bar_model, ComposeConfig(form="AA", section_bars=2, variation=0.5), seed=2)[0]
    arr = Arrangement.from_score(piece.score, 1920)
    assert _onsets(arr, 0, 1) == _onsets(arr, 2, 3)  # the repeat's first bar is the section's own
    assert _onsets(arr, 1, 2) and _onsets(arr, 3, 4)  # (a random model leaves some bars empty; not these)
    assert _onsets(arr, 1, 2) != _onsets(arr, 3, 4)  # its last bar (half of 2) is new


def test_intro_and_ending_lie_outside_the_loop(bar_model, tmp_path):
    config = ComposeConfig(bars=4, loop=True, intro=2, ending=1, sample_rate=SR, formats=("ogg",))
    piece = compose(bar_model, config, seed=1)[0]
    assert (piece.bars, piece.loop) == (7, (2, 6))
    info = json.loads((write_composition(piece, tmp_path, config) / "piece.json").read_text())
    assert (
        info["loop"]["start_sample"] == round(2 * 2.0 * SR) and info["loop"]["length_samples"] == 4 * 2 * SR
    )
    assert read_comments(tmp_path / "mix.ogg")["LOOPSTART"] == str(4 * SR)


def test_a_console_keeps_to_its_line_up(bar_model):
    piece = compose(bar_model, ComposeConfig(bars=2, console="nes"), seed=0)[0]
    assert {DRUMS if t.is_drum else t.program for t in piece.score.tracks} <= {38, 80, 81, DRUMS}


def test_a_model_without_bars_is_refused_in_one_line(bar_model):
    performance = types.SimpleNamespace(
        model=bar_model.model, tokenizer=types.SimpleNamespace(name="performance")
    )
    with pytest.raises(ConfigError, match="bar-token model"):
        compose(performance, ComposeConfig(bars=2))


@pytest.mark.parametrize(
    "flags, valid",
    [
        (["--bars", "0"], "between 1 and 128"),
        (["--bars", "500"], "between 1 and 128"),
        (["--key", "H minor"], "tonic A-G"),
        (["--key", "D weird"], "dorian"),
        (["--form", "A1BA"], "letters like AABA"),
        (["--intensity", "1.5"], "between 0 (calm) and 1"),
        (["--intensity", "loud"], "0 (calm) to 1"),
        (["--console", "atari"], "nes, gameboy, snes, genesis"),
        (["--time-signature", "5/16"], "4/4, 3/4"),
        (["--form", "AABA", "--bars", "12"], "16 bars"),
    ],
)
def test_bad_values_are_one_line_listing_what_is_valid(flags, valid, capsys):
    assert main(["compose", *flags]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("overworld compose: error:") and valid in err and "\n" not in err


def test_a_performance_model_is_refused_in_one_line(tmp_path, capsys):
    from overworld.models import build_model, save_model
    from overworld.tokenizers import make_tokenizer

    tokenizer = make_tokenizer("performance")
    config = ModelConfig(
        vocab_size=tokenizer.vocab_size,
        embedding_size=16,
        sequence_length=32,
        num_blocks=1,
        num_heads=2,
        feed_forward_dim=32,
    )
    folder = save_model(tmp_path / "performance", build_model(config), tokenizer)
    assert main(["compose", "--model", str(folder), "--bars", "2", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert "bar-token model" in err and "\n" not in err
