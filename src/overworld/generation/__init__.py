"""Generation: cached sampling (``sampler``), pure logit filters (``filters``), primers (``primers``) and
grammar masks for the performance vocabulary (``constraints``). Import the submodules; nothing here
loads at import of the package."""

from __future__ import annotations

__all__: list[str] = []
