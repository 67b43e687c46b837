"""Grammar masks for MidiTok's vocabularies (REMI, TSD, MIDILike, MMM without BPE), vectorised over the
batch, the counterpart of :class:`~overworld.tokenizers.performance_grammar.PerformanceGrammar`.

MidiTok describes which token type may follow which (``tokenizer.tokens_types_graph``, the graph its own
``tokens_errors`` checks against); on top of it, :class:`MidiTokGrammar` keeps per sequence the current
program, the last position in the bar and the instruments played so far, and allows:

* a token only where its type may follow the previous token's type;
* after a ``Program``, only note tokens of its kind: drum notes (``PitchDrum``, ``DrumOn``...) after the
  drum kit (``Program_-1``), pitched notes after any other program; no note before the first ``Program``;
* ``Program`` only from the allowed instruments, and once ``max_instruments`` distinct instruments have
  played a note, only among those;
* ``Position`` only forward within a bar (a new ``Bar`` starts again at 0);
* one ``TimeSig`` and one ``Tempo`` per piece: once either is set (by the primer or the model), only the
  same value may be repeated (a small model otherwise changes metre and tempo from bar to bar);
* with the time in beats (``Bar``/``Position``, ``TimeShift``, ``TimeSig``) and the end of every note
  (its ``Duration``) known: a move in time only to where fewer than ``max_polyphony`` notes sound, a
  new note only while fewer than that sound now, never the same pitch twice on one instrument at one
  time, and a ``Duration`` only up to ``max_note_seconds`` at the current ``Tempo`` (120 bpm before any);
* ``PAD``/``BOS`` never; ``EOS`` only when nothing else is valid, after which only ``PAD`` follows.

Decoding never fails on what it lets through, and the controls mean what they mean with performance
tokens. (MIDILike's notes have no ``Duration``: there the polyphony and length limits do not apply.)
Beats are MidiTok's: the time signature's denominator note.
"""

from __future__ import annotations

import torch
from torch import Tensor

from overworld.config import SampleConfig
from overworld.errors import ConfigError
from overworld.midi.gm import DRUMS, N_INSTRUMENTS
from overworld.tokenizers.grammar import BudgetMixin, SecondsLimit, prime_rows

__all__ = ["MidiTokGrammar"]

# B batch, V vocabulary, T token types
_DRUM_NOTES = {"PitchDrum", "DrumOn", "DrumOff"}
_PITCHED_NOTES = {"Pitch", "NoteOn", "NoteOff", "PitchIntervalTime", "PitchIntervalChord"}
_STARTS = {"Pitch", "PitchDrum", "NoteOn", "DrumOn"}  # a note starts: its instrument has played
_SLOTS = 64  # notes whose end is tracked at once (more than any polyphony limit in use)
_OPEN = 1e9  # the end of a note whose Duration has not come yet
# the per-token value tables _read_values fills (on the CPU; then moved to the grammar's device)
_VALUE_TABLES = (
    "program_of",
    "position_of",
    "pitch_of",
    "shift_of",
    "duration_of",
    "tempo_of",
    "signature_of",
)


def _beats(value: str) -> float:
    """MidiTok's ``"1.2.8"`` (one beat and 2/8): 1.25 beats."""
    whole, part, res = (int(x) for x in value.split("."))
    return whole + part / res


def _type_graph(graph: dict[str, set[str]], index: dict[str, int]) -> Tensor:
    """MidiTok's token-type graph as a (types, types) table: may type v follow type t."""
    follows = torch.zeros(len(index), len(index), dtype=torch.bool)
    for name, nexts in graph.items():
        for nxt in nexts:
            nxt = nxt.split("_", 1)[0]  # the graph names specials in full ("PAD_None")
            if name in index and nxt in index:
                follows[index[name], index[nxt]] = True
    return follows


