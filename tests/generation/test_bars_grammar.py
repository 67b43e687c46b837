"""The bar tokenizer's grammar holds against random and biased models, and its controls mean what they say."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from overworld.config import ModelConfig, SampleConfig
from overworld.generation.sampler import generate
from overworld.tokenizers import make_tokenizer
from overworld.tokenizers.bars import DURATIONS, tempo_of_bin
from overworld.tokenizers.bars import Layout as L

from .conftest import BiasedModel


@pytest.fixture(scope="module")
def bars():
    return make_tokenizer("bars")


@pytest.fixture(scope="module")
def random_model():
    from overworld.models import build_model

    torch.manual_seed(0)
    config = ModelConfig(
        vocab_size=L.SIZE,
        embedding_size=32,
        sequence_length=64,
        num_blocks=2,
        num_heads=2,
        feed_forward_dim=64,
        dropout=0.0,
    )
    return build_model(config).eval()


def _biased(**groups: float) -> BiasedModel:
    """Uniform logits plus a bias per token kind (``repeat=4.0``...)."""
    bias = np.zeros(L.SIZE)
    spans = {
        "repeat": (L.REPEAT, L.POS),
        "track": (L.TRACK, L.REPEAT),
        "pitch": (L.PITCH, L.DUR),
        "bar": (L.BAR, L.BAR + 1),
        "eos": (L.EOS, L.EOS + 1),
        "pos": (L.POS, L.VEL),
    }
    for name, value in groups.items():
        a, b = spans[name]
        bias[a:b] += value
    return BiasedModel(bias)


def _is_canonical(tok, ids: np.ndarray) -> bool:
    """What the grammar lets through decodes without skipping a token: every TRACK gives a part (a
    REPEAT finds its bar), every PITCH a note, and the notes survive a round trip."""
    from overworld.tokenizers.bars_layout import _run

    parts = _run(ids)[1]
    tracks = int(((ids >= L.TRACK) & (ids < L.REPEAT)).sum())
    written = int(((ids >= L.PITCH) & (ids < L.DUR)).sum())
    repeated = sum(len(p) for p in parts.values()) - written

    def notes(score):
        return sorted(
            (t.is_drum, t.program, n.time, n.duration, n.pitch) for t in score.tracks for n in t.notes
        )

    again = tok.decode(tok.encode(tok.decode(ids)))
    return len(parts) == tracks and repeated >= 0 and notes(again) == notes(tok.decode(ids))


def test_random_model_writes_canonical_bars(bars, random_model):
    pieces = generate(random_model, bars, SampleConfig(), num=3, bars=6, seed=1)
    for ids in pieces:
        assert int((ids == L.BAR).sum()) == 6
        assert bars.count_notes(ids) > 0
        assert _is_canonical(bars, ids)


def test_repeats_only_point_at_parts_that_exist(bars):
    model = _biased(repeat=6.0, track=2.0)  # a model that loves repeating
    for ids in generate(model, bars, SampleConfig(), num=4, bars=12, seed=2):
        assert _is_canonical(bars, ids)
        assert ((ids >= L.REPEAT) & (ids < L.POS)).any()


def test_controls_polyphony_instruments_budget_tempo_and_grid(bars, random_model):
    config = SampleConfig(
        max_polyphony=2, instruments=(0, 33, 128), max_instruments=2, bpm=150.0, grid=4, max_note_seconds=0.5
    )
    # repeats off: a repeated part's notes are not counted against the polyphony
    for ids in generate(_biased(pitch=3.0, track=1.0, repeat=-50.0), bars, config, num=3, bars=8, seed=3):
        score = bars.decode(ids)
        programs = {128 if t.is_drum else t.program for t in score.tracks}
        assert programs <= {0, 33, 128} and len(programs) <= 2
        assert score.tempos[0].qpm == pytest.approx(tempo_of_bin(int(ids[2] - L.TEMPO)), rel=1e-5)
        assert abs(score.tempos[0].qpm - 150.0) / 150.0 < 0.04
        onsets = [(n.time, n.time + n.duration) for t in score.tracks for n in t.notes]
        assert all(start % 120 == 0 for start, _ in onsets)  # sixteenths at 480 ticks a quarter
        for start, _ in onsets:
            assert sum(a <= start < b for a, b in onsets) <= 2
        longest = max(DURATIONS[i] for i in range(len(DURATIONS)) if DURATIONS[i] * 60 / (150 * 12) <= 0.5)
        assert max(b - a for a, b in onsets) <= longest * 40


def test_seconds_end_at_a_bar_line_and_eos_waits_for_it(bars):
    pieces = generate(_biased(eos=8.0), bars, SampleConfig(bpm=120.0), num=2, seconds=8.0, seed=4)
    for ids in pieces:  # the EOS-loving model could not stop early; the piece ends at the next bar line
        bar = 8 * 60 / (tempo_of_bin(int(ids[2] - L.TEMPO)) * 2)  # the longest bar (8/4) at its tempo
        assert 8.0 <= bars.seconds(ids) < 8.0 + bar


def test_continuation_stands_alone_and_inclusive_keeps_the_primer(bars, random_model):
    primer = bars.encode(bars.decode(generate(random_model, bars, SampleConfig(), bars=4, seed=5)[0]))
    alone = generate(random_model, bars, SampleConfig(), primer_ids=primer, bars=3, seed=6)[0]
    whole = generate(random_model, bars, SampleConfig(), primer_ids=primer, bars=3, seed=6, inclusive=True)[0]
    assert whole[: len(primer)].tolist() == primer.tolist()
    assert alone.tolist() == bars.tail(whole, 4)
    assert alone[0] == L.BAR and L.TIMESIG <= alone[1] < L.TEMPO  # names its metre again


def test_key_and_time_signature_bind_pitched_notes_and_every_bar(bars, random_model):
    from overworld.theory import parse_key

    config = SampleConfig(key="D minor", time_signature="6/8")
    scale = parse_key("D minor")
    for ids in generate(_biased(pitch=2.0), bars, config, num=3, bars=6, seed=7):
        score = bars.decode(ids)
        assert {(ts.numerator, ts.denominator) for ts in score.time_signatures} == {(6, 8)}  # every bar's
        pitched = [n.pitch for t in score.tracks if not t.is_drum for n in t.notes]
        assert pitched and all(p % 12 in scale for p in pitched)


def test_steady_names_metre_and_tempo_once(bars):
    bias = np.zeros(L.SIZE)
    bias[L.TIMESIG : L.TRACK] = 6.0  # a model that wants to change metre and tempo in every bar
    model = BiasedModel(bias)
    changing = generate(model, bars, SampleConfig(), num=2, bars=6, seed=1)
    steady = generate(model, bars, SampleConfig(steady=True), num=2, bars=6, seed=1)
    assert all(((ids >= L.TIMESIG) & (ids < L.TRACK)).sum() > 2 for ids in changing)
    for ids in steady:
        assert ((ids >= L.TIMESIG) & (ids < L.TEMPO)).sum() == 1 and (
            (ids >= L.TEMPO) & (ids < L.TRACK)
        ).sum() == 1


def test_structure_temperature_sharpens_only_the_structural_choices(bars):
    from overworld.errors import ConfigError

    bias = np.zeros(L.SIZE)
    bias[L.REPEAT : L.POS] = 3.0  # repeating a part is the likelier choice, not a certain one
    bias[L.POS : L.VEL] = -1.0
    model = BiasedModel(bias)

    def share(config: SampleConfig) -> float:
        pieces = generate(model, bars, config, num=8, bars=24, seed=2)
        parts = sum(int(((p >= L.TRACK) & (p < L.REPEAT)).sum()) for p in pieces)
        return sum(int(((p >= L.REPEAT) & (p < L.POS)).sum()) for p in pieces) / parts

    one = (0,)  # one instrument: every part after the first bar may repeat
    plain = share(SampleConfig(instruments=one))
    sharp = share(SampleConfig(instruments=one, structure_temperature=0.1))
    # sharp: nearly every part that can repeat does (the first bars cannot); plain: 0.4-0.8 across seeds
    assert sharp >= 0.9 and sharp > plain + 0.1, (plain, sharp)
    with pytest.raises(ConfigError, match="structure_temperature"):
        SampleConfig(structure_temperature=-1.0)


def test_performance_tokens_keep_a_key_too_and_refuse_a_metre(random_model):
    from overworld.errors import ConfigError
    from overworld.theory import parse_key

    perf = make_tokenizer("performance")
    model = BiasedModel(np.zeros(perf.vocab_size))
    ids = generate(model, perf, SampleConfig(key="E dorian"), length=300, seed=8)[0]
    pitched = [n.pitch for t in perf.decode(ids).tracks if not t.is_drum for n in t.notes]
    assert pitched and all(p % 12 in parse_key("E dorian") for p in pitched)
    with pytest.raises(ConfigError, match="time signature"):
        generate(model, perf, SampleConfig(time_signature="3/4"), length=10)
