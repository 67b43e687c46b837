"""Live music: bars composed ahead in a thread at their full arrangement, one key/tempo/line-up, each
part tagged with its intensity layer; the intensity applied as a bar is handed out (heard from the next
bar, the bars ahead kept); the last bars looping while composing is behind; a sliding model context."""

from __future__ import annotations

import json
import threading
import time
import types

import numpy as np
import pytest

from live.tiny import tiny_lm
from overworld.config import SampleConfig
from overworld.errors import ConfigError
from overworld.generation.intensity import Intensity, layer_levels
from overworld.live import LiveConfig, LiveMusic
from overworld.live.engine import BarEngine, standalone
from overworld.midi.gm import DRUMS
from overworld.theory import parse_key
from overworld.tokenizers.bars import BarTokenizer
from overworld.tokenizers.bars import Layout as L
from overworld.tokenizers.bars_plan import Plan, plan_of


def _bars(stream: LiveMusic, n: int) -> list:
    return [stream.next(timeout=60) for _ in range(n)]


def _binned(velocity: int) -> int:
    return velocity // 8 * 8 + 4  # the bar tokens keep velocities in bins of 8, decoded at their middle


def _velocities(bar) -> set[int]:
    return {int(v) for a in bar.notes.values() for v in a[:, 3]}


def test_bars_come_in_order_in_one_key_tempo_and_metre(bar_model):
    config = LiveConfig(bpm=150, time_signature="3/4", key="D minor", intensity=0.6, context=128)
    with LiveMusic(bar_model, config, seed=3) as stream:
        bars = _bars(stream, 12)
    assert [b.index for b in bars] == [b.composed for b in bars] == list(range(12))
    assert [b.start for b in bars] == pytest.approx([i * 1.2 for i in range(12)])  # 3 beats at 150 bpm
    pitched = {int(p) % 12 for b in bars for i, a in b.notes.items() if i != DRUMS for p in a[:, 2]}
    assert pitched and pitched <= parse_key("D minor")
    assert all(a[:, 0].min() >= 0 and a[:, 0].max() < 3 * 480 for b in bars for a in b.notes.values())
    played = {i for b in bars for i in b.full}
    assert played <= set(stream.lineup)  # the line-up picked at the start
    score = bars[5].score()
    assert [round(t.qpm, 3) for t in score.tempos] == [150.0]
    assert (score.time_signatures[0].numerator, score.time_signatures[0].denominator) == (3, 4)


def test_the_same_seed_gives_the_same_bars(bar_model):
    runs = []
    for _ in range(2):
        with LiveMusic(bar_model, LiveConfig(key="C major", context=128), seed=11) as stream:
            runs.append([b.ids for b in _bars(stream, 5)])
    assert runs[0] == runs[1]


def test_a_bar_at_an_intensity_keeps_its_layers_at_its_velocities(bar_model):
    with LiveMusic(bar_model, LiveConfig(key="A minor", context=128), seed=5) as stream:
        bars = _bars(stream, 6)
    assert stream.layers == layer_levels(stream.lineup)  # no plan: the line-up, busiest first
    for bar in bars:
        assert bar.at(1.0).notes.keys() == bar.full.keys()  # the full arrangement as composed
        assert all(np.array_equal(bar.at(1.0).notes[i], a) for i, a in bar.full.items())
        sets = [set(bar.at(level).notes) for level in (0.0, 0.2, 0.5, 0.8, 1.0)]
        assert all(a <= b for a, b in zip(sets, sets[1:]))  # a layer, once in, stays in
        for level in (0.1, 0.5, 0.9):
            heard = bar.at(level)
            assert set(heard.notes) == {i for i in bar.full if level >= stream.layers.get(i, 1.0)}
            lo, hi = Intensity(level).velocities
            assert all(lo <= v <= hi for v in _velocities(heard))
            assert all(np.array_equal(heard.notes[i][:, :3], bar.full[i][:, :3]) for i in heard.notes)
    calm, loud = (sum(len(a) for b in bars for a in b.at(x).notes.values()) for x in (0.0, 1.0))
    assert 0 < calm < loud


def test_an_intensity_change_is_heard_from_the_next_bar_and_the_bars_ahead_stay(bar_model):
    config = LiveConfig(key="A minor", intensity=0.1, ahead=3, context=128)
    calm, loud = Intensity(0.1).velocities, Intensity(0.9).velocities
    with LiveMusic(bar_model, config, seed=5) as stream:
        before = _bars(stream, 3)
        assert stream.wait_ready(3, timeout=60) == 3  # three bars composed ahead...
        stream.set_intensity(0.9)
        assert stream.ahead() == 3  # ...stay composed
        after = _bars(stream, 4)
    with LiveMusic(bar_model, config, seed=5) as steady:
        unchanged = _bars(steady, 7)
    assert [b.ids for b in before + after] == [b.ids for b in unchanged]  # the same music, composed once
    assert [b.index for b in before + after] == list(range(7))
    assert all(b.intensity == 0.1 for b in before) and all(b.intensity == 0.9 for b in after)
    assert all(_binned(calm[0]) - 4 <= v <= calm[1] for b in before for v in _velocities(b))
    assert all(loud[0] <= v <= loud[1] for b in after for v in _velocities(b))
    assert all(set(b.notes) == set(b.sounding(0.9)) for b in after)

    def notes(bars):
        return sum(len(a) for b in bars for a in b.notes.values())

    assert notes(after[:3]) > notes(before) > 0  # more layers


