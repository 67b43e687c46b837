"""Arrangement plans: read from bar tokens, cut and mapped onto a line-up, and followed exactly by the
bar grammar while the notes stay the model's."""

from __future__ import annotations

import numpy as np
import pytest

from overworld.config import SampleConfig
from overworld.errors import ConfigError
from overworld.generation.sampler import generate
from overworld.tokenizers import make_tokenizer
from overworld.tokenizers.bars import Layout as L
from overworld.tokenizers.bars_plan import Plan, plan_of

DRUMS = 128


def _part(inst: int, pitch: int) -> list[int]:
    return [L.TRACK + inst, L.POS + 0, L.VEL + 10, L.PITCH + pitch, L.DUR + 3]


def _bar(*parts: list[int]) -> list[int]:
    return [L.BAR] + [t for p in parts for t in p]


def _written(plan: Plan) -> tuple:
    """The plan's bars with variations counted as new parts (what the grammar enforces)."""
    return tuple(tuple((i, max(k, 0)) for i, k in bar) for bar in plan.bars)


def test_a_plan_is_read_from_the_tokens_parts_and_repeats():
    ids = [
        L.BAR, L.TIMESIG, L.TEMPO + 10, *_part(33, 40), *_part(DRUMS, 36),
        *_bar([L.TRACK + 33, L.REPEAT + 0], _part(80, 72)),  # bass repeats 1 bar back, a lead enters
        *_bar(),  # a rest bar
        *_bar([L.TRACK + 33, L.REPEAT + 2], [L.TRACK + DRUMS, L.REPEAT + 2]),  # both as in bar 1
    ]  # fmt: skip
    plan = plan_of(ids, source="x")
    assert plan.bars == (((33, 0), (DRUMS, 0)), ((33, 1), (80, 0)), (), ((33, 3), (DRUMS, 3)))
    assert plan.registers == ((33, 40.0, 40, 40), (80, 72.0, 72, 72))  # pitched: mean, lowest, highest
    assert plan.ranges() == {33: (40, 40), 80: (72, 72)}
    assert Plan.from_dict(plan.to_dict()) == plan


def test_a_segment_turns_repeats_that_reach_before_it_into_new_parts():
    plan = Plan((((33, 0),), ((33, 1),), ((33, 1),), ((33, 2),)))
    assert plan.segment(2, 2).bars == (((33, 0),), ((33, 0),))  # bar 2 copied bar 1, which is outside
    assert plan.segment(1, 3).bars == (((33, 0),), ((33, 1),), ((33, 2),))
    wrapped = plan.segment(3, 3)  # bars 3, 0, 1: the wrap starts afresh
    assert wrapped.bars == (((33, 0),), ((33, 0),), ((33, 1),))


def test_a_plan_on_the_nes_line_up_keeps_its_bass_on_the_triangle():
    plan = Plan(
        (((29, 0), (33, 0), (48, 0), (80, 0), (DRUMS, 0)), ((29, 1), (33, 1), (80, 0), (DRUMS, 1))),
        registers=((29, 64.0), (33, 38.0), (48, 60.0), (80, 75.0), (DRUMS, 40.0)),
    )
    nes = plan.remapped((38, 80, 81, DRUMS))
    assert nes.instruments == (38, 80, 81, DRUMS)
    assert (38, 0) in nes.bars[0] and (38, 1) in nes.bars[1]  # the bass line (33) plays the triangle
    assert len(nes.bars[0]) == 4  # three pitched voices and the drums


@pytest.mark.parametrize(
    "bars",
    [(((33, 1),),), (((33, 0),), ((40, 1),)), (((40, 0), (33, 0)),), ()],
)
def test_a_plan_that_cannot_be_followed_is_refused(bars):
    with pytest.raises(ConfigError):
        Plan(bars)


