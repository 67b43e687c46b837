"""The performance event tokenizer (Oore et al. 2018; the vocabulary the seed project Midinet describes),
with its flaws fixed: time shifts are real milliseconds from the tempo map, a NOTE_OFF belongs to the
instrument currently selected, and drums are an instrument of their own. Layout: ``vocab.py``.

Encoding is vectorised: notes become (time, instrument, on/off, pitch) events, one ``np.lexsort`` orders
them (within a 10 ms step: by instrument, NOTE_OFFs before NOTE_ONs, then pitch), and every event's tokens
(time shifts, instrument and velocity changes, the note) are scattered into place with ``np.repeat``.
Absolute times are quantised to the 10 ms grid before differencing, so rounding never accumulates.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import numpy as np

from overworld.midi.gm import instrument_name
from overworld.midi.load import in_seconds
from overworld.tokenizers import vocab as V
from overworld.tokenizers.base import Tokenizer

__all__ = ["PerformanceTokenizer", "encode_events", "shift_tokens"]

_I64 = np.int64


def shift_tokens(steps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each gap of ``steps`` 10 ms steps: how many TIME_SHIFT tokens it needs, and all of them in order."""
    steps = np.asarray(steps, dtype=_I64)
    full, rem = np.divmod(steps, V.N_TIME_SHIFTS)
    counts = full + (rem > 0)
    total = int(counts.sum())
    tokens = np.full(total, V.TIME_SHIFT_OFFSET + V.N_TIME_SHIFTS - 1, dtype=_I64)
    ends = np.cumsum(counts)
    has_rem = rem > 0
    tokens[ends[has_rem] - 1] = V.TIME_SHIFT_OFFSET + rem[has_rem] - 1
    return counts, tokens


def encode_events(
    time: np.ndarray, instrument: np.ndarray, is_on: np.ndarray, pitch: np.ndarray, vbin: np.ndarray
) -> np.ndarray:
    """Tokens for note events given as arrays (time in 10 ms steps, instrument 0-128, is_on bool,
    pitch 0-127, velocity bin for NOTE_ONs). Events are sorted here."""
    order = np.lexsort((pitch, is_on, instrument, time))
    time, instrument, is_on, pitch, vbin = (a[order] for a in (time, instrument, is_on, pitch, vbin))
    n = len(time)
    if n == 0:
        return np.zeros(0, dtype=_I64)
    gaps = np.diff(time, prepend=0)
    n_shift, shifts = shift_tokens(gaps)
    inst_change = np.ones(n, dtype=bool)
    inst_change[1:] = instrument[1:] != instrument[:-1]
    vel_change = np.zeros(n, dtype=bool)
    on_idx = np.flatnonzero(is_on)
    if len(on_idx):
        on_v = vbin[on_idx]
        changed = np.ones(len(on_idx), dtype=bool)
        changed[1:] = on_v[1:] != on_v[:-1]
        vel_change[on_idx] = changed
    counts = n_shift + inst_change + vel_change + 1
    start = np.cumsum(counts) - counts
    out = np.empty(int(counts.sum()), dtype=_I64)
    # time shifts: the first n_shift slots of each event
    within = np.arange(len(shifts)) - np.repeat(np.cumsum(n_shift) - n_shift, n_shift)
    out[np.repeat(start, n_shift) + within] = shifts
    pos = start + n_shift
    out[pos[inst_change]] = V.INSTRUMENT_OFFSET + instrument[inst_change]
    pos = pos + inst_change
    out[pos[vel_change]] = V.VELOCITY_OFFSET + vbin[vel_change]
    pos = pos + vel_change
    out[pos] = np.where(is_on, V.NOTE_ON_OFFSET, V.NOTE_OFF_OFFSET) + pitch
    return out


