"""Primers: the music a generation continues, as token ids of the model's tokenizer.

As the seed projects offered them: a MIDI file's opening (:func:`from_file`), a monophonic melody in
Magenta's convention (:func:`from_melody`), a chord (:func:`from_pitches`) and a random slice of a
prepared dataset (:func:`from_dataset`, as Midinet primed from its data). Every primer except the
dataset slice is built as a score and encoded, so it works with any tokenizer; a primer never includes
BOS or EOS (the sampler puts BOS in front).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np

from overworld.errors import ConfigError, DataError
from overworld.tokenizers import Tokenizer
from overworld.tokenizers import vocab as V

__all__ = [
    "MELODY_HOLD",
    "MELODY_RELEASE",
    "from_dataset",
    "from_file",
    "from_melody",
    "from_pitches",
    "from_score",
    "parse_int_list",
]

log = logging.getLogger(__name__)

MELODY_RELEASE = -1  # Magenta: stop the sounding note
MELODY_HOLD = -2  # Magenta: no event, the sounding note (or silence) goes on


def parse_int_list(text: str | list[int], what: str = "list") -> list[int]:
    """``"[60, -2, 62]"`` (or ``"60,-2,62"``, or a list) as a list of ints; :class:`ConfigError` if not."""
    if isinstance(text, (list, tuple)):
        values: Any = list(text)
    else:
        stripped = text.strip()
        if not stripped.startswith("["):
            stripped = f"[{stripped}]"
        try:
            values = json.loads(stripped)
        except ValueError as exc:
            raise ConfigError(f"{what} {text!r} is not a list of integers like [60, -2, 62]") from exc
    if not isinstance(values, list) or not all(
        isinstance(v, int) and not isinstance(v, bool) for v in values
    ):
        raise ConfigError(f"{what} {text!r} is not a list of integers like [60, -2, 62]")
    return values


def _score(notes: list[tuple[float, float, int, int]], program: int) -> Any:
    """A one-track score in seconds from ``(start, duration, pitch, velocity)`` rows."""
    import symusic

    from overworld.midi.gm import instrument_name

    if not 0 <= program <= V.DRUMS:
        raise ConfigError(f"primer program {program} is not a GM program 0-127 or 128 (drums)")
    score = symusic.Score(480, ttype="second")
    track = symusic.Track(
        instrument_name(program), 0 if program == V.DRUMS else program, program == V.DRUMS, ttype="second"
    )
    for start, duration, pitch, velocity in notes:
        track.notes.append(symusic.Note(float(start), float(duration), int(pitch), int(velocity), "second"))
    score.tracks.append(track)
    return score


def _encode(tokenizer: Tokenizer, score: Any, what: str) -> np.ndarray:
    ids = np.asarray(tokenizer.encode(score), dtype=np.int64)
    if ids.size == 0:
        raise ConfigError(f"{what} has no notes to prime with")
    return ids


PRIMER_BPM = (10.0, 1000.0)  # the tempi a primer may be written at (SampleConfig.bpm's range)
MAX_PRIMER_SECONDS = 3600.0  # a primer of an hour at most (a file's first seconds: longer is all of it)


def _check_bpm(bpm: float) -> None:
    low, high = PRIMER_BPM
    if not low <= bpm <= high:  # NaN fails too
        raise ConfigError(f"primer bpm must be between {low:g} and {high:g}, not {bpm}")


def _check_seconds(seconds: float) -> None:
    if not 0 < seconds <= MAX_PRIMER_SECONDS:  # NaN fails too
        raise ConfigError(
            f"primer seconds must be positive and at most {MAX_PRIMER_SECONDS:g}, not {seconds}"
        )


def from_melody(
    melody: str | list[int],
    tokenizer: Tokenizer,
    *,
    bpm: float = 120.0,
    program: int = 80,
    velocity: int = 100,
) -> np.ndarray:
    """Magenta's melody convention: one event per sixteenth note at ``bpm``; a pitch 0-127 starts a
    note (ending the one before), ``-2`` holds, ``-1`` releases. Example: ``[60, -2, 62, -2, 64]``."""
    events = parse_int_list(melody, "melody")
    _check_bpm(bpm)
    step = 60.0 / bpm / 4
    notes: list[tuple[float, float, int, int]] = []
    pitch, start = None, 0.0
    for i, event in enumerate(events):
        if event == MELODY_HOLD:
            continue
        if not (event == MELODY_RELEASE or 0 <= event < V.N_PITCHES):
            raise ConfigError(f"melody event {event} is not a pitch 0-127, -1 (release) or -2 (hold)")
        if pitch is not None:
            notes.append((start, i * step - start, pitch, velocity))
        pitch, start = (None, 0.0) if event == MELODY_RELEASE else (event, i * step)
    if pitch is not None:
        notes.append((start, len(events) * step - start, pitch, velocity))
    return _encode(tokenizer, _score(notes, program), "the melody primer")


def from_pitches(
    pitches: str | list[int],
    tokenizer: Tokenizer,
    *,
    bpm: float = 120.0,
    program: int = 80,
    beats: float = 1.0,
    velocity: int = 100,
) -> np.ndarray:
    """A chord: every pitch starts at 0 and lasts ``beats`` beats at ``bpm``. Example: ``[60, 64, 67]``."""
    values = parse_int_list(pitches, "pitches")
    _check_bpm(bpm)
    if not 0 < beats <= MAX_PRIMER_SECONDS:
        raise ConfigError(f"primer beats must be positive and at most {MAX_PRIMER_SECONDS:g}, not {beats}")
    bad = [p for p in values if not 0 <= p < V.N_PITCHES]
    if bad:
        raise ConfigError(f"primer pitches {bad} are not MIDI pitches 0-127")
    duration = beats * 60.0 / bpm
    notes = [(0.0, duration, p, velocity) for p in sorted(set(values))]
    return _encode(tokenizer, _score(notes, program), "the pitches primer")


def from_file(path: str | Path, tokenizer: Tokenizer, *, seconds: float | None = None) -> np.ndarray:
    """A MIDI file, or its first ``seconds`` (notes cut at that time), encoded. Raises ``MidiError``."""
    from overworld.midi import load_score

    return from_score(load_score(path), tokenizer, seconds=seconds, name=str(path))


def from_score(
    score: Any, tokenizer: Tokenizer, *, seconds: float | None = None, name: str = "score"
) -> np.ndarray:
    """A loaded score (in seconds, as ``load_score`` gives it), or its first ``seconds``, encoded; ``name``
    says where it came from in errors."""
    import symusic

    if seconds is not None:
        _check_seconds(seconds)
        clipped = symusic.Score(score.ticks_per_quarter, ttype="second")
        for track in score.tracks:
            new = symusic.Track(track.name, track.program, track.is_drum, ttype="second")
            for note in track.notes:
                if note.time < seconds:
                    end = min(note.time + note.duration, seconds)
                    new.notes.append(
                        symusic.Note(note.time, end - note.time, note.pitch, note.velocity, "second")
                    )
            if len(new.notes):
                clipped.tracks.append(new)
        score = clipped
    return _encode(tokenizer, score, f"primer {name}")


def from_dataset(
    prepared: str | Path, tokenizer: Tokenizer, *, split: str = "train", seconds: float = 4.0, seed: int = 0
) -> np.ndarray:
    """A random slice of about ``seconds`` of one file of a prepared split, chosen with ``seed``.

    The tokenizer cuts the slice (:meth:`~overworld.tokenizers.Tokenizer.primer_slice`: performance
    tokens from a time shift with the instrument and velocity in force, bar tokens at a bar line with
    the metre and tempo in force). Raises :class:`DataError` if the folder is not a prepared dataset for this tokenizer.
    """
    _check_seconds(seconds)
    folder = Path(prepared)
    manifest_path = folder / "manifest.json"
    bin_path, idx_path = folder / f"{split}.bin", folder / f"{split}.idx.npy"
    if not (manifest_path.is_file() and bin_path.is_file() and idx_path.is_file()):
        raise DataError(
            f"{folder} is not a prepared dataset with a {split!r} split (run `overworld prepare`)"
        )
    try:
        manifest = json.loads(manifest_path.read_text())
        tokens = np.memmap(bin_path, dtype=np.uint16, mode="r")
        offsets = np.load(idx_path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot read prepared dataset {folder}: {exc}") from exc
    if not isinstance(manifest, dict):
        raise DataError(
            f"{manifest_path} holds a {type(manifest).__name__}, not a manifest (run `overworld prepare`)"
        )
    name = getattr(tokenizer, "name", None)
    if manifest.get("tokenizer") != name or int(manifest.get("vocab_size", -1)) != tokenizer.vocab_size:
        raise DataError(
            f"{folder} was prepared with tokenizer {manifest.get('tokenizer')!r} "
            f"({manifest.get('vocab_size')} tokens); the model uses {name!r} ({tokenizer.vocab_size})"
        )
    if len(offsets) < 2:
        raise DataError(f"the {split!r} split of {folder} is empty")
    rng = np.random.default_rng(seed)
    lengths = np.diff(offsets)
    candidates = np.flatnonzero(lengths > 8)
    if candidates.size == 0:
        raise DataError(f"the {split!r} split of {folder} has no file long enough to prime with")
    file = int(rng.choice(candidates))
    ids = np.asarray(tokens[offsets[file] : offsets[file + 1]], dtype=np.int64)
    ids = ids[(ids != tokenizer.bos_id) & (ids != tokenizer.eos_id) & (ids != tokenizer.pad_id)]
    log.info("dataset primer: file %d of %s", file, split)
    return tokenizer.primer_slice(ids, seconds, rng)
