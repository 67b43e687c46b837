"""Fill-in-the-middle for bar tokens: contexts that hold both sides of a gap, training windows in that
layout, and a grammar that writes exactly the gap's bars after them."""

from __future__ import annotations

import numpy as np
import pytest
import torch

# tests/tokenizers is on sys.path: no __init__.py, whose "tokenizers" package would hide the real one from MidiTok
from test_bars import _notes, _score

from overworld.config import ModelConfig, SampleConfig
from overworld.data.dataset import Augment, TokenWindows
from overworld.errors import ConfigError
from overworld.generation.sampler import generate
from overworld.tokenizers import make_tokenizer
from overworld.tokenizers.bars import BarTokenizer
from overworld.tokenizers.bars import Layout as L
from overworld.tokenizers.bars_infill import bar_starts

RIFF = [(0, 60, 2), (4, 64, 2), (8, 67, 2), (12, 72, 4)]


def _piece() -> np.ndarray:
    bars = [RIFF, [(0, 48, 16)], RIFF, [(2, 50, 2)], RIFF, RIFF, [(0, 55, 4), (8, 57, 4)], RIFF]
    return BarTokenizer().encode(_score(bars, drums=[0, 8]))


def test_the_context_is_past_fill_future_middle_and_the_gap_is_the_pieces_own_tokens():
    tok, ids = BarTokenizer(), _piece()
    starts = bar_starts(ids)
    context, gap = tok.infill_context(ids, 3, 5, 1024)
    assert gap == ids[starts[3] : starts[5]].tolist()
    fill, middle = context.index(L.FILL), context.index(L.MIDDLE)
    assert middle == len(context) - 1 and context.count(L.FILL) == 1
    assert context[:fill] == ids[: starts[3]].tolist()  # the whole past fits
    future = context[fill + 1 : middle]
    assert _notes(tok.decode(future)) == _notes(tok.decode(tok.tail(ids, 5)))  # bars 6-8, standing alone
    assert L.REPEAT + 1 not in future[: future.index(L.BAR, 1)]  # its first bar repeats nothing before it


def test_a_small_window_keeps_the_gap_and_cuts_the_past_and_future_at_bar_lines():
    tok, ids = BarTokenizer(), _piece()
    context, gap = tok.infill_context(ids, 4, 5, 64)
    fill = context.index(L.FILL)
    assert len(context) + min(len(gap), 32) <= 64
    assert context[0] == L.BAR and context[fill + 1] == L.BAR


@pytest.mark.parametrize("span", [(5, 3), (0, 0), (2, 9), (-1, 2)])
def test_a_span_outside_the_piece_is_refused(span):
    with pytest.raises(ConfigError, match="outside the piece"):
        BarTokenizer().infill_context(_piece(), *span, 1024)


def test_a_tokenizer_without_infilling_says_so():
    with pytest.raises(ConfigError, match="cannot infill"):
        make_tokenizer("performance").infill_context(np.zeros(4, dtype=np.int64), 0, 1, 64)


def test_infilling_windows_are_a_pure_function_of_the_step_and_hold_every_marker(tmp_path):
    from overworld.data.shards import write_shard

    tok = BarTokenizer()
    pieces = [np.concatenate([[L.BOS], _piece(), [L.EOS]]) for _ in range(3)]
    write_shard(tmp_path, "train", pieces)
    tok.save(tmp_path)
    windows = TokenWindows(tmp_path, "train", 256, augment=Augment(transpose=3), infill_rate=1.0)
    a, b = windows.batch(7, 4, seed=0), windows.batch(7, 4, seed=0)
    assert torch.equal(a, b)
    for row in a.numpy():
        assert (row == L.FILL).sum() == 1 and (row == L.MIDDLE).sum() == 1
        assert row[list(row).index(L.MIDDLE) + 1] == L.BAR
    plain = TokenWindows(tmp_path, "train", 256, augment=Augment(transpose=3))
    assert not (plain.batch(7, 4, seed=0) == L.FILL).any()


def test_the_grammar_writes_exactly_the_gaps_bars_after_the_context():
    from overworld.models import build_model

    torch.manual_seed(0)
    config = ModelConfig(
        vocab_size=L.SIZE,
        embedding_size=32,
        sequence_length=128,
        num_blocks=2,
        num_heads=2,
        feed_forward_dim=64,
        dropout=0.0,
    )
    model, tok, ids = build_model(config).eval(), BarTokenizer(), _piece()
    context, _ = tok.infill_context(ids, 2, 5, 128)
    out = generate(model, tok, SampleConfig(), primer_ids=context, bars=3, num=4, seed=3)
    for gap in out:
        assert gap.tolist().count(L.BAR) == 3 and gap[0] == L.BAR
        assert L.FILL not in gap.tolist() and L.MIDDLE not in gap.tolist()
    with pytest.raises(ConfigError, match="FILL"):
        generate(model, tok, SampleConfig(), primer_ids=[L.FILL, L.BAR], bars=1)


# a gap whose new bar comes back after it: bars A B A X | D | X (gap = bar 4, 0-based 3)
X = [(2, 62, 2), (10, 65, 2)]
D = [(0, 43, 8)]


def _comes_back() -> np.ndarray:
    return BarTokenizer().encode(_score([RIFF, [(0, 48, 16)], RIFF, X, D, X], drums=[0, 8]))


