"""``piece.json``: what a game engine needs to play a composed piece, in samples, seconds and bars.

* ``bpm``, ``time_signature`` and ``metre`` (numerator, denominator, beats a bar), ``key``, ``bars``,
  ``seconds``, ``samples``, ``sample_rate``;
* ``loop``: start and end (exclusive) as bar (1-based, end inclusive), seconds and sample, its length in
  samples and bars, or null;
* ``form``: the sections with their bars; ``jump_points``: the bar lines where a jump (to another cue, a
  stinger, another intensity) keeps the music whole: every section's start, the loop's start and end,
  the ending's start, each as bar, sample and second; ``bar_lines``: the sample of every bar line;
* ``layers``: the stems that make each intensity layer (the most intense version's stem names: a calmer
  layer keeps some of its instruments), lowest first;
* ``files``: the MIDI, mixes, the pack's intro / loop / ending cuts, stems and modules; ``module``: how a
  tracker module was laid out (rows a beat, speed, tempo, restart position);
* seed, model, settings and sampling settings.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from overworld.config import config_to_dict

__all__ = ["intensity_layers", "jump_points", "loop_fields", "manifest"]


def loop_fields(piece: Any, sample_rate: int) -> dict[str, Any] | None:
    """The loop in bars, seconds and samples (end exclusive), or None."""
    if piece.loop is None:
        return None
    start, end = piece.loop
    first, last = piece.sample(start, sample_rate), piece.sample(end, sample_rate)
    return {
        "start_bar": start + 1,
        "end_bar": end,
        "length_bars": end - start,
        "start_seconds": start * piece.bar_seconds,
        "end_seconds": end * piece.bar_seconds,
        "start_sample": first,
        "end_sample": last,
        "length_samples": last - first,
    }


def jump_points(piece: Any, sample_rate: int) -> list[dict[str, Any]]:
    """Bar lines where the music may be left or entered whole (see the module docstring), in order."""
    marks: dict[int, list[str]] = {}
    for letter, start, _end in piece.sections:
        marks.setdefault(start, []).append(f"section {letter}")
    if piece.loop is not None:
        marks.setdefault(piece.loop[0], []).append("loop start")
        marks.setdefault(piece.loop[1], []).append("loop end")
    if piece.body[1] < piece.bars:
        marks.setdefault(piece.body[1], []).append("ending")
    return [
        {
            "bar": bar + 1,
            "sample": piece.sample(bar, sample_rate),
            "seconds": bar * piece.bar_seconds,
            "what": ", ".join(what),
        }
        for bar, what in sorted(marks.items())
    ]


def _stem_keys(piece: Any) -> list[tuple[int, bool]]:
    return [(int(t.program), bool(t.is_drum)) for t in piece.score.tracks if len(t.notes)]


def intensity_layers(pieces: Sequence[Any], config: Any) -> list[dict[str, Any]]:
    """``[{"intensity": level, "stems": [names]}]``, lowest level first: the stems of the fullest version
    (named as :func:`~overworld.render.stems.stem_names` names them) each version keeps."""
    from overworld.render.consoles import console
    from overworld.render.stems import stem_names

    fullest = max(pieces, key=lambda p: (len(_stem_keys(p)), p.intensity or 0.0))
    score = fullest.score.copy()
    score.tracks = [t for t in score.tracks if len(t.notes)]
    names = dict(
        zip(_stem_keys(fullest), stem_names(score, console(config.console) if config.console else None))
    )
    ordered = sorted(pieces, key=lambda p: p.intensity if p.intensity is not None else 1.0)
    return [
        {"intensity": p.intensity, "stems": [names[k] for k in _stem_keys(p) if k in names]} for p in ordered
    ]


def manifest(
    piece: Any,
    config: Any,
    files: dict[str, Any],
    loop: dict | None,
    *,
    model_name: str,
    modules: dict[str, Any],
    layers: list[dict] | None,
    midi: str,
) -> dict[str, Any]:
    """The piece.json of ``piece`` (see the module docstring)."""
    sr = config.sample_rate
    num, den = (int(x) for x in piece.time_signature.split("/"))
    return {
        "bpm": piece.bpm,
        "time_signature": piece.time_signature,
        "metre": {"numerator": num, "denominator": den, "beats_per_bar": num},
        "key": piece.key,
        "bars": piece.bars,
        "seconds": piece.bars * piece.bar_seconds,
        "samples": files.pop("samples"),
        "sample_rate": sr,
        "body": {"start_bar": piece.body[0] + 1, "end_bar": piece.body[1]},
        "intro_bars": piece.body[0],
        "ending_bars": piece.bars - piece.body[1],
        "form": [
            {
                "section": c,
                "start_bar": s + 1,
                "end_bar": e,
                "start_sample": piece.sample(s, sr),
                "end_sample": piece.sample(e, sr),
            }
            for c, s, e in piece.sections
        ],
        "loop": loop,
        "jump_points": jump_points(piece, sr),
        "bar_lines": [piece.sample(b, sr) for b in range(piece.bars + 1)],
        "layers": layers if layers is not None else intensity_layers([piece], config),
        "intensity": piece.intensity,
        "console": config.console or None,
        "seed": piece.seed,
        "model": model_name,
        "settings": config_to_dict(config),
        "sampling": config_to_dict(piece.sampling),
        "module": modules or None,
        "files": {"midi": midi, **files, "modules": [f"piece.{fmt}" for fmt in modules]},
    }
