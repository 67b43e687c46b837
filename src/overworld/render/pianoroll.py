"""Piano rolls: notes as bars coloured by instrument with a legend, time in seconds, drums apart; each note
ends two pixels early, so notes struck back to back on one pitch (an eighth-note ostinato) are drawn as the
separate notes they are, not as one held note."""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["plot_pianoroll"]


def plot_pianoroll(
    score: Any,
    out_png: str | Path,
    *,
    title: str | None = None,
    width: float = 12.0,
    height: float = 6.0,
    dpi: int = 100,
) -> Path:
    """Write a PNG of ``score`` (a Score in seconds or a MIDI path) of ``width`` x ``height`` inches."""
    from overworld.render.figures import pyplot, save_png

    plt = pyplot()
    from matplotlib.patches import Rectangle

    from overworld.midi.gm import instrument_name
    from overworld.render.scores import as_score

    score = as_score(score)
    pitched = [t for t in score.tracks if not t.is_drum and len(t.notes)]
    drums = [t for t in score.tracks if t.is_drum and len(t.notes)]
    fig, axes = plt.subplots(
        2 if drums else 1,
        1,
        figsize=(width, height),
        dpi=dpi,
        sharex=True,
        squeeze=False,
        gridspec_kw={"height_ratios": [3, 1] if drums else [1]},
    )
    ax = axes[0][0]
    colours = plt.get_cmap("tab20")
    end = max(float(score.end()), 1e-3)
    gap = end * 2.0 / (width * dpi)  # two pixels: back-to-back notes of one pitch show as separate notes
    for i, track in enumerate(pitched):
        a = track.notes.numpy()
        for start, dur, pitch in zip(a["time"].tolist(), a["duration"].tolist(), a["pitch"].tolist()):
            drawn = max(dur - gap, min(dur, gap) / 2)  # a note shorter than the gap keeps half its length
            ax.add_patch(Rectangle((start, pitch - 0.4), drawn, 0.8, color=colours(i % 20), lw=0))
        ax.plot([], [], color=colours(i % 20), lw=6, label=instrument_name(int(track.program)))
    ax.set_ylabel("pitch (MIDI)")
    ax.set_ylim(20, 109)
    if pitched:
        ax.legend(loc="upper right", fontsize=7, ncol=2, framealpha=0.8)
    ax.set_title(title or "piano roll")
    ax.set_xlim(0, end)
    if drums:
        dax = axes[1][0]
        for track in drums:
            a = track.notes.numpy()
            dax.scatter(a["time"], a["pitch"], s=6, marker="|", color="black")
        dax.set_ylabel("drums (key)")
        dax.set_xlim(0, end)
        dax.set_xlabel("time (s)")
    else:
        ax.set_xlabel("time (s)")
    return save_png(fig, out_png, dpi)
