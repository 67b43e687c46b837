"""Evaluation: held-out likelihood (``likelihood``), the bigram baseline (``bigram``), musical statistics
with Yang and Lerch's overlapping area (``metrics``) and copy detection against the training set
(``copying``). Import the submodule you need; nothing is imported here so ``overworld --help`` stays fast."""

__all__: list[str] = []
