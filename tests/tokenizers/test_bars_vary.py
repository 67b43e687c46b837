"""Variations: a plan marks a new part that shares most of its onsets with an earlier part of its
instrument, and the grammar writes it with that part as its guide (a bonus on the guide's next token)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from overworld.config import SampleConfig
from overworld.errors import ConfigError
from overworld.generation.sampler import generate
from overworld.tokenizers import bars_vary, make_tokenizer
from overworld.tokenizers.bars import Layout as L
from overworld.tokenizers.bars_plan import Plan, plan_of

DRUMS = 128


def _notes(inst: int, notes: list[tuple[int, int]], vel: int = 10) -> list[int]:
    """A part of ``inst``: notes ``(position, pitch)``, each a sixteenth long, at one velocity."""
    out, at = [L.TRACK + inst], -1
    for n, (pos, pitch) in enumerate(notes):
        if pos != at:
            out.append(L.POS + pos)
            at = pos
        if n == 0:
            out.append(L.VEL + vel)
        out += [L.PITCH + pitch, L.DUR + 2]
    return out


RIFF = [(0, 40), (6, 43), (12, 45), (18, 47)]
ANSWER = [(0, 40), (6, 43), (12, 45), (18, 50)]  # 3 of the riff's 4 onsets: Jaccard 3/5
OTHER = [(0, 52), (12, 55)]  # nothing in common with the riff


def test_a_new_part_close_to_an_earlier_one_varies_it_and_a_distant_one_is_new():
    ids = [L.BAR, L.TIMESIG, L.TEMPO + 10, *_notes(33, RIFF), *_notes(DRUMS, [(0, 36)]),
           L.BAR, *_notes(33, OTHER), L.TRACK + DRUMS, L.REPEAT + 0,
           L.BAR, *_notes(33, ANSWER)]  # fmt: skip
    plan = plan_of(ids)
    assert plan.bars == (((33, 0), (DRUMS, 0)), ((33, 0), (DRUMS, 1)), ((33, -2),))
    assert Plan.from_dict(plan.to_dict()) == plan
    assert plan.segment(1, 2).bars == (((33, 0), (DRUMS, 0)), ((33, 0),))  # its guide is outside


def test_a_variation_of_a_bar_where_the_instrument_is_silent_is_refused():
    with pytest.raises(ConfigError, match="varies 1 bars back"):
        Plan((((33, 0),), ((40, -1),)))


def _parts(ids: np.ndarray, inst: int) -> list[set[tuple[int, int]]]:
    """Each bar's onsets ``(position, pitch)`` of ``inst``, as written (a repeat as its source)."""
    from overworld.tokenizers.bars_plan import _read_parts

    return [set(bar.get(inst, ())) for bar in _read_parts(ids)[1]]


def _jaccard(a: set, b: set) -> float:
    return len(a & b) / len(a | b) if a | b else 1.0


def test_a_variation_follows_its_guide_and_the_bonus_is_what_makes_it(random_model, monkeypatch):
    bars = make_tokenizer("bars")
    plan = Plan((((33, 0),), ((33, -1),), ((33, -1),), ((33, -2),)), registers=((33, 44.0, 36, 52),))
    # short notes, so that a bar held over never leaves the guide's notes without room; few of them
    config = SampleConfig(time_signature="4/4", steady=True, max_polyphony=3, max_note_seconds=0.1)
    similar = {}
    for bonus in (0.0, 30.0):
        monkeypatch.setattr(bars_vary, "BONUS", bonus)
        pieces = generate(random_model, bars, config, num=2, bars=4, seed=3, plans=[plan] * 2)
        assert len(pieces) == 2
        values = []
        for ids in pieces:
            parts = _parts(np.asarray(ids), 33)
            assert len(parts) == 4 and parts[0]
            values += [
                _jaccard(parts[1], parts[0]),
                _jaccard(parts[2], parts[1]),
                _jaccard(parts[3], parts[1]),
            ]
        similar[bonus] = float(np.mean(values))
    assert similar[30.0] > 0.9  # a strong guide is all but copied, note for note
    assert similar[0.0] < 0.5  # without it, the random model's parts have little in common


def _restrikes(ids: list[int]) -> tuple[int, int]:
    """How many pitched notes repeat their instrument's previous pitch, of how many, in writing order."""
    previous: dict[int, int] = {}
    inst, same, total = -1, 0, 0
    for t in ids:
        if L.TRACK <= t < L.REPEAT:
            inst = t - L.TRACK
        elif L.PITCH <= t < L.DUR and inst != DRUMS:
            same += previous.get(inst) == t - L.PITCH
            total += 1
            previous[inst] = t - L.PITCH
    return same, total


def test_a_pitched_instruments_previous_pitch_is_lowered_by_the_restrike_correction(
    random_model, monkeypatch
):
    bars = make_tokenizer("bars")
    plan = Plan(
        tuple(((33, 0),) for _ in range(4)), registers=((33, 40.0, 38, 42),)
    )  # five pitches to choose
    config = SampleConfig(time_signature="4/4", steady=True, max_polyphony=1, max_note_seconds=0.1)
    counts = {}
    for restrike in (0.0, 50.0):
        monkeypatch.setattr(bars_vary, "RESTRIKE", restrike)
        pieces = generate(random_model, bars, config, num=2, bars=4, seed=8, plans=[plan] * 2)
        assert len(pieces) == 2
        counts[restrike] = [sum(x) for x in zip(*map(_restrikes, pieces))]
    assert counts[0.0][0] > 0 and counts[0.0][1] > 10  # a random model re-strikes among five pitches
    assert counts[50.0][0] == 0 and counts[50.0][1] > 10  # never with the correction, notes still written


def test_the_bias_kept_between_tokens_is_the_one_built_afresh():
    from overworld.tokenizers.bars_grammar import BarGrammar

    grammar = BarGrammar(make_tokenizer("bars"), 1, SampleConfig(time_signature="4/4", steady=True))
    grammar.follow([Plan((((33, 0), (DRUMS, 0)), ((33, -1), (DRUMS, 1))))])
    ids = [L.BAR, L.TIMESIG, L.TEMPO + 10, *_notes(33, RIFF), *_notes(DRUMS, [(0, 36), (6, 38)]),
           L.BAR, *_notes(33, ANSWER), L.TRACK + DRUMS, L.REPEAT + 0]  # fmt: skip
    lowered = []
    for tok in ids:
        grammar.update(torch.tensor([tok]))
        kept = grammar.bias().clone()
        grammar.part_cache.clear()  # every cached value of the part built again from the state
        assert torch.equal(kept, grammar.bias())
        low = (kept[0, L.PITCH : L.DUR] < 0).nonzero().flatten().tolist()
        lowered.append(low[0] if low else -1)
    assert lowered[ids.index(L.PITCH + 43) + 1] == 43  # the previous pitch follows each note of a part
    assert lowered[ids.index(L.PITCH + 50) + 1] == 50
    assert lowered[-2:] == [-1, -1]  # drums are never lowered
