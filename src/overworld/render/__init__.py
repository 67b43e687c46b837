"""Hear it and see it: SoundFont and chiptune rendering, piano rolls, bar self-similarity and training
curves."""

from __future__ import annotations

import sys
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from overworld.render.scores import as_score, music_end

__all__ = [
    "SYNTHS",
    "as_score",
    "music_end",
    "plot_curves",
    "plot_pianoroll",
    "plot_self_similarity",
    "render",
    "render_wav",
]


def _soundfont(score: Any, sample_rate: int, max_seconds: float, soundfont: str | Path | None) -> Any:
    from overworld.render.soundfont import synthesize

    return synthesize(score.clip(0, max_seconds, clip_end=True), sample_rate, soundfont)


def _chiptune(score: Any, sample_rate: int, max_seconds: float, soundfont: str | Path | None) -> Any:
    from overworld.render.chiptune import synthesize

    audio, _report = synthesize(score, sample_rate, max_seconds)
    return audio


# the synths, each ``(score, sample_rate, max_seconds, soundfont) -> samples``; their names are also
# overworld.config.SYNTH_NAMES, for the configs below render that name one (a test keeps the two equal)
SYNTHS: dict[str, Callable[[Any, int, float, str | Path | None], Any]] = {
    "soundfont": _soundfont,
    "chiptune": _chiptune,
}


def render(
    source: Any,
    out_path: str | Path | None = None,
    *,
    synth: str = "soundfont",
    soundfont: str | Path | None = None,
    sample_rate: int = 44100,
    max_seconds: float = 600.0,
) -> Any:
    """Audio of a Score or MIDI file, at most ``max_seconds`` long.

    The audio ends at the last note's end plus its release (at most 2 s more; trailing near-silence is
    cut), and is brought to one loudness whichever the synth (-18 LUFS, ITU-R BS.1770) with its peak at
    most -1 dBFS: a piece that would clip at the target stays quieter instead (see
    :func:`overworld.render.audio.loudness_gain`). Returns the float32 samples, or the written path when
    ``out_path`` is given (.wav, .flac or .ogg; a decoded OGG never goes above full scale).
    """
    from overworld.errors import OverworldError
    from overworld.render.audio import normalise_loudness, trim, write_audio

    if synth not in SYNTHS:
        raise OverworldError(f"unknown synth {synth!r}; choose {' or '.join(SYNTHS)}")
    if not (isinstance(sample_rate, int) and 4000 <= sample_rate <= 192_000):
        raise OverworldError(f"the sample rate must be 4,000-192,000 Hz, not {sample_rate}")
    if not 0 < max_seconds <= 24 * 3600:  # also refuses nan
        raise OverworldError(f"max_seconds must be above 0 and at most a day, not {max_seconds}")
    # a generous load limit: whatever is longer than max_seconds is cut below, not refused
    score = as_score(source, max_seconds=max(3600.0, max_seconds))
    cap = int(max_seconds * sample_rate)
    audio = SYNTHS[synth](score, sample_rate, max_seconds, soundfont)
    audio = np.asarray(audio[:cap], dtype=np.float32)
    audio = trim(audio, sample_rate, min(music_end(score), max_seconds))
    audio = normalise_loudness(audio, sample_rate)
    if out_path is None:
        return audio
    return write_audio(out_path, audio, sample_rate)


def render_wav(source: Any, out_path: str | Path, **options: Any) -> Path:
    """``render`` to a file; the chiptune synth unless ``synth=`` says otherwise (it always works)."""
    options.setdefault("synth", "chiptune")
    return render(source, out_path, **options)


def plot_pianoroll(source: Any, out_png: str | Path, **options: Any) -> Path:
    from overworld.render.pianoroll import plot_pianoroll as plot

    return plot(source, out_png, **options)


def plot_self_similarity(source: Any, out_png: str | Path, **options: Any) -> Path:
    from overworld.render.self_similarity import plot_self_similarity as plot

    return plot(source, out_png, **options)


def plot_curves(runs: Any, out_png: str | Path, **options: Any) -> Path:
    from overworld.render.curves import plot_curves as plot

    return plot(runs, out_png, **options)


class _CallableModule(types.ModuleType):
    """``overworld.render`` is both this package and its :func:`render` function: importing the package
    binds the name ``render`` on ``overworld`` to the module, so the module itself renders when called."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return render(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