def test_a_part_that_comes_back_after_the_gap_is_one_ahead_token_holding_the_same_notes():
    tok, ids = BarTokenizer(), _comes_back()
    starts = bar_starts(ids)
    context, gap = tok.infill_context(ids, 3, 4, 1024)
    assert gap == [
        L.BAR,
        L.TRACK + 0,
        L.AHEAD + 1,
        L.TRACK + 128,
        L.REPEAT,
    ]  # piano: 2 bars on; drums: as before
    future = context[context.index(L.FILL) + 1 : -1]
    whole = tok.decode(ids[: starts[3]].tolist() + gap + future)
    assert _notes(whole) == _notes(tok.decode(ids))  # past, gap and future: the piece, note for note
    # a gap of two bars: bar 4's X is 2 bars before the future's X, bar 5's D has no later copy
    _, gap = tok.infill_context(ids, 3, 5, 1024)
    assert L.AHEAD + 1 in gap and gap.count(L.AHEAD + 1) == 1
    # without the future in the window there is nothing to copy: the part is written out
    _, cut = tok.infill_context(ids, 3, 4, 24)
    assert not any(L.AHEAD <= t < L.SIZE for t in cut)


def test_the_grammar_allows_ahead_only_onto_a_later_part_and_writes_it_out_when_done():
    tok, ids = BarTokenizer(), _comes_back()
    context, _ = tok.infill_context(ids, 3, 4, 1024)
    grammar = tok.grammar(1, SampleConfig(), budgets=0, max_bars=1, device="cpu")
    grammar.prime(context)
    for t in (L.BAR, L.TRACK + 0):
        grammar.update(torch.tensor([t]))
    ahead = torch.nonzero(grammar.allowed()[0, L.AHEAD : L.SIZE]).flatten().tolist()
    assert ahead == [0, 1]  # the future's two bars both hold piano (D and X); none beyond them
    body = [L.BAR, L.TRACK + 0, L.AHEAD + 1]
    for t in body[2:]:
        grammar.update(torch.tensor([t]))
    assert not grammar.allowed()[0, L.POS : L.VEL].any()  # a copied part takes no notes
    gap = grammar.finish(0, body, inclusive=False)
    assert not any(L.AHEAD <= t < L.SIZE for t in gap) and gap.count(L.BAR) == 1
    expected = tok.decode(tok.tail(ids, 3)[: bar_starts(tok.tail(ids, 3))[1]])
    assert [n for n in _notes(tok.decode(gap)) if not n[0]] == [n for n in _notes(expected) if not n[0]]


def _echo() -> np.ndarray:
    """Bars A B A X | D | X with the gap's X quieter, note by note, than the X after it."""
    import symusic

    score = _score([RIFF, [(0, 48, 16)], RIFF, X, D, X], drums=[0, 8])
    piano, quiet = symusic.Track(program=0), [40, 70]  # bar 4's two notes (TPQ 480)
    for n in score.tracks[0].notes:
        velocity = quiet.pop(0) if 3 * 1920 <= n.time < 4 * 1920 else n.velocity
        piano.notes.append(symusic.Note(n.time, n.duration, n.pitch, velocity))
    score.tracks[0] = piano
    return BarTokenizer().encode(score)


def test_a_part_that_comes_back_louder_is_ahead_and_its_own_velocities():
    tok, ids = BarTokenizer(), _echo()
    starts = bar_starts(ids)
    context, gap = tok.infill_context(ids, 3, 4, 1024)
    assert gap[:5] == [L.BAR, L.TRACK + 0, L.AHEAD + 1, L.VEL + 40 // 8, L.VEL + 70 // 8]
    future = context[context.index(L.FILL) + 1 : -1]
    whole = tok.decode(ids[: starts[3]].tolist() + gap + future)
    assert _notes(whole) == _notes(tok.decode(ids))  # the velocities too, note for note


def test_the_grammar_takes_no_velocities_or_one_per_copied_note_and_writes_them_out():
    tok, ids = BarTokenizer(), _echo()
    context, _ = tok.infill_context(ids, 3, 4, 1024)
    grammar = tok.grammar(1, SampleConfig(), budgets=0, max_bars=1, device="cpu")
    grammar.prime(context)
    body = [L.BAR, L.TRACK + 0, L.AHEAD + 1]
    for t in body:
        grammar.update(torch.tensor([t]))
    ok = grammar.allowed()[0]
    assert ok[L.VEL : L.PITCH].all() and ok[L.TRACK + 128] and not ok[L.PITCH : L.DUR].any()  # none or a list
    for v in (2, 2):  # X has two notes: after the first velocity, only the second
        grammar.update(torch.tensor([L.VEL + v]))
        body.append(L.VEL + v)
        ok = grammar.allowed()[0]
        assert not ok[L.PITCH : L.DUR].any() and not ok[L.POS : L.VEL].any()
        assert ok[L.VEL : L.PITCH].all() != ok[L.TRACK + 128] and ok[L.TRACK + 128] == (len(body) == 5)
    gap = grammar.finish(0, body, inclusive=False)
    assert not any(L.AHEAD <= t < L.SIZE for t in gap)
    assert [n[5] for n in _notes(tok.decode(gap)) if not n[0]] == [2, 2]  # X's notes at the given velocity
