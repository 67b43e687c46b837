"""Audio files and levels: WAV by default, FLAC or OGG by extension (libsndfile through soundfile).

Every render is trimmed to the music's end plus its release (:func:`trim`), brought to one
integrated loudness (ITU-R BS.1770, :data:`TARGET_LUFS`, measured by pyloudnorm) whatever the synth, with
its peak kept at or under :data:`CEILING` (-1 dBFS), and an OGG file is checked once written: decoded, it
never goes above full scale (:func:`write_audio`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from overworld.atomic import write_atomically
from overworld.errors import OverworldError, PathError

__all__ = [
    "CEILING",
    "FORMATS",
    "RELEASE_SECONDS",
    "TARGET_LUFS",
    "fade_out",
    "loudness",
    "loudness_gain",
    "normalise",
    "normalise_loudness",
    "trim",
    "write_audio",
]

FORMATS = {".wav": ("WAV", "PCM_16"), ".flac": ("FLAC", "PCM_16"), ".ogg": ("OGG", "VORBIS")}
CEILING = 0.89  # -1 dBFS: the peak a render may reach, headroom for a lossy encoder's overshoot
# -18 LUFS: the level of handheld and mobile game audio (Sony's ASWG-R001); most pieces reach it under the
# ceiling with either synth (-16 would leave most chiptune renders peak-limited short of it)
TARGET_LUFS = -18.0
RELEASE_SECONDS = 2.0  # the most a render runs on after its last note ends
SILENCE = 1e-3  # near-silence, relative to the peak (-60 dB)
FADE_SECONDS = 0.01  # a tail cut while it still sounds fades out over this, so the cut never clicks
OGG_LIMIT = 0.99  # a decoded OGG's peak may reach this (full scale less a margin for the decoder's rounding)


def normalise(audio: np.ndarray, peak: float = CEILING) -> np.ndarray:
    """Scale so the loudest sample is ``peak`` (never above 1: no clipping); silence stays silence."""
    top = float(np.abs(audio).max()) if audio.size else 0.0
    return audio if top == 0 else (audio * (peak / top)).astype(np.float32)


def loudness(audio: np.ndarray, sample_rate: int) -> float:
    """Integrated loudness in LUFS (ITU-R BS.1770-4, pyloudnorm) of mono ``(samples,)`` or
    ``(samples, channels)`` audio; -inf for silence or audio shorter than one 0.4 s gating block."""
    import pyloudnorm

    x = np.asarray(audio, dtype=np.float64)
    if len(x) < int(0.4 * sample_rate) + 1 or not np.abs(x).max() > 0:
        return float("-inf")
    with np.errstate(divide="ignore"):
        return float(pyloudnorm.Meter(sample_rate).integrated_loudness(x))


def loudness_gain(
    audio: np.ndarray, sample_rate: int, target: float = TARGET_LUFS, ceiling: float = CEILING
) -> float:
    """The gain that brings ``audio`` to ``target`` LUFS, limited so its peak stays at or under ``ceiling``:
    a piece that cannot reach the target without clipping (a high crest factor) stays quieter than it,
    never clipped. Audio too short to measure or silent (-inf LUFS) gets the peak's gain alone."""
    peak = float(np.abs(audio).max()) if np.size(audio) else 0.0
    if peak == 0:
        return 1.0
    level_now = loudness(audio, sample_rate)
    by_peak = ceiling / peak
    if not np.isfinite(level_now):
        return by_peak
    return min(10 ** ((target - level_now) / 20), by_peak)


