"""Audio files: WAV by default, FLAC or OGG by extension (libsndfile through soundfile)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from overworld.errors import OverworldError

__all__ = ["FORMATS", "normalise", "write_audio"]

FORMATS = {".wav": ("WAV", "PCM_16"), ".flac": ("FLAC", "PCM_16"), ".ogg": ("OGG", "VORBIS")}


def normalise(audio: np.ndarray, peak: float = 0.89) -> np.ndarray:
    """Scale so the loudest sample is ``peak`` (never above 1: no clipping); silence stays silence."""
    top = float(np.abs(audio).max()) if audio.size else 0.0
    return audio if top == 0 else (audio * (peak / top)).astype(np.float32)


def write_audio(path: str | Path, audio: np.ndarray, sample_rate: int) -> Path:
    import soundfile

    path = Path(path)
    if path.suffix.lower() not in FORMATS:
        raise OverworldError(
            f"cannot write {path.suffix or 'files without an extension'}: use .wav, .flac or .ogg"
        )
    fmt, subtype = FORMATS[path.suffix.lower()]
    path.parent.mkdir(parents=True, exist_ok=True)
    channels = 1 if audio.ndim == 1 else audio.shape[1]
    # written in blocks: libsndfile's Vorbis encoder crashes on one very long write
    with soundfile.SoundFile(str(path), "w", sample_rate, channels, subtype, format=fmt) as handle:
        for start in range(0, len(audio), 1 << 15):
            handle.write(audio[start : start + (1 << 15)])
    return path
