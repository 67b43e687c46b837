"""The bar abilities are declared (STYLE.md rule 21): the bar tokenizer implements every member of
:class:`BarAbilities` itself, the other tokenizers are refused in one line that names the purpose, and the
grammars take the sampling config whole."""

from __future__ import annotations

import types

import numpy as np
import pytest
import symusic

from overworld.config import SampleConfig
from overworld.errors import ConfigError
from overworld.tokenizers import TOKENIZERS, bar_grid, make_tokenizer
from overworld.tokenizers.abilities import BarAbilities, bars_of, has_bars
from overworld.tokenizers.bars import BarTokenizer


def _members() -> list[str]:
    names = set(BarAbilities.__annotations__)
    names |= {n for n, v in vars(BarAbilities).items() if callable(v) and not n.startswith("_")}
    return sorted(names)


def test_the_bar_tokenizer_implements_every_member_itself():
    tokenizer = make_tokenizer("bars")
    assert isinstance(tokenizer, BarAbilities) and bars_of(tokenizer, "compose") is tokenizer
    for name in _members():
        # a member left to the protocol's stub would answer None
        assert getattr(BarTokenizer, name) is not getattr(BarAbilities, name, None), name
    L = tokenizer.layout
    assert L.PAD < L.BOS < L.EOS < L.BAR < L.TIMESIG < L.TEMPO < L.TRACK < L.REPEAT < L.POS < L.VEL
    assert L.VEL < L.PITCH < L.DUR < L.SIZE == tokenizer.vocab_size
    assert (L.PITCH - L.VEL) * tokenizer.velocity_bin == 128  # the VEL bins cover MIDI velocities
    assert tokenizer.repeat_reach == 16 and tokenizer.steps_per_quarter == 12


def test_bar_ids_come_from_the_layout():
    tokenizer = bar_grid()
    score = symusic.Score(480)
    track = symusic.Track(program=80)
    for bar in range(3):  # a quarter note C5 at the start of each 4/4 bar
        track.notes.append(symusic.Note(bar * 1920, 480, 72, 90))
    score.tracks.append(track)
    ids = tokenizer.encode(score)
    starts = tokenizer.bar_starts(ids)
    assert list(ids[starts]) == [tokenizer.layout.BAR] * 3
    assert list(tokenizer.bar_ticks(score)) == [0, 1920, 3840]
    assert tokenizer.past_bars(ids, starts, 2, 10**6) == ids[: starts[2]].tolist()
    assert tokenizer.plan_of(ids).bars[0] == ((80, 0),)


@pytest.mark.parametrize("name", sorted(set(TOKENIZERS) - {"bars"}))
def test_every_other_tokenizer_is_refused_in_one_line(name):
    tokenizer = make_tokenizer(name)
    assert not has_bars(tokenizer)
    with pytest.raises(ConfigError) as caught:
        bars_of(tokenizer, "infilling")
    message = str(caught.value)
    assert message.startswith("infilling needs a bar-token model") and name in message and "\n" not in message


def test_a_stand_in_without_the_abilities_is_refused():
    with pytest.raises(ConfigError, match="compose needs a bar-token model; this one uses other tokens"):
        bars_of(types.SimpleNamespace(), "compose")


def test_a_wrapper_that_forwards_to_the_bar_tokenizer_keeps_its_abilities():
    class Forward:  # what intensity wraps a tokenizer in: attributes come from the inner one
        def __init__(self, inner: object) -> None:
            self.inner = inner

        def __getattr__(self, name: str) -> object:
            return getattr(self.inner, name)

    wrapped = Forward(make_tokenizer("bars"))
    assert bars_of(wrapped, "an intensity").layout is make_tokenizer("bars").layout


@pytest.mark.parametrize("name", ["bars", "performance", "tsd"])
def test_each_grammar_reads_the_config_it_is_given(name):
    import torch

    tokenizer = make_tokenizer(name)
    config = SampleConfig(max_polyphony=3, max_note_seconds=2.0, instruments=(0, 33))
    grammar = tokenizer.grammar(2, config, budgets=torch.zeros(2, dtype=torch.long), device="cpu")
    assert grammar.max_polyphony == 3
    assert grammar.allowed_instruments.nonzero().flatten().tolist() == [0, 33]
    bad = SampleConfig(time_signature="5/16")
    with pytest.raises(ConfigError, match="5/16" if name == "bars" else "bar tokenizer"):
        tokenizer.grammar(1, bad, budgets=torch.zeros(1, dtype=torch.long), device="cpu")


def test_a_grammar_built_alone_takes_the_default_controls():
    from overworld.tokenizers.performance_grammar import PerformanceGrammar

    grammar = PerformanceGrammar(1, device="cpu")  # as benchmarks/bench_generate.py builds one
    assert grammar.max_polyphony == SampleConfig().max_polyphony
    assert np.asarray(grammar.allowed()).shape[0] == 1


def test_a_new_grammar_level_control_is_refused_where_no_grammar_keeps_it():
    # a new control is its field (declaring how it is refused) and the grammar that keeps it: the other
    # tokenizers refuse it with no change of theirs
    import dataclasses

    import torch

    from overworld.config.fields import control

    @dataclasses.dataclass(frozen=True)
    class WithSwing(SampleConfig):
        swing: float = control(
            0.0, "swing", low=0, high=1, refused="swing needs the bar tokenizer; {name} has none"
        )

    budgets = torch.zeros(1, dtype=torch.long)
    for name in ("performance", "tsd"):
        tokenizer = make_tokenizer(name)
        tokenizer.grammar(1, WithSwing(), budgets=budgets, device="cpu")  # left off: nothing to refuse
        with pytest.raises(ConfigError, match=f"^swing needs the bar tokenizer; {name} has none$"):
            tokenizer.grammar(1, WithSwing(swing=0.5), budgets=budgets, device="cpu")
    make_tokenizer("bars").grammar(1, WithSwing(swing=0.5), budgets=budgets, device="cpu")


@pytest.mark.parametrize(
    ("name", "setting", "message"),
    [
        (
            "performance",
            {"time_signature": "3/4"},
            "a time signature needs the bar tokenizer; performance has no",
        ),
        ("tsd", {"key": "D minor"}, "a key is for the bar and performance tokenizers; tsd cannot keep one"),
        (
            "tsd",
            {"grid": 4},
            "a beat grid is for the bar and performance tokenizers; tsd's timing is its own",
        ),
    ],
)
def test_each_tokenizer_refuses_the_controls_its_grammar_does_not_keep(name, setting, message):
    import torch

    with pytest.raises(ConfigError, match=message):
        make_tokenizer(name).grammar(
            1, SampleConfig(**setting), budgets=torch.zeros(1, dtype=torch.long), device="cpu"
        )


def test_generating_with_arrangement_plans_needs_the_bar_abilities():
    from overworld.config import ModelConfig
    from overworld.generation.sampler import generate
    from overworld.models import build_model
    from overworld.tokenizers.bars_plan import Plan

    tokenizer = make_tokenizer("performance")
    config = ModelConfig(vocab_size=tokenizer.vocab_size, embedding_size=16, sequence_length=32, num_blocks=1,
                         num_heads=2, feed_forward_dim=32, dropout=0.0)  # fmt: skip
    plan = Plan((((80, 0),), ((80, 1),)))
    with pytest.raises(ConfigError, match="following arrangement plans needs a bar-token model; this one uses "
                       "performance tokens"):  # fmt: skip
        generate(build_model(config).eval(), tokenizer, SampleConfig(), length=8, plans=[plan])
