"""Stems: one audio track per instrument (and per drum kit), sample-aligned and the same length, that sum
to the mix; and seamless loops.

:func:`render_stems` renders each track of a score apart (the chiptune synth allocates its voices over
the whole score first, as the chip does, so a stem sounds as it does in the mix; FluidSynth renders each
track alone), pads them to one length, then:

* with ``length`` (samples), cuts every stem to exactly that many samples; with ``loop_start`` 0, the
  stems are the fourth pass of the piece rendered four times in a row: the pass before's release tails
  ring over its opening and the synth's voice limits (a chip cuts its oldest note) act across the loop
  point as they do when a game repeats it, so the loop is sample for sample what repeating sounds like
  (the fourth: which notes a chip cuts can take two passes to settle in a dense piece); with a later
  ``loop_start`` (an intro before the loop), whatever sounds past the end (release tails) is added back
  from ``loop_start`` on, wrapping round the loop;
* without ``length``, cuts them all where the mix falls silent after the last note, at most 2 s after it
  (as :func:`overworld.render.render` does);
* scales all stems by one shared gain, the mix's (:func:`overworld.render.audio.loudness_gain`: the mix
  to -18 LUFS, its peak at most 0.89): stems are never normalised apart, so their sum is the mix.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from overworld.errors import ConfigError

__all__ = ["PEAK", "Seam", "Stems", "fold_loop", "render_stems", "replay_error", "seam", "stem_names"]

PEAK = 0.89
# a loop's audio is the last of this many passes rendered in a row: a 13-part, 911-note loop of the bundled
# model (compose seed 7, 16 bars in D minor at 150 bpm) replayed 7.6% of its peak away from repeating it
# at 3 passes, its voice allocation not yet settled, and to float rounding (5e-8) at 4, 5 and 6
LOOP_PASSES = 4


@dataclass(frozen=True)
class Stems:
    """``audio`` ``(stems, samples)`` (mono, chiptune) or ``(stems, samples, 2)`` (stereo, SoundFont), after
    the shared ``gain``; ``mix`` is their sum."""

    names: tuple[str, ...]
    audio: np.ndarray
    sample_rate: int
    gain: float

    @property
    def mix(self) -> np.ndarray:
        return self.audio.sum(axis=0, dtype=np.float64).astype(np.float32)


def stem_names(score: Any, console: Any = None) -> list[str]:
    """A file-safe name per track: numbered in track order (``01-lead-1-square``, ``04-drums``), or with
    a :class:`~overworld.render.consoles.Console`, the chip channel it plays on (``pulse-1``, ``pulse-2``,
    ``triangle``, ``noise``); an instrument outside the console's line-up keeps its numbered name."""
    from overworld.midi.gm import DRUMS, instrument_name

    channels = console.channels if console is not None else {}
    names: list[str] = []
    for i, track in enumerate(score.tracks, start=1):
        channel = channels.get(DRUMS if track.is_drum else int(track.program))
        label = "drums" if track.is_drum else (track.name or instrument_name(int(track.program)))
        slug = re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-") or "track"
        name = channel if channel and channel not in names else f"{i:02d}-{slug}"
        names.append(name)
    return names


def fold_loop(audio: np.ndarray, length: int, loop_start: int | None) -> np.ndarray:
    """``audio`` ``(..., samples)`` cut to ``length``; with ``loop_start``, what lies past ``length`` is
    added onto the loop (``loop_start`` to ``length``), wrapping round as often as it needs."""
    out = np.zeros((*audio.shape[:-1], length), dtype=np.float64)
    n = min(length, audio.shape[-1])
    out[..., :n] = audio[..., :n]
    if loop_start is None or audio.shape[-1] <= length:
        return out
    span = length - loop_start
    if span <= 0:
        raise ConfigError(f"the loop starts at sample {loop_start}, not before its end {length}")
    rest = audio[..., length:]
    for at in range(0, rest.shape[-1], span):
        chunk = rest[..., at : at + span]
        out[..., loop_start : loop_start + chunk.shape[-1]] += chunk
    return out


def _tracks_chiptune(score: Any, sample_rate: int, console: Any) -> np.ndarray:
    from overworld.render.chiptune import ChipVoices, synthesize_tracks, voice_for

    voices = console.voices if console is not None else ChipVoices()
    voice = console.voice if console is not None else voice_for
    audio, _ = synthesize_tracks(
        score, sample_rate, max_seconds=float(score.end()) + 1.0, voices=voices, voice=voice
    )
    return audio.astype(np.float64)


def _tracks_soundfont(score: Any, sample_rate: int, soundfont: Any) -> np.ndarray:
    from overworld.render.soundfont import synthesize

    parts = []
    for track in score.tracks:
        alone = score.copy()
        alone.tracks = [track.copy()]
        parts.append(np.asarray(synthesize(alone, sample_rate, soundfont), dtype=np.float64))
    n = max(len(p) for p in parts)
    return np.stack([np.pad(p, ((0, n - len(p)), (0, 0))) for p in parts]).transpose(0, 2, 1)  # (S, 2, N)


SYNTH_TRACKS = {"chiptune": _tracks_chiptune, "soundfont": _tracks_soundfont}