def normalise_loudness(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """``audio`` at :data:`TARGET_LUFS`, its peak at most :data:`CEILING` (see :func:`loudness_gain`)."""
    return (np.asarray(audio) * loudness_gain(audio, sample_rate)).astype(np.float32)


def trim(
    audio: np.ndarray, sample_rate: int, music_end: float, axis: int = 0, judge: np.ndarray | None = None
) -> np.ndarray:
    """``audio`` cut after the last sample louder than near-silence (-60 dB under the peak), at most
    :data:`RELEASE_SECONDS` past ``music_end`` (the last note's end, in seconds), never cutting the music
    itself short. ``axis`` is time; the level is the loudest channel of ``judge`` (default ``audio``; the
    stems pass their mix, time on the same axis). A tail cut at the limit while it still sounds fades
    out over 10 ms."""
    x = np.moveaxis(np.abs(np.asarray(audio if judge is None else judge)), axis, 0)
    envelope = x.reshape(len(x), -1).max(axis=1) if x.ndim > 1 else x  # (samples,)
    end = min(len(envelope), round(music_end * sample_rate))
    cap = min(len(envelope), round((music_end + RELEASE_SECONDS) * sample_rate))
    peak = float(envelope.max()) if len(envelope) else 0.0
    sounding = np.flatnonzero(envelope[end:cap] > SILENCE * peak)
    keep = end + (int(sounding[-1]) + 1 if len(sounding) else 0)
    if keep >= len(envelope):
        return audio
    cut = np.take(audio, np.arange(keep), axis=axis)
    still_sounding = bool(envelope[keep:].max() > SILENCE * peak)
    return fade_out(cut, sample_rate, axis) if still_sounding else cut


def fade_out(audio: np.ndarray, sample_rate: int, axis: int = 0) -> np.ndarray:
    """``audio`` with its last :data:`FADE_SECONDS` faded linearly to zero along ``axis`` (the time axis)."""
    n = min(audio.shape[axis], int(FADE_SECONDS * sample_rate))
    if n == 0:
        return audio
    shape = [1] * audio.ndim
    shape[axis] = n
    tail = [slice(None)] * audio.ndim
    tail[axis] = slice(audio.shape[axis] - n, None)
    out = np.array(audio, copy=True)
    out[tuple(tail)] = out[tuple(tail)] * np.linspace(1.0, 0.0, n).reshape(shape)
    return out


def _write(path: Path, audio: np.ndarray, sample_rate: int) -> None:
    """Write ``path`` whole or not at all: into a file beside it, moved onto it when complete; a full disk,
    a read-only folder or a denied permission is one :class:`PathError` line naming ``path``, and leaves
    no partial file (libsndfile's own "System error." says neither which file nor why)."""
    import soundfile

    fmt, subtype = FORMATS[path.suffix.lower()]
    channels = 1 if audio.ndim == 1 else audio.shape[1]

    def write(temp: Path) -> None:
        # written in blocks: libsndfile's Vorbis encoder crashes on one very long write
        with soundfile.SoundFile(str(temp), "w", sample_rate, channels, subtype, format=fmt) as handle:
            for start in range(0, len(audio), 1 << 15):
                handle.write(audio[start : start + (1 << 15)])

    write_atomically(path, write, errors=(soundfile.SoundFileError,))


def _decoded_peak(path: Path) -> float:
    import soundfile

    peak = 0.0
    for block in soundfile.blocks(str(path), blocksize=1 << 16, dtype="float32"):
        peak = max(peak, float(np.abs(block).max()) if block.size else 0.0)
    return peak


def write_audio(path: str | Path, audio: np.ndarray, sample_rate: int) -> Path:
    """Write ``audio`` (float, ``(samples,)`` or ``(samples, channels)``) as .wav, .flac or .ogg.

    Vorbis overshoots sharp sounds (the chip's noise by up to 1.6x), so an OGG file is decoded once
    written, and if it goes above :data:`OGG_LIMIT` it is written again turned down by as much (at most a
    few times): a decoded OGG never clips. That OGG file is then quieter than the audio given."""
    path = Path(path)
    if path.suffix.lower() not in FORMATS:
        raise OverworldError(
            f"cannot write {path.suffix or 'files without an extension'}: use .wav, .flac or .ogg"
        )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise PathError(f"cannot make the folder of {path}: {exc.strerror or exc}") from exc
    audio = np.asarray(audio, dtype=np.float32)
    _write(path, audio, sample_rate)
    if path.suffix.lower() != ".ogg":
        return path
    gain = 1.0
    for _ in range(4):
        peak = _decoded_peak(path)
        if peak <= OGG_LIMIT:
            break
        gain *= 0.98 * OGG_LIMIT / peak
        _write(path, (audio * gain).astype(np.float32), sample_rate)
    return path