class PerformanceTokenizer(Tokenizer):
    """NOTE_ON / NOTE_OFF / VELOCITY / TIME_SHIFT / INSTRUMENT events over a 10 ms grid (vocabulary 520).

    ``max_note_seconds`` caps a note's length when encoding (a hanging note would otherwise sound for the
    rest of the piece); 0 disables the cap.
    """

    name = "performance"

    def __init__(self, max_note_seconds: float = 30.0) -> None:
        self.max_note_seconds = float(max_note_seconds)

    vocab_size = property(lambda self: V.VOCAB_SIZE)  # type: ignore[assignment]
    pad_id = property(lambda self: V.PAD)  # type: ignore[assignment]
    bos_id = property(lambda self: V.BOS)  # type: ignore[assignment]
    eos_id = property(lambda self: V.EOS)  # type: ignore[assignment]

    # ----------------------------------------------------------------------------------------- encode
    def encode(self, score: Any) -> np.ndarray:
        score = in_seconds(score)
        parts = []
        for track in score.tracks:
            notes = track.notes.numpy()
            if len(notes["time"]) == 0:
                continue
            inst = V.DRUMS if track.is_drum else int(track.program) % 128
            parts.append((inst, notes))
        if not parts:
            return np.zeros(0, dtype=_I64)
        t = np.concatenate([p[1]["time"].astype(np.float64) for p in parts])
        d = np.concatenate([p[1]["duration"].astype(np.float64) for p in parts])
        pitch = np.concatenate([p[1]["pitch"].astype(_I64) for p in parts]) % 128
        vel = np.concatenate([p[1]["velocity"].astype(_I64) for p in parts])
        inst = np.concatenate([np.full(len(p[1]["time"]), p[0], dtype=_I64) for p in parts])
        keep = vel > 0  # velocity 0 is a note-off in MIDI: no note
        t, d, pitch, vel, inst = t[keep], d[keep], pitch[keep], vel[keep], inst[keep]
        on = np.rint(np.maximum(t, 0.0) / V.STEP_SECONDS).astype(_I64)
        off = np.rint(np.maximum(t + d, 0.0) / V.STEP_SECONDS).astype(_I64)
        off = np.maximum(off, on + 1)  # zero-length notes last one step
        if self.max_note_seconds > 0:
            off = np.minimum(off, on + round(self.max_note_seconds / V.STEP_SECONDS))
        vbin = np.clip(vel, 0, 127) // V.VELOCITY_BIN
        n = len(on)
        return encode_events(
            np.concatenate([on, off]),
            np.concatenate([inst, inst]),
            np.concatenate([np.ones(n, bool), np.zeros(n, bool)]),
            np.concatenate([pitch, pitch]),
            np.concatenate([vbin, vbin]),
        )

    # ----------------------------------------------------------------------------------------- decode
    def decode_notes(self, ids: Any) -> dict[int, np.ndarray]:
        """Per instrument, an (N, 4) float array of notes: start s, duration s, pitch, velocity."""
        step = 0
        instrument = 0
        velocity = V.velocity_of_bin(16)
        open_notes: dict[tuple[int, int], deque] = {}
        out: dict[int, list[tuple[int, int, int, int]]] = {}
        for tok in np.asarray(ids, dtype=_I64).tolist():
            if tok >= V.INSTRUMENT_OFFSET:
                if tok < V.VOCAB_SIZE:
                    instrument = tok - V.INSTRUMENT_OFFSET
            elif tok >= V.TIME_SHIFT_OFFSET:
                step += tok - V.TIME_SHIFT_OFFSET + 1
            elif tok >= V.VELOCITY_OFFSET:
                velocity = V.velocity_of_bin(tok - V.VELOCITY_OFFSET)
            elif tok >= V.NOTE_OFF_OFFSET:
                queue = open_notes.get((instrument, tok - V.NOTE_OFF_OFFSET))
                if queue:
                    start, vel = queue.popleft()
                    out.setdefault(instrument, []).append((start, step, tok - V.NOTE_OFF_OFFSET, vel))
            elif tok >= V.NOTE_ON_OFFSET:
                open_notes.setdefault((instrument, tok - V.NOTE_ON_OFFSET), deque()).append((step, velocity))
        for (inst, pitch), queue in open_notes.items():  # close whatever is still sounding
            for start, vel in queue:
                out.setdefault(inst, []).append((start, max(step, start + 1), pitch, vel))
        result = {}
        for inst, rows in out.items():
            a = np.array(sorted(rows), dtype=np.float64)
            a[:, 1] = np.maximum(a[:, 1] - a[:, 0], 1) * V.STEP_SECONDS
            a[:, 0] *= V.STEP_SECONDS
            result[inst] = a
        return result

    def decode(self, ids: Any) -> Any:
        import symusic

        score = symusic.Score(480, ttype="second")
        for inst, a in sorted(self.decode_notes(ids).items()):
            track = symusic.Track(
                name=instrument_name(inst),
                program=0 if inst == V.DRUMS else inst,
                is_drum=inst == V.DRUMS,
                ttype="second",
            )
            track.notes = symusic.Note.from_numpy(
                a[:, 0].astype(np.float32),
                a[:, 1].astype(np.float32),
                a[:, 2].astype(np.int8),
                a[:, 3].astype(np.int8),
                "second",
            )
            score.tracks.append(track)
        return score

    # ------------------------------------------------------------------------------- token arithmetic
    def augment(self, ids: np.ndarray, transpose: int = 0, stretch: float = 1.0) -> np.ndarray:
        ids = np.asarray(ids, dtype=_I64)
        if transpose:
            ids = _transpose(ids, int(transpose))
        if stretch != 1.0:
            ids = _stretch(ids, float(stretch))
        return ids

    def count_notes(self, ids: np.ndarray) -> int:
        ids = np.asarray(ids)
        return int(np.count_nonzero((ids >= V.NOTE_ON_OFFSET) & (ids < V.NOTE_OFF_OFFSET)))

    def seconds(self, ids: np.ndarray) -> float:
        ids = np.asarray(ids, dtype=_I64)
        ts = ids[(ids >= V.TIME_SHIFT_OFFSET) & (ids < V.INSTRUMENT_OFFSET)]
        return float((ts - V.TIME_SHIFT_OFFSET + 1).sum() * V.STEP_SECONDS)

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.name, "vocab_size": V.VOCAB_SIZE, "max_note_seconds": self.max_note_seconds}

    # ---------------------------------------------------------------------------------------- sampling
    def grammar(
        self,
        batch_size: int,
        config: Any,
        *,
        budgets: Any,
        max_seconds: float | None = None,
        max_bars: int | None = None,
        device: Any,
    ) -> Any:
        """:class:`~overworld.tokenizers.performance_grammar.PerformanceGrammar`, which reads every control
        of ``config`` but the metre and a length in bars (it has no bars)."""
        from overworld.tokenizers.base import refuse_controls
        from overworld.tokenizers.performance_grammar import PerformanceGrammar

        refuse_controls(self.name, config, PerformanceGrammar.KEEPS, max_bars=max_bars)
        return PerformanceGrammar(batch_size, config, budgets=budgets, max_seconds=max_seconds, device=device)

    def primer_slice(self, ids: np.ndarray, seconds: float, rng: np.random.Generator) -> np.ndarray:
        """``seconds`` of the piece from a random time shift, with the instrument and velocity in force."""
        from overworld.tokenizers.performance_grammar import clean_primer

        is_shift = (ids >= V.TIME_SHIFT_OFFSET) & (ids < V.INSTRUMENT_OFFSET)
        steps = np.cumsum(np.where(is_shift, ids - V.TIME_SHIFT_OFFSET + 1, 0))  # time after each token
        total = int(steps[-1]) if steps.size else 0
        want = round(seconds / V.STEP_SECONDS)
        starts = np.flatnonzero(is_shift[:-1]) + 1  # just after a time shift
        starts = starts[steps[starts - 1] <= max(total - want, 0)] if total > want else starts[:1]
        start = int(rng.choice(starts)) if starts.size else 0
        end_candidates = np.flatnonzero(steps >= steps[start - 1 if start else 0] + want)
        end = int(end_candidates[0]) + 1 if end_candidates.size else len(ids)
        before = ids[:start]
        prefix: list[int] = []
        inst = before[(before >= V.INSTRUMENT_OFFSET) & (before < V.VOCAB_SIZE)]
        vel = before[(before >= V.VELOCITY_OFFSET) & (before < V.TIME_SHIFT_OFFSET)]
        if inst.size:
            prefix.append(int(inst[-1]))
        if vel.size:
            prefix.append(int(vel[-1]))
        return np.asarray(clean_primer(prefix + ids[start:end].tolist()), dtype=np.int64)


