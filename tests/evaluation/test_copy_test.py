"""The copying test: primed with a piece's first 12 bars, how much does a continuation repeat them?"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from overworld.config import ModelConfig, SampleConfig
from overworld.evaluation.copy_test import (
    copy_test,
    files_of_split,
    primer_similarity,
    too_short,
)

C_MAJOR = [60, 64, 67, 72]  # one note a beat: C4 E4 G4 C5
D_MINOR = [50, 53, 57, 62]  # new material: D3 F3 A3 D4
FAST = SampleConfig(max_polyphony=1, max_note_seconds=2.0)  # few notes a bar: a quick random model


def piece(bars: list[list[int]], qpm: float = 120.0):
    """A 4/4 score in ticks (480 a quarter) at ``qpm``: bar ``b`` plays ``bars[b]``, one quarter note a beat."""
    import symusic

    score = symusic.Score(480)
    score.tempos.append(symusic.Tempo(0, qpm))
    score.time_signatures.append(symusic.TimeSignature(0, 4, 4))
    track = symusic.Track("piano", 0, False)
    for b, pitches in enumerate(bars):
        for beat, pitch in enumerate(pitches):
            track.notes.append(symusic.Note(b * 1920 + beat * 480, 480, pitch, 90))
    score.tracks.append(track)
    return score


def tiny(tokenizer_name: str = "bars"):
    """A random two-block transformer with ``tokenizer_name``, loaded the way ``load_model`` returns one."""
    import torch

    from overworld.models import build_model
    from overworld.models.storage import Pretrained
    from overworld.tokenizers import make_tokenizer

    tokenizer = make_tokenizer(tokenizer_name)
    torch.manual_seed(0)
    config = ModelConfig(
        vocab_size=tokenizer.vocab_size,
        embedding_size=32,
        sequence_length=64,
        num_blocks=2,
        num_heads=2,
        feed_forward_dim=64,
        dropout=0.0,
    )
    return Pretrained(build_model(config).eval(), tokenizer, config, {}, Path("tiny"), FAST)


@pytest.fixture(scope="module")
def bar_model():
    return tiny("bars")


@pytest.fixture
def files(tmp_path):
    """same.mid: one bar 24 times; new.mid: 12 bars, then 12 bars of new pitches; short.mid: 20 bars."""
    from overworld.midi import write_score

    return {
        "same": write_score(piece([C_MAJOR] * 24), tmp_path / "same.mid"),
        "new": write_score(piece([C_MAJOR] * 12 + [D_MINOR] * 12), tmp_path / "new.mid"),
        "short": write_score(piece([C_MAJOR] * 20), tmp_path / "short.mid"),
    }


def test_primer_similarity_of_scores():
    assert primer_similarity(piece([C_MAJOR] * 24)) == 1.0
    assert primer_similarity(piece([C_MAJOR] * 12 + [D_MINOR] * 12)) == 0.0
    # half the continuation repeats bar 1, the other half is silent: silence is no copying
    assert primer_similarity(piece([C_MAJOR] * 18)) == 0.5
    # the same bar an octave up from beat 3: two of six distinct onsets shared
    assert primer_similarity(piece([C_MAJOR] * 12 + [[60, 64, 79, 84]] * 12)) == pytest.approx(2 / 6)
    # measured against another primer: the one the continuation was given
    assert primer_similarity(piece([C_MAJOR] * 12 + [D_MINOR] * 12), primer=piece([D_MINOR] * 12)) == 1.0


def test_real_and_generated_similarity_and_skips(bar_model, files):
    report = copy_test(bar_model, [files["same"], files["new"], files["short"]], FAST, seed=3)
    rows = {Path(p.path).stem: p for p in report.pieces}
    assert set(rows) == {"same", "new"}
    assert rows["same"].real == 1.0  # the real continuation is the primer's bar, 12 times over
    assert rows["new"].real < 0.2  # new pitches: nothing of the primer comes back
    assert rows["same"].seconds == pytest.approx(24.0)  # 12 bars of 4/4 at 120 bpm
    for row in report.pieces:
        assert 0.0 <= row.generated <= 1.0
    assert report.mean_real == pytest.approx(0.5)
    assert report.skipped == ((str(files["short"]), too_short(24)),)
    assert report.skipped_by_reason == {too_short(24): 1}
    again = copy_test(bar_model, [files["same"], files["new"], files["short"]], FAST, seed=3)
    assert again == report  # the same seed, the same report
    data = report.to_dict()
    assert data["mean_generated"] == report.mean_generated and len(data["pieces"]) == 2


class Copier:
    """A stand-in bar-token model that writes every bar as the piano repeating its previous bar, then
    ends: the logits are a fixed bias towards EOS, BAR, TRACK(piano) and REPEAT(1), whatever came before."""

    def __init__(self) -> None:
        import torch

        from overworld.tokenizers.bars import Layout as L

        self.bias = torch.zeros(L.SIZE)
        self.bias[[L.EOS, L.BAR, L.TRACK + 0, L.REPEAT + 0]] = torch.tensor([50.0, 50.0, 100.0, 150.0])
        self.config = ModelConfig(vocab_size=L.SIZE, sequence_length=64)
        self.training = False

    def parameters(self):
        return iter([self.bias])

    def eval(self):
        return self

    def train(self, mode: bool = True):
        return self

    def new_cache(self, batch_size, device=None):
        return [0]

    def step(self, ids, cache):
        return self.bias.expand(ids.shape[0], ids.shape[1], -1)


def test_a_model_that_repeats_its_primer_scores_like_the_music(files):
    from overworld.models.storage import Pretrained
    from overworld.tokenizers import make_tokenizer

    copier = Pretrained(Copier(), make_tokenizer("bars"), ModelConfig(), {}, Path("copier"))  # type: ignore[arg-type]
    report = copy_test(copier, [files["same"], files["new"]], SampleConfig())
    rows = {Path(p.path).stem: p for p in report.pieces}
    assert rows["same"].generated == 1.0 and rows["same"].ratio == 1.0
    assert rows["new"].generated == 1.0  # it goes on with the primer; the piece moves on


def test_seconds_continuation_for_tokenizers_without_bars(tmp_path):
    """Performance tokens are in seconds: the continuation is as long as the real one, and the decoded
    real piece lies on the piece's own tempo map (90 bpm), so its bars repeat exactly."""
    from overworld.midi import write_score

    path = write_score(piece([C_MAJOR] * 4, qpm=90.0), tmp_path / "same-90.mid")
    report = copy_test(tiny("performance"), [path], FAST, primer_bars=2, continuation_bars=2)
    (row,) = report.pieces
    assert row.real == 1.0
    assert row.seconds == pytest.approx(2 * 4 * 60 / 90)
    assert 0.0 <= row.generated <= 1.0


