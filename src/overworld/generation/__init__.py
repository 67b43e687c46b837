"""Generation: cached sampling (``sampler``), pure logit filters (``filters``), primers (``primers``) and
the controls as users give them (``controls``). Each tokenizer owns its grammar
(:mod:`overworld.tokenizers.grammar`). Import the submodules; nothing here loads at import of the
package."""

from __future__ import annotations

__all__: list[str] = []