def _instrument_state(ids: np.ndarray) -> np.ndarray:
    """The instrument selected at each position: -1 where unknown (before the first INSTRUMENT token
    of a window, or after BOS/EOS, which reset the state)."""
    is_inst = (ids >= V.INSTRUMENT_OFFSET) & (ids < V.VOCAB_SIZE)
    is_reset = (ids == V.BOS) | (ids == V.EOS)
    marker = np.where(is_inst | is_reset, np.arange(len(ids)), -1)
    last = np.maximum.accumulate(marker) if len(ids) else marker
    value = np.where(is_inst, ids - V.INSTRUMENT_OFFSET, -1)
    return np.where(last >= 0, value[np.maximum(last, 0)], -1)


def _transpose(ids: np.ndarray, semitones: int) -> np.ndarray:
    inst = _instrument_state(ids)
    is_on = (ids >= V.NOTE_ON_OFFSET) & (ids < V.NOTE_OFF_OFFSET)
    is_off = (ids >= V.NOTE_OFF_OFFSET) & (ids < V.VELOCITY_OFFSET)
    pitched = (is_on | is_off) & (inst >= 0) & (inst != V.DRUMS)
    base = np.where(is_on, V.NOTE_ON_OFFSET, V.NOTE_OFF_OFFSET)
    new_pitch = ids - base + semitones
    out = np.where(pitched, base + new_pitch, ids)
    keep = ~pitched | ((new_pitch >= 0) & (new_pitch < V.N_PITCHES))  # notes pushed out of range go
    return out[keep]