def test_composing_behind_loops_the_last_bars_and_counts_them(bar_model, monkeypatch):
    gate, next_bar = threading.Event(), BarEngine.next_bar

    def stalled(engine, level, cancel=lambda: False):
        if engine.count >= 2:  # bar 2 takes until the gate opens
            gate.wait(60)
        return next_bar(engine, level, cancel)

    monkeypatch.setattr(BarEngine, "next_bar", stalled)
    with LiveMusic(bar_model, LiveConfig(key="A minor", ahead=2, context=128), seed=5) as stream:
        assert stream.wait_ready(2, timeout=60) == 2
        first = _bars(stream, 2)
        looped = [stream.next(deadline=time.monotonic()) for _ in range(5)]  # needed at once
        gate.set()
        then = _bars(stream, 2)
        stats = stream.stats()
    assert [b.composed for b in first + looped + then] == [0, 1, 0, 1, 0, 1, 0, 2, 3]  # round, then on
    assert [b.index for b in first + looped + then] == list(range(9))
    assert [b.fallback for b in first + looped + then] == [False] * 2 + [True] * 5 + [False] * 2
    assert looped[0].ids == first[0].ids and looped[1].ids == first[1].ids
    assert (stats.fallbacks, stats.handed_out) == (5, 9) and stats.composed >= 4


def test_a_bar_is_waited_for_before_any_has_played(bar_model):
    with LiveMusic(bar_model, LiveConfig(key="A minor", context=128), seed=5) as stream:
        bar = stream.next(timeout=60, deadline=time.monotonic())  # nothing to repeat yet: it waits
    assert (bar.index, bar.composed, bar.fallback) == (0, 0, False)


def test_bad_intensity_is_refused(bar_model):
    with pytest.raises(ConfigError, match=r"between 0 \(calm\) and 1"):
        LiveConfig(intensity=1.5)
    with pytest.raises(ConfigError, match=r"between 0 \(calm\) and 1"):
        LiveConfig(full=-1.0)
    stream = LiveMusic(bar_model, LiveConfig(key="C major"))
    with pytest.raises(ConfigError, match=r"between 0 \(calm\) and 1"):
        stream.set_intensity(-0.1)


def test_the_context_slides_and_the_music_goes_on(bar_model):
    settings = SampleConfig(
        max_polyphony=4, max_instruments=3, key="C major", time_signature="4/4", bpm=120.0
    )
    engine = BarEngine(bar_model, settings, seed=2, context=64)
    longest = 0
    for _ in range(12):
        bar = engine.next_bar(0.4)
        longest = max(longest, len(bar))
        assert engine.fed <= 64 + longest + 1  # the cache is rebuilt from the last bars once past 64 tokens
    assert engine.count == 12 and bar[0] == L.BAR and engine.first == 0
    engine.rewind(9)  # forget 3 bars: the next one is bar 10 again
    engine.next_bar(0.4)
    assert engine.count == 10


def _planned_model(tmp_path, plan):
    (tmp_path / "plans.json").write_text(json.dumps({"plans": [plan.to_dict()]}))
    return types.SimpleNamespace(
        model=tiny_lm(),
        tokenizer=BarTokenizer(),
        path=tmp_path,
        sampling=SampleConfig(max_polyphony=4, plan=True, time_signature="4/4"),
    )


PLAN = Plan(
    tuple(
        ((33, 0), (DRUMS, 0)) if b % 4 == 0 else ((33, 1), (80, 0)) if b % 2 else ((33, 2),) for b in range(8)
    ),
    registers=((33, 40.0, 36, 45), (80, 74.0, 70, 79)),
)


def test_live_music_goes_round_its_arrangement_plan(tmp_path):
    model = _planned_model(tmp_path, PLAN)
    engine = BarEngine(model, model.sampling, seed=1, context=64)  # a small window: the grammar is rebuilt
    bars = [engine.next_bar(None) for _ in range(12)]
    assert all(bars)
    parts = [{inst for inst, _ in p} for p in plan_of(standalone(bars)).bars]
    assert parts == [
        {inst for inst, _ in PLAN.bars[b % 8]} for b in range(12)
    ]  # round and round, bar for bar


def test_a_plans_most_played_instruments_are_the_lowest_layers(tmp_path):
    model = _planned_model(tmp_path, PLAN)  # 33 plays in 8 bars of 8, 80 in 4, the drums in 2
    with LiveMusic(model, LiveConfig(key="C major", intensity=0.2, context=128), seed=1) as stream:
        calm = _bars(stream, 4)
        stream.set_intensity(0.6)
        loud = _bars(stream, 4)
    assert stream.layers == {33: 0.0, 80: 0.0, DRUMS: 0.4}
    assert [set(b.full) for b in calm + loud] == [{i for i, _ in PLAN.bars[b % 8]} for b in range(8)]
    assert all(DRUMS not in b.notes for b in calm) and DRUMS in loud[0].notes  # bar 4 has the drums
    assert all(set(b.notes) == set(b.full) for b in loud)


def test_layer_levels_are_exact_thresholds_of_what_a_level_keeps():
    ranked = (36, 1, DRUMS, 10)  # the most important first
    layers = layer_levels(ranked)
    assert layers == pytest.approx({36: 0.0, 1: 0.0, 10: 0.1, DRUMS: 0.4})
    probes = [*np.linspace(0.0, 1.0, 1001), *(x + d for x in layers.values() for d in (-1e-12, 0.0, 1e-12))]
    for level in (min(1.0, max(0.0, x)) for x in probes):  # the thresholds themselves and either side
        assert set(Intensity(level).keeps(ranked)) == {i for i, low in layers.items() if level >= low}
    many = layer_levels(range(1, 10))  # 2 to 7 instruments: the 8th and 9th never sound
    assert sorted(many) == list(range(1, 8)) and list(many.values()) == sorted(many.values())