class MidiTokGrammar(BudgetMixin):
    """The decoding state of ``batch_size`` sequences of a MidiTok tokenizer (``tokenizer.inner``), and
    the masks it implies. Raises :class:`ConfigError` for a BPE-trained tokenizer (its ids are merges of
    several tokens, which no type graph describes)."""

    KEEPS = frozenset(
        {"max_instruments", "instruments"}
    )  # the refusable controls it keeps (the others are refused)

    def __init__(
        self,
        inner: object,
        batch_size: int,
        config: SampleConfig | None = None,
        *,
        budgets: int | Tensor = 0,
        max_seconds: float | None = None,
        seconds_of: object = None,
        device: torch.device | str = "cpu",
    ) -> None:
        """Rows under ``config``'s instrument, polyphony and note-length controls (default:
        :class:`SampleConfig`'s), ``budgets`` (each row's instrument budget, 0 none) and ``max_seconds``
        (measured by ``seconds_of(ids)``)."""
        config = config or SampleConfig()
        max_polyphony, max_note_seconds = config.max_polyphony, config.max_note_seconds
        if getattr(inner, "is_trained", False):
            raise ConfigError("the MidiTok grammar needs a tokenizer without BPE merges")
        if not 1 <= max_polyphony <= _SLOTS:
            raise ConfigError(f"max_polyphony must be between 1 and {_SLOTS}, not {max_polyphony}")
        if max_note_seconds <= 0:
            raise ConfigError(f"max_note_seconds must be positive, not {max_note_seconds}")
        self.device = torch.device(device)
        index = self._read_vocab(inner)
        self._start_state(index, batch_size, config.instruments, budgets, max_polyphony, max_note_seconds)
        self.primer: list[int] = []
        self.limit = SecondsLimit(seconds_of, batch_size, max_seconds, self.pad, self.eos)

    def _read_vocab(self, inner: object) -> dict[str, int]:
        """Per token id: its type, program, position, pitch, time shift, duration, tempo and metre; the
        type graph as a (types, vocabulary) table. Returns the type index."""
        vocab: dict[str, int] = inner.vocab  # type: ignore[attr-defined]
        graph: dict[str, set[str]] = inner.tokens_types_graph  # type: ignore[attr-defined]
        names = sorted({token.split("_", 1)[0] for token in vocab} | set(graph))
        index = {name: i for i, name in enumerate(names)}
        kind = self._read_values(vocab, index)
        config = getattr(inner, "config", None)
        beat_res = getattr(config, "beat_res", None) or {(0, 4): 8}
        self.positions_per_beat = float(max(beat_res.values()))
        self.kind = kind.to(self.device)
        for name in _VALUE_TABLES:
            setattr(self, name, getattr(self, name).to(self.device))
        self.follows = _type_graph(graph, index)[:, kind].to(self.device)  # (T, V): may token v follow type t
        type_names = [names[k] for k in kind.tolist()]
        self.drum_note, self.pitched_note, self.starts_note = (
            torch.tensor([name in group for name in type_names], device=self.device)
            for group in (_DRUM_NOTES, _PITCHED_NOTES, _STARTS)
        )
        self.is_program = self.program_of >= 0
        self.is_position = self.position_of >= 0
        self.is_bar = self.kind == index.get("Bar", -1)
        self.is_shift = self.shift_of > 0
        self.is_duration = self.duration_of >= 0
        self.is_tempo = self.tempo_of > 0
        self.is_signature = self.signature_of[:, 0] > 0
        self.timed = bool(self.is_duration.any())  # notes carry their length: polyphony can be counted
        self.pad, self.bos, self.eos = vocab["PAD_None"], vocab["BOS_None"], vocab["EOS_None"]
        self.program_type = index.get("Program", -1)
        return index

    def _read_values(self, vocab: dict[str, int], index: dict[str, int]) -> Tensor:
        """The value tables (``_VALUE_TABLES``, on the CPU) of every token id; returns each id's type."""
        size = len(vocab)
        kind = torch.zeros(size, dtype=torch.long)
        self.program_of = torch.full((size,), -1, dtype=torch.long)  # 0-127, 128 for drums
        self.position_of = torch.full((size,), -1, dtype=torch.long)
        self.pitch_of = torch.full((size,), -1, dtype=torch.long)
        self.shift_of = torch.zeros(size, dtype=torch.float64)  # TimeShift: beats
        self.duration_of = torch.full((size,), -1.0, dtype=torch.float64)  # Duration: beats
        self.tempo_of = torch.zeros(size, dtype=torch.float64)  # Tempo: qpm
        self.signature_of = torch.zeros(size, 2, dtype=torch.float64)  # TimeSig: numerator, denominator
        for token, i in vocab.items():
            name, _, value = token.partition("_")
            kind[i] = index[name]
            if name == "Program":
                self.program_of[i] = DRUMS if int(value) < 0 else int(value) % 128
            elif name == "Position":
                self.position_of[i] = int(value)
            elif name in _STARTS:
                self.pitch_of[i] = int(value) % 128
            elif name == "TimeShift":
                self.shift_of[i] = _beats(value)
            elif name == "Duration":
                self.duration_of[i] = _beats(value)
            elif name == "Tempo":
                self.tempo_of[i] = float(value)
            elif name == "TimeSig":
                num, den = value.split("/")
                self.signature_of[i] = torch.tensor([float(num), float(den)])
        return kind

    def _start_state(
        self,
        index: dict[str, int],
        b: int,
        instruments: tuple[int, ...],
        max_instruments: int | Tensor,
        max_polyphony: int,
        max_note_seconds: float,
    ) -> None:
        """The per-sequence state before any token."""
        self.allowed_instruments = torch.ones(N_INSTRUMENTS, dtype=torch.bool, device=self.device)
        if instruments:
            self.allowed_instruments[:] = False
            self.allowed_instruments[list(instruments)] = True
        self.rows = torch.arange(b, device=self.device)
        self.budget = torch.as_tensor(max_instruments, device=self.device).long().expand(b)  # 0: no limit
        self.last = torch.full((b,), index["BOS"], dtype=torch.long, device=self.device)  # previous type
        self.program = torch.full((b,), -1, dtype=torch.long, device=self.device)
        self.position = torch.full((b,), -1, dtype=torch.long, device=self.device)
        self.used = torch.zeros(b, N_INSTRUMENTS, dtype=torch.bool, device=self.device)
        self.done = torch.zeros(b, dtype=torch.bool, device=self.device)
        self.max_polyphony = int(max_polyphony)
        self.max_note_seconds = float(max_note_seconds)
        f64 = dict(dtype=torch.float64, device=self.device)
        self.now = torch.zeros(b, **f64)  # beats since the start
        self.bar_start = torch.zeros(b, **f64)
        self.bar_beats = torch.full((b,), 4.0, **f64)
        self.beat_seconds = torch.full((b,), 0.5, **f64)  # 120 bpm, quarter-note beats
        self.quarters_per_beat = torch.ones(b, **f64)
        self.bars = torch.zeros(b, dtype=torch.long, device=self.device)
        self.ends = torch.full((b, _SLOTS), -1.0, **f64)  # when each tracked note ends (beats)
        self.here = torch.zeros(b, N_INSTRUMENTS, 128, dtype=torch.bool, device=self.device)  # started now
        self.signature_id = torch.full((b,), -1, dtype=torch.long, device=self.device)  # the piece's TimeSig
        self.tempo_id = torch.full((b,), -1, dtype=torch.long, device=self.device)  # and Tempo tokens

    def prime(self, primer: list[int]) -> list[int]:
        """Take in ``primer`` as it is."""
        self.primer = list(primer)
        limit, self.limit.max_seconds = self.limit.max_seconds, None  # the length counts from here
        prime_rows(self, self.primer, len(self.rows), self.device)
        self.limit.max_seconds = limit
        return self.primer

    def finish(self, row: int, body: list[int], inclusive: bool) -> list[int]:
        """The primer (with ``inclusive``) and ``body``: MidiTok's notes carry their length."""
        return (self.primer if inclusive else []) + body

    def _move_to(self, when: Tensor, moving: Tensor) -> None:
        later = moving & (when > self.now + 1e-9)
        self.here[later] = False  # a new time: no pitch has started there yet
        self.now = torch.where(moving, when, self.now)

    def update(self, tokens: Tensor) -> None:
        """Advance every sequence by one token, ``tokens (B,)``."""
        tok = tokens.to(self.device).long()
        live = ~self.done
        program = self.program_of[tok]
        self.program = torch.where(live & (program >= 0), program, self.program)
        # time: a Bar starts the next bar (the first at 0), a Position moves within it, a TimeShift on
        bar = live & self.is_bar[tok]
        self.bar_start = torch.where(bar & (self.bars > 0), self.bar_start + self.bar_beats, self.bar_start)
        self.bars += bar.long()
        self._move_to(self.bar_start, bar)
        position = self.position_of[tok]
        moved = live & (position >= 0)
        self._move_to(self.bar_start + position.double() / self.positions_per_beat, moved)
        self.position = torch.where(moved, position, self.position)
        self.position = torch.where(bar, -1, self.position)
        shift = live & self.is_shift[tok]
        self._move_to(self.now + self.shift_of[tok], shift)
        signature = live & self.is_signature[tok]
        num, den = self.signature_of[tok, 0], self.signature_of[tok, 1].clamp(min=1)
        self.bar_beats = torch.where(signature, num, self.bar_beats)
        quarters = 4.0 / den
        rescaled = self.beat_seconds / self.quarters_per_beat * quarters
        self.beat_seconds = torch.where(signature, rescaled, self.beat_seconds)
        self.quarters_per_beat = torch.where(signature, quarters, self.quarters_per_beat)
        self.signature_id = torch.where(signature & (self.signature_id < 0), tok, self.signature_id)
        tempo = live & self.is_tempo[tok]
        self.tempo_id = torch.where(tempo & (self.tempo_id < 0), tok, self.tempo_id)
        self.beat_seconds = torch.where(
            tempo, 60.0 / self.tempo_of[tok].clamp(min=1e-3) * self.quarters_per_beat, self.beat_seconds
        )
        # notes: a start takes a slot (open until its Duration), a Duration closes the open one
        starts = live & self.starts_note[tok] & (self.program >= 0)
        r = self.rows[starts]
        self.used[r, self.program[starts]] = True
        self.here[r, self.program[starts], self.pitch_of[tok][starts]] = True
        if self.timed:
            free = self.ends[r].argmin(dim=1)  # the slot of the note that ended first (or never began)
            self.ends[r, free] = _OPEN
        closes = live & self.is_duration[tok] & (self.ends.amax(dim=1) >= _OPEN)
        r = self.rows[closes]
        open_slot = self.ends[r].argmax(dim=1)
        self.ends[r, open_slot] = self.now[closes] + self.duration_of[tok][closes]
        self.last = torch.where(live, self.kind[tok], self.last)
        self.done |= tok == self.eos
        if self.limit.max_seconds is not None:
            self.limit.check(tok, self.done)

    def allowed(self) -> Tensor:
        """Boolean ``(B, V)``: True where the token may come next."""
        ok = self.follows[self.last].clone()  # (B, V)
        ok[:, [self.pad, self.bos, self.eos]] = False
        may_play = self.may_play()  # (B, I)
        program_ok = may_play[:, self.program_of.clamp(min=0)]  # (B, V)
        ok &= ~self.is_program[None, :] | program_ok
        after_program = (self.last == self.program_type)[:, None]
        drums = (self.program == DRUMS)[:, None]
        ok &= ~(after_program & drums & self.pitched_note[None, :])
        ok &= ~(after_program & ~drums & self.drum_note[None, :])
        no_program = (self.program < 0)[:, None]  # a note before any Program would fall to program 0
        ok &= ~(no_program & (self.drum_note | self.pitched_note)[None, :])
        ok &= ~self.is_position[None, :] | (self.position_of[None, :] > self.position[:, None])
        ids = torch.arange(ok.shape[1], device=self.device)
        for is_kind, chosen in ((self.is_signature, self.signature_id), (self.is_tempo, self.tempo_id)):
            ok &= ~(is_kind[None, :] & (chosen[:, None] >= 0) & (ids[None, :] != chosen[:, None]))
        # polyphony: where a move in time would land, and now, fewer than max_polyphony notes sound
        target = torch.where(
            self.is_position[None, :],
            self.bar_start[:, None] + self.position_of[None, :].double() / self.positions_per_beat,
            self.now[:, None] + self.shift_of[None, :],
        )  # (B, V): the time each token moves to (``now`` for the tokens that do not move)
        moves = self.is_position | self.is_shift
        sounding_then = (self.ends[:, None, :] > target[:, :, None] + 1e-9).sum(dim=2)  # (B, V)
        ok &= ~moves[None, :] | (sounding_then < self.max_polyphony)
        full_now = (self.ends > self.now[:, None] + 1e-9).sum(dim=1) >= self.max_polyphony  # (B,)
        ok &= ~(full_now[:, None] & (self.is_program | self.starts_note)[None, :])
        repeated = self.here[self.rows, self.program.clamp(min=0)]  # (B, 128): pitches started now
        ok &= ~(self.starts_note[None, :] & repeated[:, self.pitch_of.clamp(min=0)])
        longest = self.max_note_seconds / self.beat_seconds  # (B,) beats
        ok &= ~self.is_duration[None, :] | (self.duration_of[None, :] <= longest[:, None] + 1e-9)
        stuck = ~ok.any(dim=1)
        ok[:, self.eos] |= stuck
        ok[self.done] = False
        ok[self.done, self.pad] = True
        return ok

    def structural(self) -> Tensor:
        return torch.zeros_like(self.done)  # MidiTok's tokens carry no part structure to choose

    def composed(self, unit: str) -> Tensor | None:
        return None  # the sampler measures decoded tokens

    def bias(self) -> Tensor | None:
        return None  # nothing is guided

    def note_tokens(self) -> Tensor:
        """``(V,)``: the tokens that start a note (``Pitch``, ``PitchDrum``, ``NoteOn``, ``DrumOn``)."""
        return self.starts_note