def _stretch(ids: np.ndarray, factor: float) -> np.ndarray:
    is_ts = (ids >= V.TIME_SHIFT_OFFSET) & (ids < V.INSTRUMENT_OFFSET)
    if not is_ts.any():
        return ids
    steps = np.where(is_ts, ids - V.TIME_SHIFT_OFFSET + 1, 0)
    run_start = is_ts & ~np.concatenate([[False], is_ts[:-1]])
    run_id = np.cumsum(run_start) - 1  # run index of every time-shift token
    n_runs = int(run_start.sum())
    run_steps = np.bincount(run_id[is_ts], weights=steps[is_ts], minlength=n_runs).astype(_I64)
    new_cum = np.rint(np.cumsum(run_steps) * factor).astype(_I64)
    new_steps = np.diff(new_cum, prepend=0)
    counts_run, run_tokens = shift_tokens(new_steps)
    counts = np.where(is_ts, 0, 1)
    counts[run_start] = counts_run
    out = np.empty(int(counts.sum()), dtype=_I64)
    start = np.cumsum(counts) - counts
    out[start[~is_ts]] = ids[~is_ts]
    starts = start[run_start]
    within = np.arange(len(run_tokens)) - np.repeat(np.cumsum(counts_run) - counts_run, counts_run)
    out[np.repeat(starts, counts_run) + within] = run_tokens
    return out
