"""Key focus: once a piece has settled in a scale, pitched notes outside it cost ``key_focus`` logits."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from overworld.config import SampleConfig
from overworld.errors import ConfigError
from overworld.generation.sampler import generate
from overworld.tokenizers import bars_focus, make_tokenizer
from overworld.tokenizers.bars import Layout as L
from overworld.tokenizers.bars_grammar import BarGrammar
from overworld.tokenizers.bars_plan import Plan

DRUMS = 128
C_MAJOR = {0, 2, 4, 5, 7, 9, 11}


def _part(inst: int, pitches: list[int]) -> list[int]:
    """A part of ``inst``: ``pitches`` one after another, a sixteenth apart and long."""
    out = [L.TRACK + inst]
    for n, pitch in enumerate(pitches):
        out += [L.POS + 3 * n, *([L.VEL + 10] if n == 0 else []), L.PITCH + pitch, L.DUR + 2]
    return out


def _grammar(focus: float = 2.0, **controls) -> BarGrammar:
    config = SampleConfig(time_signature="4/4", steady=True, key_focus=focus, **controls)
    return BarGrammar(make_tokenizer("bars"), 1, config)


def _feed(grammar: BarGrammar, ids: list[int]) -> None:
    for tok in ids:
        grammar.update(torch.tensor([tok]))


def _lowered(grammar: BarGrammar) -> set[int]:
    """The pitch classes the grammar's bias lowers now (every pitch of a class alike, or a failure)."""
    bias = grammar.bias()
    if bias is None:
        return set()
    pitches = bias[0, L.PITCH : L.DUR].numpy()
    classes = {pc: set(pitches[pc::12].tolist()) for pc in range(12)}
    assert all(len(v) == 1 for v in classes.values())
    return {pc for pc, v in classes.items() if v.pop() < 0}


def test_notes_outside_the_scale_the_piece_settled_in_are_lowered_by_the_focus():
    grammar = _grammar(2.0)
    _feed(grammar, [L.BAR, L.TIMESIG, L.TEMPO + 10, *_part(33, [48, 50, 52, 53, 55, 57, 59])])
    assert _lowered(grammar) == set()  # 7 notes: not settled yet
    _feed(grammar, [L.POS + 40, L.PITCH + 60, L.DUR + 2])  # the 8th
    _feed(grammar, [L.POS + 44])  # a pitched part, a note to come
    assert _lowered(grammar) == set(range(12)) - C_MAJOR
    assert float(grammar.bias()[0, L.PITCH + 61]) == -2.0  # C#, by the strength asked
    _feed(grammar, [L.TRACK + DRUMS, L.POS + 0])
    assert _lowered(grammar) == set()  # drums are never lowered
    kept = grammar.bias().clone()
    grammar.part_cache.clear()  # the kept bias is the one built afresh
    assert torch.equal(kept, grammar.bias())


def test_the_focus_follows_a_piece_that_moves_to_another_key():
    grammar = _grammar(1.0)
    c_major = [48, 50, 52, 53, 55, 57, 59, 60]
    _feed(grammar, [L.BAR, L.TIMESIG, L.TEMPO + 10, *_part(33, c_major)])
    e_major = [52, 54, 56, 57, 59, 61, 63, 64]  # E major: F#, G#, C#, D#
    for _ in range(6):
        _feed(grammar, [L.BAR, *_part(33, e_major), L.TRACK + 38, L.POS + 0])
    assert _lowered(grammar) == set(range(12)) - {4, 6, 8, 9, 11, 1, 3}


def test_no_focus_without_the_control_or_with_a_key():
    assert _grammar(0.0).focus is None
    assert _grammar(2.0, key="D minor").focus is None  # the key itself binds harder
    grammar = _grammar(0.0)
    _feed(grammar, [L.BAR, L.TIMESIG, L.TEMPO + 10, *_part(33, list(range(48, 60)))])
    assert grammar.bias() is None  # nothing added: sampling is what it was


def test_an_absurd_focus_is_refused_and_a_tokenizer_without_bars_refuses_it():
    with pytest.raises(ConfigError, match="key_focus"):
        SampleConfig(key_focus=-1.0)
    with pytest.raises(ConfigError, match="key focus needs the bar tokenizer"):
        make_tokenizer("performance").grammar(1, SampleConfig(key_focus=2.0), budgets=0, device="cpu")


def _later_classes(ids: list[int]) -> list[int]:
    """The pitch classes of the pitched notes after the first :data:`~bars_focus.SETTLED`, in order."""
    inst, pitches = -1, []
    for t in ids:
        if L.TRACK <= t < L.REPEAT:
            inst = t - L.TRACK
        elif L.PITCH <= t < L.DUR and inst != DRUMS:
            pitches.append((t - L.PITCH) % 12)
    return pitches[bars_focus.SETTLED :]


def _in_best_scale(classes: list[int]) -> float:
    """The share of ``classes`` inside the diatonic collection that holds most of them."""
    return max(sum((c - t) % 12 in C_MAJOR for c in classes) for t in range(12)) / len(classes)


def test_a_random_model_keeps_to_one_scale_under_a_strong_focus(random_model):
    bars = make_tokenizer("bars")
    plan = Plan(tuple(((33, 0),) for _ in range(10)), registers=((33, 54.0, 36, 72),))  # a part in every bar
    config = SampleConfig(time_signature="4/4", steady=True, max_polyphony=2, max_note_seconds=0.2)
    share = {}
    for focus in (0.0, 20.0):
        config = dataclasses.replace(config, key_focus=focus)
        pieces = generate(random_model, bars, config, num=3, bars=10, seed=5, plans=[plan] * 3)
        assert len(pieces) == 3
        later = [_later_classes(ids) for ids in pieces]
        assert all(len(classes) > 15 for classes in later)
        share[focus] = [_in_best_scale(classes) for classes in later]
    # a random model writes all over the twelve; under a strong focus, one scale once settled (a note may
    # still leave it where the grammar leaves no pitch inside: notes at one onset go upward)
    assert max(share[0.0]) < 0.85 and min(share[20.0]) > 0.9
