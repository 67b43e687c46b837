"""A composed piece as a game engine wants it: one folder with

* ``piece.mid``: the score at its exact tempo and metre, every note closed by the end, the file exactly
  the piece's length; with a loop, a ``loopStart``/``loopEnd`` marker pair (meta 0x06) and controller 111
  at the loop start (RPG Maker's convention), all in the tempo track;
* ``mix.<format>``: the audio, exactly the piece's bars long to the sample when it loops, the release
  tails of the loop's end folded back onto its start (:func:`overworld.render.stems.fold_loop`); OGG files
  carry ``LOOPSTART``/``LOOPLENGTH`` comments in samples;
* ``stems/<nn-instrument>.<format>`` (when asked): one file per instrument and drum kit, the same length,
  scaled by the mix's gain, so they sum to the mix;
* ``piece.json``: bpm, bars, key, metre, form, loop points in seconds and samples, seed, model, settings
  and the files.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from overworld.config import config_to_dict

__all__ = ["write"]


def _loop_fields(piece: Any, sample_rate: int) -> dict[str, Any] | None:
    if piece.loop is None:
        return None
    start, end = piece.loop
    first, last = piece.sample(start, sample_rate), piece.sample(end, sample_rate)
    return {"start_bar": start + 1, "end_bar": end, "start_seconds": start * piece.bar_seconds,
            "end_seconds": end * piece.bar_seconds, "start_sample": first, "end_sample": last,
            "length_samples": last - first}  # fmt: skip


def _write_midi(piece: Any, path: Path) -> Path:
    from overworld.midi import write_score

    markers, controls = (), ()
    if piece.loop is not None:
        start, end = (b * piece.bar_ticks for b in piece.loop)
        markers = ((start, "loopStart"), (end, "loopEnd"))
        controls = ((start, 0, 111, 0),)
    return write_score(
        piece.score, path, markers=markers, controls=controls, end_tick=piece.bars * piece.bar_ticks
    )


def _write_audio(piece: Any, folder: Path, config: Any, loop: dict | None) -> dict[str, Any]:
    from overworld.render.audio import write_audio
    from overworld.render.consoles import console
    from overworld.render.stems import render_stems
    from overworld.render.vorbis_comments import add_comments

    sr = config.sample_rate
    fold = loop is not None and loop["end_bar"] == piece.bars  # the loop ends the file: its tails wrap
    stems = render_stems(piece.score, synth=config.synth, soundfont=config.soundfont or None,
                         console=console(config.console) if config.console else None, sample_rate=sr,
                         length=piece.sample(piece.bars, sr) if loop is not None else None,
                         loop_start=loop["start_sample"] if fold else None)  # fmt: skip
    files: dict[str, Any] = {"mix": [], "stems": {}}
    comments = {"LOOPSTART": loop["start_sample"], "LOOPLENGTH": loop["length_samples"]} if loop else {}
    for fmt in config.formats:
        mix = write_audio(folder / f"mix.{fmt}", stems.mix, sr)
        if fmt == "ogg" and comments:
            add_comments(mix, comments)
        files["mix"].append(mix.name)
        if config.stems:
            for name, audio in zip(stems.names, stems.audio):
                path = write_audio(folder / "stems" / f"{name}.{fmt}", audio, sr)
                if fmt == "ogg" and comments:
                    add_comments(path, comments)
                files["stems"].setdefault(name, []).append(f"stems/{path.name}")
    files["samples"] = int(stems.audio.shape[1])
    return files


def write(piece: Any, out_dir: str | Path, config: Any, *, model_name: str = "") -> Path:
    """Write ``piece`` (a :class:`~overworld.generation.compose.Composition`) into ``out_dir`` as the
    module docstring says; returns the folder."""
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    sr = config.sample_rate
    loop = _loop_fields(piece, sr)
    midi = _write_midi(piece, folder / "piece.mid")
    files = _write_audio(piece, folder, config, loop)
    info = {
        "bpm": piece.bpm, "time_signature": piece.time_signature, "key": piece.key, "bars": piece.bars,
        "seconds": piece.bars * piece.bar_seconds, "samples": files.pop("samples"), "sample_rate": sr,
        "body": {"start_bar": piece.body[0] + 1, "end_bar": piece.body[1]},
        "intro_bars": piece.body[0], "ending_bars": piece.bars - piece.body[1],
        "form": [{"section": c, "start_bar": s + 1, "end_bar": e} for c, s, e in piece.sections],
        "loop": loop, "intensity": piece.intensity, "console": config.console or None, "seed": piece.seed,
        "model": model_name, "settings": config_to_dict(config), "sampling": config_to_dict(piece.sampling),
        "files": {"midi": midi.name, **files},
    }  # fmt: skip
    (folder / "piece.json").write_text(json.dumps(info, indent=1) + "\n", encoding="utf-8")
    return folder
