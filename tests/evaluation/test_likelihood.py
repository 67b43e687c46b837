"""Likelihood over a whole split equals the cross entropy computed by hand, window by window."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from overworld.data.shards import read_split
from overworld.errors import ConfigError, DataError
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


@pytest.mark.parametrize(
    ("sizes", "reason"),
    [
        ({"batch_size": 0}, "batch size must be between 1 and 65,536 windows, not 0"),  # was taken as 1
        ({"batch_size": -3}, "batch size must be between 1 and 65,536 windows, not -3"),
        ({"batch_size": 10**8}, "batch size must be between 1 and 65,536 windows"),
        ({"stride": -4}, "stride must be 0 (half the window) or more tokens, not -4"),  # was a ValueError
    ],
)
def test_sizes_out_of_range_are_one_line_config_errors(prepared, tiny_model, sizes, reason):
    with pytest.raises(ConfigError, match=re.escape(reason)):
        evaluate_model(tiny_model, make_tokenizer("performance"), prepared, "test", **sizes)


def test_a_stride_longer_than_the_window_scores_every_token_once(prepared, tiny_model):
    tok = make_tokenizer("performance")
    long = evaluate_model(tiny_model, tok, prepared, "all", stride=10**9)
    window = evaluate_model(tiny_model, tok, prepared, "all", stride=tiny_model.config.sequence_length)
    assert long == window


def test_a_batch_that_would_not_fit_in_memory_is_refused(prepared, tiny_model, monkeypatch):
    from overworld import devices

    monkeypatch.setattr(devices, "free_memory", lambda device: 2**20)  # a device with 1 MiB free
    with pytest.raises(
        ConfigError, match=r"^a batch of \d+ windows needs about .* GiB, more than cpu has free"
    ):
        evaluate_model(tiny_model, make_tokenizer("performance"), prepared, "test", batch_size=64)


@pytest.mark.parametrize(
    ("manifest", "reason"),
    [
        (None, "is not a prepared folder: no manifest.json"),
        ("{broken", "cannot read"),
        ("[1, 2]", "must hold an object, not list"),
        ('{"tokenizer": "remi", "vocab_size": 520, "splits": {}, "files": []}', "says tokenizer 'remi'"),
        ('{"tokenizer": "performance", "vocab_size": 9, "splits": {}, "files": []}', "says vocabulary 9"),
    ],
)
def test_a_folder_without_a_sound_manifest_is_not_scored(prepared, tiny_model, manifest, reason):
    path = prepared / "manifest.json"
    path.unlink() if manifest is None else path.write_text(manifest)  # scores used to be printed anyway
    with pytest.raises(DataError, match=re.escape(reason)) as info:
        evaluate_model(tiny_model, make_tokenizer("performance"), prepared, "test")
    assert "\n" not in str(info.value)


def test_a_prepared_tokenizer_json_that_is_not_an_object_is_a_data_error(prepared, tiny_model):
    (prepared / "tokenizer.json").write_text("[1]")  # was an AttributeError
    with pytest.raises(DataError, match=r"tokenizer\.json must hold an object, not list"):
        evaluate_model(tiny_model, make_tokenizer("performance"), prepared, "test")
