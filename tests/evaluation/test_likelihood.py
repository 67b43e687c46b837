"""Likelihood over a whole split equals the cross entropy computed by hand, window by window."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from overworld.data.shards import read_split
from overworld.errors import DataError
from overworld.evaluation.likelihood import evaluate_model, sliding_windows
from overworld.tokenizers import make_tokenizer


@pytest.mark.parametrize(
    ("n", "length", "stride"), [(2, 4, 2), (5, 8, 4), (40, 8, 4), (40, 8, 1), (41, 8, 20)]
)
def test_windows_score_every_target_once(n, length, stride):
    scored = []
    for start, end, first in sliding_windows(n, length, stride):
        assert 0 <= start < end <= n - 1 and end - start <= length
        scored.extend(range(max(first, start + 1), end + 1))
    assert scored == list(range(1, n))


def naive_nats(model, ids, length):
    """Every target t predicted from the up-to-``length`` tokens before it, one forward pass each."""
    total, correct = 0.0, 0
    with torch.no_grad():
        for t in range(1, len(ids)):
            context = torch.tensor(ids[max(0, t - length) : t])[None]
            logits = model(context)[0, -1]
            total += float(F.cross_entropy(logits[None], torch.tensor([int(ids[t])])))
            correct += int(logits.argmax()) == int(ids[t])
    return total, correct


def test_short_files_equal_hand_cross_entropy(prepared, tiny_model):
    files = read_split(prepared, "validation")
    assert all(len(f) - 1 <= 16 for f in files)  # one window each
    result = evaluate_model(tiny_model, make_tokenizer("performance"), prepared, "validation", batch_size=2)
    with torch.no_grad():
        nats = sum(
            float(
                F.cross_entropy(
                    tiny_model(torch.tensor(f[:-1])[None])[0], torch.tensor(f[1:]), reduction="sum"
                )
            )
            for f in files
        )
    tokens = sum(len(f) - 1 for f in files)
    assert result.tokens == tokens and result.files == len(files)
    assert result.bits_per_token == pytest.approx(nats / tokens / math.log(2), rel=1e-5)
    assert result.perplexity == pytest.approx(math.exp(nats / tokens), rel=1e-5)


def test_long_files_with_stride_one_give_full_context(prepared, tiny_model):
    tok = make_tokenizer("performance")
    files = read_split(prepared, "train")
    assert max(len(f) for f in files) > 16  # sliding windows needed
    files = [files[0][:40], files[1][:30]]
    result = evaluate_model(tiny_model, tok, prepared, "train", batch_size=5, stride=1, files=files)
    nats, correct = map(sum, zip(*(naive_nats(tiny_model, f, 16) for f in files)))
    tokens = sum(len(f) - 1 for f in files)
    assert result.bits_per_token == pytest.approx(nats / tokens / math.log(2), rel=1e-5)
    assert result.accuracy == pytest.approx(correct / tokens)


def test_bits_per_note_and_second_use_the_tokenizer_counts(prepared, tiny_model):
    tok = make_tokenizer("performance")
    files = read_split(prepared, "test")
    result = evaluate_model(tiny_model, tok, prepared, "test")
    notes = sum(tok.count_notes(f[1:-1]) for f in files)
    seconds = sum(tok.seconds(f[1:-1]) for f in files)
    assert (result.notes, result.seconds) == (notes, pytest.approx(seconds))
    total_bits = result.bits_per_token * result.tokens
    assert result.bits_per_note == pytest.approx(total_bits / notes)
    assert result.bits_per_second == pytest.approx(total_bits / seconds)


def test_batching_does_not_change_the_result(prepared, tiny_model):
    tok = make_tokenizer("performance")
    a = evaluate_model(tiny_model, tok, prepared, "all", batch_size=1)
    b = evaluate_model(tiny_model, tok, prepared, "all", batch_size=7)
    assert a.bits_per_token == pytest.approx(b.bits_per_token, rel=1e-5)
    assert a.tokens == sum(len(f) - 1 for f in read_split(prepared, "all"))


def test_missing_split_and_folder_are_one_line_errors(prepared, tmp_path):
    (prepared / "test.bin").unlink()
    with pytest.raises(DataError, match="no test split"):
        read_split(prepared, "test")
    with pytest.raises(DataError, match="does not exist"):
        read_split(tmp_path / "nowhere", "test")
    with pytest.raises(DataError, match="unknown split"):
        read_split(prepared, "dev")
    np.save(prepared / "train.idx.npy", np.array([0, 5, 3], dtype=np.int64))
    with pytest.raises(DataError, match="does not index"):
        read_split(prepared, "train")
