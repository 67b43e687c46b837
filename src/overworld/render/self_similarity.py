"""The bar-by-bar self-similarity matrix of a piece: which of its opening bars repeat which."""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["plot_self_similarity"]


def _describe(structure: Any) -> str:
    if structure.self_similarity is None:
        return f"{structure.reason} (grid fit {structure.grid_fit:.2f})"
    return (
        f"self-similarity {structure.self_similarity:.2f}, exact repeats {structure.exact_repeats:.0%} "
        f"({structure.bars} bars)"
    )


def plot_self_similarity(
    source: Any,
    out_png: str | Path,
    *,
    bars: int = 16,
    title: str | None = None,
    width: float = 7.0,
    height: float = 6.0,
    dpi: int = 100,
) -> Path:
    """Write a PNG of the Jaccard similarity between each pair of the first ``bars`` bars of ``source`` (a
    Score or a MIDI path, read in its own ticks), bars counted from the first note; empty bars blank. The
    title gives the piece's bar self-similarity and exact repeat rate (or why it has none)."""
    import numpy as np

    from overworld.evaluation.structure import self_similarity_matrix, structure_of
    from overworld.render.figures import pyplot, save_png

    if isinstance(source, str | Path):
        from overworld.midi import load_score

        source = load_score(source, ttype="tick")
    matrix = self_similarity_matrix(source, bars)  # (N, N), NaN where a bar is empty
    structure = structure_of(source, bars)
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(width, height), dpi=dpi)
    cmap = plt.get_cmap("viridis").with_extremes(bad="white")
    n = len(matrix)
    extent = (0.5, n + 0.5, n + 0.5, 0.5)  # bar numbers from 1 at the cell centres
    image = ax.imshow(np.ma.masked_invalid(matrix), cmap=cmap, vmin=0.0, vmax=1.0, extent=extent)
    ticks = list(range(1, n + 1, max(1, n // 16)))
    ax.set_xticks(ticks)
    ax.set_yticks(ticks)
    ax.set_xlabel("bar")
    ax.set_ylabel("bar")
    fig.colorbar(image, ax=ax, label="similarity (Jaccard of onsets)")
    ax.set_title(f"{title}\n{_describe(structure)}" if title else _describe(structure), fontsize=10)
    return save_png(fig, out_png, dpi)
