"""A bigram baseline: the floor a trained model has to beat, scored exactly like the model.

``p(b | a) = (c(a, b) + k) / (c(a) + k V)`` with counts from the train split (pairs inside each file,
``BOS -> first token`` through ``last token -> EOS``) and add-k smoothing over the whole vocabulary of V
ids, as the model's softmax is. k is the value of ``K_GRID`` that gives the lowest cross entropy on the
validation split (k = 1, Laplace, when there is none). Counts are kept sparse, so large vocabularies fit.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from overworld.data.shards import read_split
from overworld.errors import DataError
from overworld.evaluation.likelihood import LikelihoodResult, count_music, result_from_totals

__all__ = ["K_GRID", "BigramModel", "evaluate_bigram", "fit_bigram", "score_bigram"]

log = logging.getLogger(__name__)

K_GRID = (1e-4, 3e-4, 1e-3, 3e-3, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0)


def _pairs(files: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    prev = [f[:-1] for f in files if len(f) > 1]
    nxt = [f[1:] for f in files if len(f) > 1]
    if not prev:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(prev).astype(np.int64), np.concatenate(nxt).astype(np.int64)


@dataclass(frozen=True)
class BigramModel:
    """Sparse bigram counts: ``codes`` (sorted ``a * V + b``) with ``counts``, per-``a`` totals, and the
    most frequent successor of each ``a`` (ties: the lowest id; unseen ``a``: the most frequent token)."""

    vocab_size: int
    codes: np.ndarray
    counts: np.ndarray
    totals: np.ndarray
    best_next: np.ndarray
    k: float = 1.0

    def pair_counts(self, prev: np.ndarray, nxt: np.ndarray) -> np.ndarray:
        """c(a, b) for each pair."""
        query = prev.astype(np.int64) * self.vocab_size + nxt.astype(np.int64)
        pos = np.searchsorted(self.codes, query)
        pos = np.minimum(pos, max(len(self.codes) - 1, 0))
        hit = (self.codes[pos] == query) if len(self.codes) else np.zeros(len(query), bool)
        return np.where(hit, self.counts[pos] if len(self.counts) else 0, 0)

    def nats(self, prev: np.ndarray, nxt: np.ndarray, k: float | None = None) -> float:
        """Summed negative log-probability (natural log) of the pairs ``prev -> nxt``."""
        k = self.k if k is None else float(k)
        num = self.pair_counts(prev, nxt) + k
        den = self.totals[prev] + k * self.vocab_size
        return float(-(np.log(num) - np.log(den)).sum())

    def log_prob(self, a: int, b: int) -> float:
        """log p(b | a), natural log."""
        return -self.nats(np.array([a]), np.array([b]))

    def with_k(self, k: float) -> BigramModel:
        return BigramModel(self.vocab_size, self.codes, self.counts, self.totals, self.best_next, float(k))


def fit_bigram(
    train: Sequence[np.ndarray],
    vocab_size: int,
    validation: Sequence[np.ndarray] = (),
    k: float | None = None,
) -> BigramModel:
    """Count the bigrams of ``train`` files (ids ``BOS..EOS``); pick k on ``validation`` unless given."""
    if vocab_size < 1:
        raise DataError("the bigram needs a positive vocabulary size")
    prev, nxt = _pairs(train)
    if len(prev) == 0:
        raise DataError("the train split holds no token pairs to fit the bigram on")
    if int(max(prev.max(), nxt.max())) >= vocab_size:
        raise DataError(
            f"token id {int(max(prev.max(), nxt.max()))} is outside the vocabulary of {vocab_size}"
        )
    codes, counts = np.unique(prev * vocab_size + nxt, return_counts=True)
    totals = np.bincount(prev, minlength=vocab_size).astype(np.int64)
    a, b = codes // vocab_size, codes % vocab_size
    order = np.lexsort((b, -counts, a))  # per a: highest count first, then lowest b
    a_sorted = a[order]
    first = np.ones(len(order), bool)
    first[1:] = a_sorted[1:] != a_sorted[:-1]
    fallback = int(np.bincount(nxt, minlength=vocab_size).argmax())
    best_next = np.full(vocab_size, fallback, dtype=np.int64)
    best_next[a_sorted[first]] = b[order][first]
    model = BigramModel(vocab_size, codes, counts.astype(np.int64), totals, best_next, 1.0)
    if k is not None:
        return model.with_k(k)
    vprev, vnxt = _pairs(validation)
    if len(vprev) == 0:
        log.info("no validation pairs: add-k smoothing with k = 1")
        return model
    vprev, vnxt = np.minimum(vprev, vocab_size - 1), np.minimum(vnxt, vocab_size - 1)
    scores = {kk: model.nats(vprev, vnxt, kk) for kk in K_GRID}
    best = min(scores, key=scores.__getitem__)
    log.info("bigram add-k: k = %g (validation %.4f nats/token)", best, scores[best] / len(vprev))
    return model.with_k(best)


def score_bigram(
    model: BigramModel, files: Sequence[np.ndarray], notes: int, seconds: float
) -> LikelihoodResult:
    """The bigram's :class:`LikelihoodResult` on ``files`` (ids ``BOS..EOS``), every token after BOS."""
    prev, nxt = _pairs(files)
    if len(prev) and int(max(prev.max(), nxt.max())) >= model.vocab_size:
        raise DataError("the split holds token ids outside the bigram's vocabulary")
    nats = model.nats(prev, nxt) if len(prev) else 0.0
    correct = int((model.best_next[prev] == nxt).sum()) if len(prev) else 0
    return result_from_totals(nats, correct, len(prev), notes, seconds, len(files))


def evaluate_bigram(
    prepared_dir: str | Path, split: str = "test", *, k: float | None = None
) -> LikelihoodResult:
    """Fit the bigram on the train split of ``prepared_dir`` (k chosen on validation) and score ``split``."""
    from overworld.tokenizers import load_tokenizer

    root = Path(prepared_dir)
    train = read_split(root, "train")  # a missing folder or split is named before the tokenizer is read
    tokenizer = load_tokenizer(root / "tokenizer.json")
    try:
        validation = read_split(root, "validation")
    except DataError:
        validation = []
    model = fit_bigram(train, tokenizer.vocab_size, validation, k)
    files = read_split(root, split)
    notes, seconds = count_music(tokenizer, files)
    result = score_bigram(model, files, notes, seconds)
    if not math.isfinite(result.bits_per_token):
        raise DataError("the bigram's likelihood is not finite")
    return result
