"""Grammar masks hold even when the model pushes against them (random or biased models)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from overworld.config import SampleConfig
from overworld.errors import ConfigError
from overworld.generation.controls import parse_budget, parse_instruments
from overworld.generation.sampler import generate
from overworld.tokenizers import vocab as V
from overworld.tokenizers.performance_grammar import PerformanceGrammar as Grammar
from overworld.tokenizers.performance_grammar import clean_primer, grid_spacing

from .conftest import replay


def test_random_model_output_obeys_the_grammar(tiny_model, tokenizer):
    config = SampleConfig(max_polyphony=3, max_note_seconds=0.3)
    pieces = generate(tiny_model, tokenizer, config, num=4, length=400, seed=3)
    for ids in pieces:
        problems = replay(ids, max_note_seconds=0.3)
        assert problems["peak"] <= 3
        assert {k: v for k, v in problems.items() if k != "peak"} == dict.fromkeys(
            problems.keys() - {"peak"}, 0
        )


def test_note_hungry_model_hits_the_polyphony_cap_and_note_length(biased_model, tokenizer):
    model = biased_model(note_on=8.0, time_shift=3.0)  # starts notes, never wants to release them
    config = SampleConfig(max_polyphony=4, max_note_seconds=0.5)
    for ids in generate(model, tokenizer, config, num=2, length=300, seed=0):
        problems = replay(ids, max_note_seconds=0.5)
        assert problems["peak"] == 4  # the cap is reached and never passed
        assert problems["too_long"] == 0 and problems["orphan_off"] == 0 and problems["unclosed"] == 0
        assert tokenizer.count_notes(ids) > 10  # notes get released so new ones can start


def test_release_hungry_model_never_releases_silence(biased_model, tokenizer):
    model = biased_model(note_off=10.0, velocity=5.0, instrument=5.0)
    ids = generate(model, tokenizer, SampleConfig(), num=1, length=200, seed=1)[0]
    problems = replay(ids)
    assert problems["orphan_off"] == 0 and problems["repeat_state"] == 0


def test_instruments_restrict_instrument_tokens(tiny_model, tokenizer):
    allowed = parse_instruments("nes")
    config = SampleConfig(instruments=allowed)
    for ids in generate(tiny_model, tokenizer, config, num=3, length=300, seed=2):
        used = {t - V.INSTRUMENT_OFFSET for t in ids.tolist() if t >= V.INSTRUMENT_OFFSET}
        assert used <= set(allowed)


def test_eos_only_when_nothing_else_is_valid_then_only_pad():
    grammar = Grammar(2, max_seconds=0.05)
    grammar.update(torch.tensor([V.INSTRUMENT_OFFSET + 80, V.INSTRUMENT_OFFSET + 80]))
    grammar.update(torch.tensor([V.NOTE_ON_OFFSET + 60, V.NOTE_ON_OFFSET + 60]))
    ok = grammar.allowed()
    assert not ok[:, V.EOS].any()  # the piece gets the length asked
    assert not ok[:, V.PAD].any() and not ok[:, V.BOS].any()
    grammar.update(torch.tensor([V.TIME_SHIFT_OFFSET + 4, V.TIME_SHIFT_OFFSET]))  # 50 ms: row 0 is done
    ok = grammar.allowed()
    assert ok[0].nonzero().flatten().tolist() == [V.EOS]
    assert ok[1, V.NOTE_OFF_OFFSET + 60] and not ok[1, V.NOTE_OFF_OFFSET + 61] and not ok[1, V.EOS]
    assert grammar.closing_tokens(1) == [V.NOTE_OFF_OFFSET + 60]
    grammar.update(torch.tensor([V.EOS, V.NOTE_OFF_OFFSET + 60]))
    assert grammar.allowed()[0].nonzero().flatten().tolist() == [V.PAD]


def test_instrument_and_velocity_are_followed_by_a_note_event():
    grammar = Grammar(1)
    grammar.update(torch.tensor([V.INSTRUMENT_OFFSET + 33]))
    ok = grammar.allowed()[0]
    assert (
        not ok[V.TIME_SHIFT_OFFSET : V.VOCAB_SIZE].any()
        and ok[V.NOTE_ON_OFFSET + 40]
        and ok[V.VELOCITY_OFFSET + 3]
    )
    grammar.update(torch.tensor([V.VELOCITY_OFFSET + 3]))
    ok = grammar.allowed()[0]
    assert (
        ok.nonzero().flatten().min() >= V.NOTE_ON_OFFSET and ok.nonzero().flatten().max() < V.NOTE_OFF_OFFSET
    )


def test_parse_instruments_accepts_numbers_names_drums_and_presets():
    assert parse_instruments("") == ()
    assert parse_instruments("80, drums, 33") == (80, 128, 33)
    assert parse_instruments("Lead 1 (square),triangle") == (80, 38)
    assert parse_instruments("nes") == (80, 81, 38, 128)
    assert parse_instruments("marimba") == (12,)
    for bad in ("200", "kazoo-xyz", "piano"):  # out of range, unknown, ambiguous
        with pytest.raises(ConfigError):
            parse_instruments(bad)


def test_clean_primer_drops_orphan_releases_and_specials():
    on, off = V.NOTE_ON_OFFSET, V.NOTE_OFF_OFFSET
    ids = [V.BOS, off + 62, on + 60, V.TIME_SHIFT_OFFSET + 9, off + 60, V.EOS]
    assert clean_primer(ids) == [on + 60, V.TIME_SHIFT_OFFSET + 9, off + 60]


def _instruments_played(ids) -> set[int]:
    played, current = set(), 0
    for t in ids.tolist():
        if t >= V.INSTRUMENT_OFFSET:
            current = t - V.INSTRUMENT_OFFSET
        elif V.NOTE_ON_OFFSET <= t < V.NOTE_OFF_OFFSET:
            played.add(current)
    return played


def test_instrument_budget_limits_distinct_instruments(tiny_model, tokenizer):
    for ids in generate(tiny_model, tokenizer, SampleConfig(max_instruments=2), num=3, length=300, seed=4):
        assert 1 <= len(_instruments_played(ids)) <= 2


def test_a_budget_range_gives_each_piece_its_own_budget_within_it(biased_model, tokenizer):
    model = biased_model(instrument=4.0, note_on=2.0)  # keeps switching to new instruments
    pieces = generate(model, tokenizer, SampleConfig(max_instruments=(2, 5)), num=12, length=400, seed=2)
    counts = [len(_instruments_played(ids)) for ids in pieces]
    assert all(2 <= n <= 5 for n in counts)
    assert len(set(counts)) > 1  # the budgets differ between pieces (one fixed budget gives one count)
    again = generate(model, tokenizer, SampleConfig(max_instruments=(2, 5)), num=12, length=400, seed=2)
    assert all(np.array_equal(a, b) for a, b in zip(pieces, again))


def test_parse_budget_reads_a_number_or_a_range():
    assert parse_budget("6") == 6 and parse_budget(" 4-9 ") == (4, 9) and parse_budget("0") == 0
    for bad in ("", "x", "9-4", "0-3", "-2", "4-"):
        with pytest.raises(ConfigError):
            parse_budget(bad)


def _onset_steps(ids) -> list[int]:
    """The time (10 ms steps) of every NOTE_ON."""
    now, out = 0, []
    for t in ids.tolist():
        if V.TIME_SHIFT_OFFSET <= t < V.INSTRUMENT_OFFSET:
            now += t - V.TIME_SHIFT_OFFSET + 1
        elif V.NOTE_ON_OFFSET <= t < V.NOTE_OFF_OFFSET:
            out.append(now)
    return out


@pytest.mark.parametrize(("bpm", "grid"), [(150.0, 4), (120.0, 4), (97.0, 3)])
def test_a_beat_grid_puts_every_onset_on_its_points(tiny_model, tokenizer, bpm, grid):
    spacing = 60.0 / (bpm * grid) / V.STEP_SECONDS  # steps between grid points, maybe fractional
    config = SampleConfig(bpm=bpm, grid=grid, max_note_seconds=2.0)
    pieces = generate(tiny_model, tokenizer, config, num=3, length=300, seed=5)
    for ids in pieces:
        onsets = _onset_steps(ids)
        assert len(onsets) > 10 and max(onsets) > 4 * spacing  # time moved on
        assert all(round(round(t / spacing) * spacing) == t for t in onsets)
        problems = replay(ids, max_note_seconds=2.0)
        assert problems["zero_length"] == 0 and problems["too_long"] == 0
    free = generate(tiny_model, tokenizer, SampleConfig(max_note_seconds=2.0), num=3, length=300, seed=5)
    off_grid = [t for ids in free for t in _onset_steps(ids) if round(round(t / spacing) * spacing) != t]
    assert off_grid  # without the grid a random model does land between its points


def test_a_grid_ends_a_timed_piece_at_its_last_point(tiny_model, tokenizer):
    config = SampleConfig(bpm=100.0, grid=2)  # points 0.3 s apart: 2.0 s holds 6 of them after 0
    for ids in generate(tiny_model, tokenizer, config, num=2, seconds=2.0, seed=1):
        assert tokenizer.seconds(ids) <= 2.0 and all(t % 30 == 0 for t in _onset_steps(ids))


def test_grid_spacing_refuses_grids_it_cannot_keep():
    assert grid_spacing(150.0, 4) == pytest.approx(10.0) and grid_spacing(120.0, 0) == 0.0
    for bpm, grid, longest in (
        (0.0, 4, 8.0),
        (120.0, -1, 8.0),
        (30.0, 1, 8.0),
        (300.0, 12, 8.0),
        (60.0, 2, 0.4),
    ):
        with pytest.raises(ConfigError):
            grid_spacing(bpm, grid, longest)


def test_settings_from_data_take_the_training_pieces_instrument_percentiles():
    from overworld.generation.controls import settings_from_data

    files = [{"split": "train", "instruments": list(range(n))} for n in (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11)]
    files.append({"split": "test", "instruments": list(range(40))})  # held-out pieces never count
    config = settings_from_data({"files": files})
    assert config.top_p == 0.95 and config.max_instruments == (2, 10)
    assert settings_from_data({"files": []}).max_instruments == 0
