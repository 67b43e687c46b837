"""Infilling: every note outside the span is kept exactly (real files with tempo changes), only the asked
instruments change, the same seed gives the same take, a bad span is one line."""

from __future__ import annotations

import types
from collections import Counter
from pathlib import Path

import pytest
import symusic
import torch

from overworld.cli import main
from overworld.config import ModelConfig, SampleConfig
from overworld.errors import ConfigError
from overworld.generation.infill import infill, parse_bars
from overworld.midi import load_score, write_score
from overworld.tokenizers.bars import BarTokenizer
from overworld.tokenizers.bars import Layout as L

OPENMSX = Path("/usr/share/games/openttd/baseset/openmsx")
TEMPO_CHANGES = ("be_sharp_bw_redfarn.mid", "5432gone_redfarn.mid", "careless_perc_redfarn.mid")


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
    sampling = SampleConfig(max_polyphony=4)  # a random model's parts stay small
    return types.SimpleNamespace(
        model=build_model(config).eval(), tokenizer=BarTokenizer(), sampling=sampling
    )


def _notes(score: symusic.Score, keep=lambda t, n: True) -> Counter:
    return Counter(
        (t.program, t.is_drum, n.time, n.duration, n.pitch, n.velocity)
        for t in score.tracks
        for n in t.notes
        if keep(t, n)
    )


def _outside(span):
    return lambda t, n: not span[0] <= n.time < span[1]


@pytest.mark.parametrize("name", TEMPO_CHANGES)
def test_every_note_outside_the_span_is_kept_exactly_in_a_real_file(bar_model, name, tmp_path):
    path = OPENMSX / name
    if not path.exists():
        pytest.skip("Debian's openttd-openmsx is not installed")
    original = load_score(path, ttype="tick")
    assert len(original.tempos) > 1  # a tempo map, not one tempo
    take = infill(bar_model, path, (5, 8), seed=1)[0]
    again = load_score(write_score(take.score, tmp_path / "out.mid"), ttype="tick")
    lines = BarTokenizer().bar_ticks(original)
    assert take.span_ticks == (lines[4], lines[8])
    outside = _outside(take.span_ticks)
    assert _notes(again, outside) == _notes(original, outside)
    assert [(t.time, t.mspq) for t in again.tempos] == [(t.time, t.mspq) for t in original.tempos]
    inside = [n for t in again.tracks for n in t.notes if not outside(t, n)]
    assert take.notes == len(inside) > 0
    assert all(n.time + n.duration <= take.span_ticks[1] for n in inside)  # new notes end by the span's end


def _piece() -> symusic.Score:
    """Piano chords every bar and a bass note held from bar 4 into bar 6; drums on each beat; 10 bars."""
    score = symusic.Score(480)
    score.tempos.append(symusic.Tempo(0, 100.0))
    piano, bass, kit = symusic.Track(program=0), symusic.Track(program=33), symusic.Track(is_drum=True)
    for bar in range(10):
        for beat in range(4):
            kit.notes.append(symusic.Note(bar * 1920 + beat * 480, 120, 36, 90))
        piano.notes.append(symusic.Note(bar * 1920, 960, 60 + bar % 3, 80))
    bass.notes.append(symusic.Note(3 * 1920 + 960, 2 * 1920, 36, 100))  # bar 4, beat 3 -> bar 6
    score.tracks.extend([piano, bass, kit])
    return score


def test_a_note_held_into_the_span_is_kept_as_written(bar_model):
    take = infill(bar_model, _piece(), (5, 6), seed=2)[0]
    bass = [n for t in take.score.tracks if t.program == 33 and not t.is_drum for n in t.notes]
    assert (3 * 1920 + 960, 2 * 1920, 36) in [(n.time, n.duration, n.pitch) for n in bass]


def test_restricting_instruments_changes_only_those(bar_model):
    score = _piece()
    take = infill(bar_model, score, (3, 6), instruments=(128,), seed=4)[0]
    pitched = lambda t, n: not t.is_drum  # noqa: E731
    assert _notes(take.score, pitched) == _notes(score, pitched)
    assert all(t.is_drum for t in take.score.tracks[len(score.tracks) :])
    drums_outside = lambda t, n: t.is_drum and _outside(take.span_ticks)(t, n)  # noqa: E731
    assert _notes(take.score, drums_outside) == _notes(score, drums_outside)


def test_the_same_seed_gives_the_same_take(bar_model):
    a, b = (infill(bar_model, _piece(), "3-4", seed=9, num=2) for _ in range(2))
    assert [_notes(t.score) for t in a] == [_notes(t.score) for t in b]
    assert _notes(a[0].score) != _notes(a[1].score)  # two takes of one batch differ


def test_a_piece_that_ends_in_silent_bars_can_have_them_rewritten(bar_model):
    score = _piece()
    for track in score.tracks:  # 10 bars long, the notes in its first 8: bars 9-10 are rests
        track.notes = symusic.Note.from_numpy(
            *(
                track.notes.numpy()[k][track.notes.numpy()["time"] < 8 * 1920]
                for k in ("time", "duration", "pitch", "velocity")
            )
        )
    with pytest.raises(ConfigError, match="outside the piece's 8 bars"):
        infill(bar_model, score, (9, 10))
    take = infill(bar_model, score, (9, 10), seed=3, piece_bars=10)[0]
    assert take.span_ticks == (8 * 1920, 10 * 1920)
    assert _notes(take.score, _outside(take.span_ticks)) == _notes(score)  # every note before them kept


@pytest.mark.parametrize(
    "bars, message",
    [
        ("9-12", "outside the piece"),
        ("11", "outside the piece"),
        ("6-3", "runs backwards"),
        ("", "FIRST-LAST"),
        ("0-2", "count from 1"),
        ("a-b", "FIRST-LAST"),
    ],
)
def test_a_bad_span_is_one_line(bar_model, bars, message):
    with pytest.raises(ConfigError, match=message):
        infill(bar_model, _piece(), parse_bars(bars) if "-" in bars and bars[0].isdigit() else bars)


def test_the_cli_reports_a_bad_span_in_one_line(tmp_path, capsys):
    path = write_score(_piece(), tmp_path / "piece.mid")
    assert main(["infill", str(path), "--bars", "8-5", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("overworld infill: error:") and "runs backwards" in err and "\n" not in err
