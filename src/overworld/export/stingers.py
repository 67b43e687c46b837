"""Writing stingers (:func:`overworld.generation.stingers.stingers`' short clips that end on the tonic): each
clip's MIDI and its audio, into a folder staged beside its place and swapped in when complete."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from overworld.export.folder import staged

if TYPE_CHECKING:
    from overworld.generation.stingers import Stinger

__all__ = ["write_stingers"]


def write_stingers(
    clips: list[Stinger],
    out_dir: str | Path,
    *,
    synth: str = "chiptune",
    soundfont: str = "",
    sample_rate: int = 44100,
    formats: tuple[str, ...] = ("ogg",),
) -> Path:
    """Write ``stinger-01.mid`` (and its audio in ``formats``) ... as the folder ``out_dir``, staged beside
    it and swapped in once every file is written; returns the folder."""
    from overworld.midi import write_score
    from overworld.render import render

    target = Path(out_dir)
    with staged(target) as folder:
        for i, clip in enumerate(clips, start=1):
            write_score(clip.score, folder / f"stinger-{i:02d}.mid")
            for fmt in formats:
                path = folder / f"stinger-{i:02d}.{fmt}"
                render(clip.score, path, synth=synth, soundfont=soundfont or None, sample_rate=sample_rate)
    return target
