"""A composed piece as game engines want it: one folder (the music pack) with

* ``piece.mid``: the score at its exact tempo and metre, every note closed by the end, the file exactly
  the piece's length; with a loop, a ``loopStart``/``loopEnd`` marker pair (meta 0x06) and controller 111
  at the loop start (RPG Maker's convention), all in the tempo track;
* ``mix.wav``: the audio, exactly the piece's bars long to the sample when it loops, the release tails of
  the loop's end folded back onto its start (:func:`overworld.render.stems.fold_loop`), with a RIFF
  ``smpl`` chunk holding the loop in samples (:mod:`overworld.export.wav_loop`: Godot's importer reads it);
* ``intro.wav``, ``loop.wav`` (and ``ending.wav``): the same samples cut at the loop points, for engines
  that queue an intro before a looping clip (``intro.wav`` + ``loop.wav`` == ``mix.wav``, sample for
  sample; no ``intro.wav`` when the loop starts the piece);
* ``mix.<format>`` for each other audio format; OGG files carry ``LOOPSTART``/``LOOPLENGTH`` comments in
  samples;
* ``stems/<name>.wav`` (and each other format; when asked): one file per instrument and drum kit (named by
  the chip channel with a console), the same length and loop, scaled by the mix's gain, so they sum to the
  mix;
* ``piece.<module>`` when asked: a tracker module (:mod:`overworld.export.xm`);
* ``piece.json``: see :mod:`overworld.export.manifest`.

:func:`write_composition` writes one piece into a staging folder beside the target and renames it into
place (:mod:`overworld.export.folder`); :func:`write_pieces` writes the versions of one composition
(intensity levels) together, each piece.json naming the stems of every intensity layer.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["MODULE_FORMATS", "piece_folder_name", "write_composition", "write_pieces"]

MODULE_FORMATS = ("xm",)


def piece_folder_name(seed: int, intensity: float | None) -> str:
    """The folder of one version: ``<seed>`` or ``<seed>-intensity-<level>``."""
    return str(seed) if intensity is None else f"{seed}-intensity-{intensity:g}"


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


def _render(piece: Any, config: Any, loop: dict | None) -> Any:
    from overworld.render.consoles import console
    from overworld.render.stems import render_stems

    sr = config.sample_rate
    fold = loop is not None and loop["end_bar"] == piece.bars  # the loop ends the file: its tails wrap
    return render_stems(
        piece.score,
        synth=config.synth,
        soundfont=config.soundfont or None,
        console=console(config.console) if config.console else None,
        sample_rate=sr,
        length=piece.sample(piece.bars, sr) if loop is not None else None,
        loop_start=loop["start_sample"] if fold else None,
    )


def _write_one(path: Path, audio: np.ndarray, sr: int, loop: dict | None) -> str:
    from overworld.export.wav_loop import add_loop
    from overworld.render.audio import write_audio
    from overworld.render.vorbis_comments import add_comments

    path = write_audio(path, audio, sr)
    if loop is not None and path.suffix == ".ogg":
        add_comments(path, {"LOOPSTART": loop["start_sample"], "LOOPLENGTH": loop["length_samples"]})
    if loop is not None and path.suffix == ".wav":
        add_loop(path, loop["start_sample"], loop["end_sample"])
    return path.name


def _cuts(mix: np.ndarray, loop: dict | None) -> dict[str, tuple[int, int]]:
    """The pack's sample-exact pieces of the mix: intro (when the loop starts later), loop, ending."""
    if loop is None:
        return {}
    a, b = loop["start_sample"], loop["end_sample"]
    spans = {"intro": (0, a), "loop": (a, b), "ending": (b, len(mix))}
    return {name: span for name, span in spans.items() if span[1] > span[0]}


def _write_audio(piece: Any, folder: Path, config: Any, loop: dict | None) -> dict[str, Any]:
    sr = config.sample_rate
    stems = _render(piece, config, loop)
    formats = ("wav", *(f for f in config.formats if f != "wav"))  # the pack's WAV first, always
    mix = stems.mix
    files: dict[str, Any] = {"mix": [_write_one(folder / f"mix.{fmt}", mix, sr, loop) for fmt in formats]}
    cuts = _cuts(mix, loop)
    files["pack"] = {
        name: _write_one(folder / f"{name}.wav", mix[a:b], sr, None) for name, (a, b) in cuts.items()
    }
    files["stems"] = {}
    if config.stems:
        for name, audio in zip(stems.names, stems.audio):
            files["stems"][name] = [
                f"stems/{_write_one(folder / 'stems' / f'{name}.{fmt}', audio, sr, loop)}" for fmt in formats
            ]
    files["samples"] = int(stems.audio.shape[1])
    return files


def _write_modules(piece: Any, folder: Path, config: Any, modules: Sequence[str]) -> dict[str, Any]:
    from overworld.export.xm import write_xm
    from overworld.render.consoles import console

    machine = console(config.console) if config.console else None
    writers = {"xm": write_xm}
    return {fmt: writers[fmt](piece, folder / f"piece.{fmt}", console=machine) for fmt in modules}


def _write_into(
    folder: Path, piece: Any, config: Any, model_name: str, modules: Sequence[str], layers: list[dict] | None
) -> None:
    from overworld.export.manifest import loop_fields, manifest

    loop = loop_fields(piece, config.sample_rate)
    midi = _write_midi(piece, folder / "piece.mid")
    files = _write_audio(piece, folder, config, loop)
    module_info = _write_modules(piece, folder, config, modules)
    info = manifest(
        piece, config, files, loop, model_name=model_name, modules=module_info, layers=layers, midi=midi.name
    )
    (folder / "piece.json").write_text(json.dumps(info, indent=1) + "\n", encoding="utf-8")


def write_composition(
    piece: Any,
    out_dir: str | Path,
    config: Any,
    *,
    model_name: str = "",
    modules: Sequence[str] = (),
    layers: list[dict] | None = None,
) -> Path:
    """Write ``piece`` (a :class:`~overworld.generation.compose.Composition` composed with ``config``, a
    ``ComposeConfig``) as the folder ``out_dir`` (the module docstring's files; ``modules``: tracker
    formats of :data:`MODULE_FORMATS`), replacing any folder there only once every file is written;
    returns the folder."""
    from overworld.errors import ConfigError
    from overworld.export.folder import staged

    unknown = [m for m in modules if m not in MODULE_FORMATS]
    if unknown:
        raise ConfigError(f"unknown module format {unknown[0]!r}; choose one of: {', '.join(MODULE_FORMATS)}")
    target = Path(out_dir)
    with staged(target) as folder:
        _write_into(folder, piece, config, model_name, modules, layers)
    return target


def write_pieces(
    pieces: Sequence[Any], out: str | Path, config: Any, *, model_name: str = "", modules: Sequence[str] = ()
) -> list[Path]:
    """Write the versions of one composition (what :func:`~overworld.generation.compose.compose`
    returns) as ``out/<seed>[-intensity-<level>]/``, all swapped into place together once all are
    written, each piece.json naming the stems of every intensity layer; returns the folders."""
    from overworld.export.folder import Staging
    from overworld.export.manifest import intensity_layers

    layers = intensity_layers(pieces, config)
    with Staging() as staging:
        for piece in pieces:
            folder = staging.folder(Path(out) / piece_folder_name(piece.seed, piece.intensity))
            _write_into(folder, piece, config, model_name, modules, layers)
        return staging.commit()