def test_files_of_split(tmp_path, files):
    prepared = tmp_path / "prepared"
    prepared.mkdir()
    rows = [{"path": "same.mid", "split": "test"}, {"path": "new.mid", "split": "train"}]
    (prepared / "manifest.json").write_text(json.dumps({"files": rows}), encoding="utf-8")
    assert files_of_split(prepared, "test") == [tmp_path / "same.mid"]  # found beside the prepared folder
    assert len(files_of_split(prepared, "all")) == 2


def test_cli_prints_the_table(tmp_path, files, bar_model, capsys):
    from overworld.cli import main
    from overworld.models.storage import save_model

    model_dir = save_model(
        tmp_path / "model", bar_model.model, bar_model.tokenizer, {"data": "test fixture"}, FAST
    )
    reference = tmp_path / "reference"
    reference.mkdir()
    for name in ("same", "short"):
        files[name].rename(reference / files[name].name)
    out = tmp_path / "copy.json"
    args = [
        "evaluate",
        "--model",
        str(model_dir),
        "--copy-test",
        "--reference",
        str(reference),
        "--json",
        str(out),
    ]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "copy test: primed with 12 bars" in printed and "same.mid" in printed
    assert "skipped 1 piece: fewer than 24 bars" in printed
    data = json.loads(out.read_text())
    assert data["mean_real"] == 1.0 and data["skipped_by_reason"] == {too_short(24): 1}
    assert main(["evaluate", "--model", str(model_dir), "--copy-test"]) == 2  # no pieces to test
