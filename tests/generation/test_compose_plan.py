"""compose follows an arrangement plan: a piece named with --like gives its form and arrangement (which
instruments play in each bar, which parts repeat), the notes stay the model's; intensity keeps the plan's
layers; a console's line-up gets its voices, a bass on the bass."""

from __future__ import annotations

import types

import pytest
import torch

from overworld.config import ModelConfig, SampleConfig
from overworld.generation.compose import ComposeConfig, compose
from overworld.generation.plans import draw_plans
from overworld.midi import write_score
from overworld.tokenizers.bars import BarTokenizer
from overworld.tokenizers.bars import Layout as L
from overworld.tokenizers.bars_plan import Plan

DRUMS = 128


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
    return types.SimpleNamespace(
        model=build_model(config).eval(),
        tokenizer=BarTokenizer(),
        sampling=SampleConfig(max_polyphony=4),
        path=None,
    )


@pytest.fixture(scope="module")
def like_file(tmp_path_factory):
    """8 bars: a bass every bar (repeating each 2), drums from bar 3 (repeating each bar), a lead in 5-8."""
    import symusic

    score = symusic.Score(480)
    bass, drums, lead = (
        symusic.Track(program=p, is_drum=d) for p, d in ((33, False), (0, True), (80, False))
    )
    bar = 4 * 480
    for b in range(8):
        pitch = 40 if b % 2 == 0 else 43
        bass.notes.extend([symusic.Note(b * bar + q * 480, 400, pitch, 90) for q in range(4)])
        if b >= 2:
            drums.notes.extend(
                [symusic.Note(b * bar + q * 240, 100, 36 + 6 * (q % 2), 100) for q in range(8)]
            )
        if b >= 4:
            lead.notes.extend([symusic.Note(b * bar + q * 960, 900, 72 + b + q, 100) for q in range(2)])
    score.tracks.extend([bass, drums, lead])
    score.tempos.append(symusic.Tempo(0, 120.0))
    score.time_signatures.append(symusic.TimeSignature(0, 4, 4))
    path = tmp_path_factory.mktemp("like") / "like.mid"
    write_score(score, path)
    return path


def _bars(score) -> list[set[int]]:
    """The instruments with a note starting in each bar."""
    out: list[set[int]] = [set() for _ in range(8)]
    for track in score.tracks:
        for note in track.notes:
            out[min(note.time // (4 * score.ticks_per_quarter), 7)].add(
                DRUMS if track.is_drum else track.program
            )
    return out


def test_like_gives_the_pieces_form_and_arrangement_with_new_notes(bar_model, like_file):
    piece = compose(bar_model, ComposeConfig(bars=8, key="C major", like=str(like_file)), seed=1)[0]
    assert _bars(piece.score) == [{33}, {33}, {33, DRUMS}, {33, DRUMS}] + [{33, DRUMS, 80}] * 4
    bass = sorted(
        (n.time, n.pitch) for t in piece.score.tracks if t.program == 33 and not t.is_drum for n in t.notes
    )
    by_bar = [[(t % 1920, p) for t, p in bass if t // 1920 == b] for b in range(8)]
    assert by_bar[2] == by_bar[0] and by_bar[3] == by_bar[1]  # the plan's REPEAT 2 of the bass
    assert by_bar[0] != [(q * 480, 40) for q in range(4)]  # the model's notes, not the file's


def test_intensity_keeps_the_plans_busiest_layers(bar_model, like_file):
    config = ComposeConfig(bars=8, key="C major", like=str(like_file), intensity=(0.2,))
    piece = compose(bar_model, config, seed=2)[0]
    played = set().union(*_bars(piece.score))
    assert played == {33, 80}  # 0.2: three instruments at most, no drums below 0.4


def test_a_console_gets_three_voices_with_a_bass_from_drawn_plans():
    sources = [
        Plan(
            tuple(
                ((29, 0), (33, 0), (52, 0), (80, 0), (DRUMS, 0))
                if b % 4 == 0
                else ((29, 0), (33, 1), (80, 0), (DRUMS, 1))
                for b in range(16)
            ),
            registers=((29, 62.0), (33, 36.0), (52, 60.0), (80, 74.0), (DRUMS, 40.0)),
        ),
        Plan(tuple(((80, 0),) for _ in range(16)), registers=((80, 72.0),)),  # a lone lead
    ]
    nes = (38, 80, 81, DRUMS)
    for seed in range(10):
        plan = draw_plans(sources, 1, 8, seed, nes)[0]
        pitched = [i for i in plan.instruments if i != DRUMS]
        assert len(pitched) == 3 and 38 in pitched
        assert any(inst == 38 for parts in plan.bars for inst, _ in parts)


def test_the_bundled_model_carries_plans_that_its_grammar_can_follow():
    from overworld.generation.plans import read_plans
    from overworld.models.storage import load_model

    model = load_model("default")
    plans = read_plans(model)  # each checked by Plan itself: repeats only onto the instrument's parts
    assert len(plans) > 100
    assert sum(len(p.bars) for p in plans) > 100 * 16
    assert any(k > 0 for p in plans for parts in p.bars for _, k in parts)  # the repeats the tokens carry


def test_plans_are_read_once_per_file_version_and_tokenizer(tmp_path, monkeypatch):
    from overworld.generation import plans

    reads = []
    monkeypatch.setattr(plans, "_parse_plans", lambda path, tokenizer: reads.append(path) or [object()])
    monkeypatch.setattr(plans, "_READ", {})
    (tmp_path / plans.PLANS_FILE).write_text("{}")
    model = types.SimpleNamespace(path=tmp_path, tokenizer=object())
    first = plans.read_plans(model)
    assert plans.read_plans(model) is first and len(reads) == 1
    other = types.SimpleNamespace(path=tmp_path, tokenizer=object())  # another tokenizer reads its own
    assert plans.read_plans(other) is not first and len(reads) == 2
    (tmp_path / plans.PLANS_FILE).write_text('{"plans": []}')  # a new version of the file
    plans.read_plans(other)
    assert len(reads) == 3


def test_generate_like_and_plan_from_the_command_line(like_file, tmp_path, capsys):
    import symusic

    from overworld.cli import main
    from overworld.models import build_model
    from overworld.models.storage import save_model
    from overworld.tokenizers import make_tokenizer

    bars = make_tokenizer("bars")
    config = ModelConfig(
        vocab_size=bars.vocab_size,
        embedding_size=32,
        sequence_length=256,
        num_blocks=2,
        num_heads=2,
        feed_forward_dim=64,
        dropout=0.0,
    )
    model_dir = save_model(tmp_path / "m", build_model(config), bars, {"data": "random weights"})
    out = tmp_path / "out"
    argv = [
        "generate",
        "--model",
        str(model_dir),
        "--out",
        str(out),
        "--bars",
        "8",
        "--num",
        "2",
        "--seed",
        "3",
        "--time-signature",
        "4/4",
        "--like",
        str(like_file),
        "--max-polyphony",
        "4",
    ]
    assert main(argv) == 0
    for n in range(2):
        score = symusic.Score(str(out / f"overworld-3-{n}.mid"))
        assert _bars(score) == [{33}, {33}, {33, DRUMS}, {33, DRUMS}] + [{33, DRUMS, 80}] * 4
    # a model with no plans.json: --plan is one line, before any bar is drawn
    assert main([*argv[:-4], "--plan", "--out", str(tmp_path / "o2")]) == 2
    assert "no arrangement plans" in capsys.readouterr().err
    assert main([*argv[:-4], "--like", str(tmp_path / "missing.mid")]) == 2
    assert "missing.mid" in capsys.readouterr().err
