"""Train / validation / test by content hash: a file's split depends only on its bytes, so adding files
never moves existing ones between splits."""

from __future__ import annotations

__all__ = ["SPLITS", "split_of"]

SPLITS = ("train", "validation", "test")


def split_of(sha256: str, fractions: tuple[float, float, float] = (0.90, 0.05, 0.05)) -> str:
    """The split of a file whose SHA-256 (hex) is ``sha256``."""
    total = sum(fractions)
    u = int(sha256[:12], 16) / float(1 << 48)  # uniform in [0, 1) for a good hash
    edge = 0.0
    for name, fraction in zip(SPLITS, fractions):
        edge += fraction / total
        if u < edge:
            return name
    return SPLITS[-1]