def render_stems(
    source: Any,
    *,
    synth: str = "chiptune",
    console: Any = None,
    soundfont: Any = None,
    sample_rate: int = 44100,
    length: int | None = None,
    loop_start: int | None = None,
) -> Stems:
    """The stems of a Score or MIDI file (see the module docstring). ``console``: a
    :class:`~overworld.render.consoles.Console` whose voices the chiptune synth uses."""
    from overworld.render.audio import loudness_gain, trim
    from overworld.render.scores import as_score, music_end

    if synth not in SYNTH_TRACKS:
        raise ConfigError(f"unknown synth {synth!r}; choose one of: {', '.join(SYNTH_TRACKS)}")
    if console is not None and synth != "chiptune":
        raise ConfigError("a console's voices are the chiptune synth's; use synth chiptune with a console")
    score = as_score(source)
    score.tracks = [t for t in score.tracks if len(t.notes)]
    if not len(score.tracks):
        raise ConfigError("the piece has no notes to render")
    extra = soundfont if synth == "soundfont" else console
    tracks_of = SYNTH_TRACKS[synth]  # -> (S, N) or (S, 2, N)
    if length is None:
        audio = tracks_of(score, sample_rate, extra)
        audio = trim(audio, sample_rate, music_end(score), axis=-1, judge=audio.sum(axis=0))  # the mix's end
    elif loop_start == 0:  # the loop's last pass: exactly what repeating sounds like, once settled
        audio = tracks_of(_repeated(score, length / sample_rate, LOOP_PASSES), sample_rate, extra)
        audio = audio[..., (LOOP_PASSES - 1) * length :]
        audio = fold_loop(audio, length, None)
    else:  # exactly ``length``: never trimmed
        audio = fold_loop(tracks_of(score, sample_rate, extra), length, loop_start)
    mix = audio.sum(axis=0)  # (N,) or (2, N)
    gain = loudness_gain(mix if mix.ndim == 1 else mix.T, sample_rate, ceiling=PEAK)
    audio = (audio * gain).astype(np.float32)
    if audio.ndim == 3:
        audio = audio.transpose(0, 2, 1)  # (S, N, 2): soundfile's frames x channels
    return Stems(tuple(stem_names(score, console)), audio, sample_rate, gain)


def _repeated(score: Any, seconds: float, times: int) -> Any:
    """``score`` (in seconds) played ``times`` in a row, each time ``seconds`` after the one before."""
    import symusic

    out = score.copy()
    for track in out.tracks:
        notes = list(track.notes)
        for k in range(1, times):
            for note in notes:
                track.notes.append(
                    symusic.Note(
                        note.time + k * seconds, note.duration, note.pitch, note.velocity, ttype="second"
                    )
                )
        track.notes.sort()
    return out


@dataclass(frozen=True)
class Seam:
    """The jump from a loop's last sample back to its first, and the sample-to-sample steps around it
    (``window`` steps either side, in the order the loop plays them)."""

    jump: float
    median_step: float
    mean_step: float
    max_step: float

    @property
    def clickless(self) -> bool:
        """The jump is one the audio around it also makes (a click stands out above all of them)."""
        return self.jump <= self.max_step


def seam(audio: np.ndarray, loop_start: int = 0, window: int = 256) -> Seam:
    """How the loop of ``audio`` (mono or ``(samples, channels)``) from ``loop_start`` to its end joins."""
    x = np.asarray(audio, dtype=np.float64)
    x = x.reshape(len(x), -1)
    around = np.concatenate([x[-window - 1 :], x[loop_start : loop_start + window + 1]])  # end, then start
    steps = np.abs(np.diff(around, axis=0)).max(axis=1)
    jump = float(steps[window])  # last sample -> first
    others = np.delete(steps, window)
    return Seam(jump, float(np.median(others)), float(others.mean()), float(others.max()))


def replay_error(
    score: Any, length: int, *, sample_rate: int = 44100, window: int = 2000, **synth: Any
) -> float:
    """How far the loop :func:`render_stems` makes of ``score`` (``length`` samples from its start) lies
    from the piece played once more than the loop's render, around its last repeat (``window`` samples
    either side), as a share of the peak: 0 (to float rounding) means a game looping the file sounds,
    there and on every repeat, as a continuous performance does (release tails and voice limits across
    the loop point included), so the jump from the last sample to the first is a step the music itself
    makes. ``synth``: :func:`render_stems`'s ``synth``, ``console``, ``soundfont``."""
    from overworld.render.scores import as_score

    base = as_score(score)
    once = render_stems(base, sample_rate=sample_rate, length=length, loop_start=0, **synth)
    times = LOOP_PASSES + 1
    many = render_stems(
        _repeated(base, length / sample_rate, times), sample_rate=sample_rate, length=times * length, **synth
    )
    looped = once.mix.astype(np.float64) / once.gain
    played = many.mix.astype(np.float64) / many.gain
    w, seam = min(window, length), LOOP_PASSES * length
    around = np.concatenate([looped[-w:], looped[:w]])
    return float(np.abs(around - played[seam - w : seam + w]).max() / max(np.abs(played).max(), 1e-12))