def test_generated_pieces_follow_their_plans_bar_for_bar(random_model):
    bars = make_tokenizer("bars")
    plans = [
        Plan((((33, 0), (DRUMS, 0)), ((33, 1), (DRUMS, 0)), ((33, 0), (80, 0), (DRUMS, 2)), (), ((80, 2),))),
        Plan((((0, 0),), ((0, 1), (DRUMS, 0)), ((0, 2), (DRUMS, 1)), ((0, 0), (DRUMS, 2)), ((0, 4),))),
    ]
    config = SampleConfig(temperature=1.0, max_polyphony=6)
    pieces = generate(random_model, bars, config, num=2, bars=5, seed=4, plans=plans)
    assert len(pieces) == 2
    for ids, plan in zip(pieces, plans):
        assert _written(plan_of(ids)) == plan.bars  # a new part may come out close to an earlier one
        written = np.asarray(ids)
        assert ((written >= L.PITCH) & (written < L.DUR)).sum() > 0  # the new parts hold notes


def test_a_model_with_plans_draws_one_for_each_piece(random_model, tmp_path):
    from overworld.generation.plans import draw_plans

    source = Plan(tuple(((33, 0),) if b % 2 == 0 else ((33, 1), (DRUMS, 0)) for b in range(12)),
                  registers=((33, 40.0), (DRUMS, 38.0)))  # fmt: skip
    drawn = draw_plans([source], 3, 6, seed=1)
    assert [len(p.bars) for p in drawn] == [6, 6, 6]
    assert draw_plans([source], 3, 6, seed=1) == drawn  # seeded
    with pytest.raises(ConfigError, match="no arrangement plans"):
        draw_plans([], 1, 4, seed=0)


def test_new_parts_keep_to_their_instruments_range_in_the_source(random_model):
    bars = make_tokenizer("bars")
    plan = Plan(tuple(((33, 0), (80, 0), (DRUMS, 0)) for _ in range(4)),
                registers=((33, 40.0, 36, 45), (80, 74.0, 70, 79)))  # fmt: skip
    pieces = generate(
        random_model, bars, SampleConfig(max_polyphony=6), num=3, bars=4, seed=2, plans=[plan] * 3
    )
    score_pitches: dict[int, list[int]] = {}
    for ids in pieces:
        for track in bars.decode(ids).tracks:
            if not track.is_drum:
                score_pitches.setdefault(track.program, []).extend(n.pitch for n in track.notes)
    assert score_pitches[33] and score_pitches[80]
    assert (
        min(score_pitches[33]) >= 34 and max(score_pitches[33]) <= 47
    )  # the range, two semitones either way
    assert min(score_pitches[80]) >= 68 and max(score_pitches[80]) <= 81


def test_new_parts_keep_to_their_instruments_onset_grid_in_the_source(random_model):
    ids = [L.BAR, L.TIMESIG, L.TEMPO + 10, *_part(33, 40), L.POS + 6, L.PITCH + 41, L.DUR + 3, *_part(80, 72)]
    assert dict(plan_of(ids).grids) == {33: 6, 80: 12}  # the bass on eighths, the lead on the beat
    bars = make_tokenizer("bars")
    plan = Plan(tuple(((33, 0), (80, 0)) for _ in range(4)), grids=((33, 6), (80, 4)))
    config = SampleConfig(max_polyphony=6, time_signature="4/4")  # bar lines on beats, for the check below
    pieces = generate(random_model, bars, config, num=3, bars=4, seed=5, plans=[plan] * 3)
    onsets: dict[int, set[int]] = {}
    for ids in pieces:
        for track in bars.decode(ids).tracks:
            onsets.setdefault(track.program, set()).update(n.time % 480 for n in track.notes)
    assert onsets[33] and onsets[33] <= {0, 240}  # eighths at 480 ticks a beat
    assert onsets[80] and onsets[80] <= {0, 160, 320}  # eighth triplets
    with pytest.raises(ConfigError):
        Plan((((33, 0),),), grids=((33, 5),))
