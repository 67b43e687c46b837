"""A piano roll as SVG for the page: one rectangle per note (coloured by instrument), a band per bar the
user can select (``data-bar``, counted from 1) and a playhead the page moves with the audio."""

from __future__ import annotations

from typing import Any
from xml.sax.saxutils import quoteattr

__all__ = ["roll_svg"]

PX_PER_SECOND = 60.0
PX_PER_PITCH = 5.0
TOP = 18.0  # room for the bar numbers
PALETTE = ("#e4572e", "#29335c", "#f3a712", "#669bbc", "#a8c686", "#8e5572", "#f08700", "#00a6a6")
DRUM_COLOUR = "#8d99ae"


def _colour(program: int, is_drum: bool) -> str:
    return DRUM_COLOUR if is_drum else PALETTE[program % len(PALETTE)]


def roll_svg(score: Any, bar_lines: tuple[float, ...] = ()) -> str:
    """The SVG of ``score`` (any time unit); ``bar_lines``: bar starts in seconds, the end last."""
    from overworld.midi import in_seconds
    from overworld.midi.gm import instrument_name

    score = in_seconds(score)
    notes = [(float(n.time), float(n.duration), int(n.pitch), t) for t in score.tracks for n in t.notes]
    end = max([bar_lines[-1] if bar_lines else 0.0, *(t + d for t, d, _, _ in notes)]) or 1.0
    low = min((p for _, _, p, _ in notes), default=60) - 2
    high = max((p for _, _, p, _ in notes), default=72) + 2
    width, height = end * PX_PER_SECOND, TOP + (high - low + 1) * PX_PER_PITCH
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="roll" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.1f} {height:.1f}" data-seconds="{end:.3f}" data-bars="{max(len(bar_lines) - 1, 0)}">',
        f'<rect x="0" y="0" width="{width:.1f}" height="{height:.1f}" fill="#fbfbf8"/>',
    ]
    for bar, (start, stop) in enumerate(zip(bar_lines, bar_lines[1:]), start=1):
        x, w = start * PX_PER_SECOND, (stop - start) * PX_PER_SECOND
        parts.append(
            f'<rect class="bar" data-bar="{bar}" x="{x:.1f}" y="0" width="{w:.1f}" height="{height:.1f}">'
            f"<title>bar {bar}</title></rect>"
            f'<line x1="{x:.1f}" y1="0" x2="{x:.1f}" y2="{height:.1f}" class="barline"/>'
            f'<text x="{x + 3:.1f}" y="12" class="barnumber">{bar}</text>'
        )
    for time, duration, pitch, track in notes:
        name = "Drums" if track.is_drum else instrument_name(int(track.program))
        parts.append(
            f'<rect class="note" x="{time * PX_PER_SECOND:.1f}" y="{TOP + (high - pitch) * PX_PER_PITCH:.1f}" '
            f'width="{max(duration * PX_PER_SECOND, 1.0):.1f}" height="{PX_PER_PITCH - 1:.1f}" '
            f'fill="{_colour(int(track.program), track.is_drum)}" data-instrument={quoteattr(name)}/>'
        )
    parts.append(f'<line id="playhead" x1="0" y1="0" x2="0" y2="{height:.1f}"/></svg>')
    return "\n".join(parts)
