"""Game-ready music: exactly N bars at a tempo, metre and key, a form, a seamless loop, calm and intense
versions, and a console's line-up (its instruments and polyphony: :mod:`overworld.generation.consoles`).

:func:`compose` returns :class:`Composition` objects (the score in ticks at the exact tempo, its bars,
sections and loop points); :mod:`overworld.export` renders and writes them. The steps, each seeded:

1. the body: with a form (``AABA`` of ``section_bars`` bars) each new letter's section continues the music
   before it (the bar model samples ``section_bars`` bars after it), a letter that comes back copies its
   first section, and ``variation`` of each repeat's bars (its last ones) are infilled between the music
   before and after them; without a form, ``bars`` bars in one go;
2. ``loop``: the last ``loop_bars`` bars and bar 1 are infilled as one gap across the loop point
   (:func:`overworld.generation.loop.close_loop`); with a form, the later sections of the first section's
   letter start with the new bar 1 too;
3. an intro infilled before the body (it leads into it) and an ending sampled after it, outside the loop;
4. intensity: the body is composed under the highest intensity's budgets
   (:mod:`overworld.generation.intensity`), and each calmer version keeps its layers of the same notes.

Pitched notes keep to the key by the bar grammar's key mask (drums untouched), the metre by its time
signature mask; the score is written at the exact tempo asked (the bar tokens' tempo bins are rounded).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from overworld.config import MAX_SEED, SYNTH_NAMES, SampleConfig
from overworld.config.fields import check_ranges, control
from overworld.errors import ConfigError
from overworld.generation.arrangement import Arrangement
from overworld.generation.consoles import LINEUPS, lineup
from overworld.generation.form import FORMS, parse_form, sections
from overworld.generation.intensity import Intensity, with_intensity
from overworld.theory import TICKS_PER_QUARTER, Metred, bar_metre
from overworld.tokenizers.abilities import bars_of

__all__ = ["KEYS", "MAX_BARS", "SETS", "ComposeConfig", "Composition", "compose"]

log = logging.getLogger(__name__)

INTENSITY_INSTRUMENTS = 4  # a drawn plan for intensity levels has at least these: calm keeps 3 at most
MAX_BARS = 128  # bars of one piece (intro, body and ending): a 16-bar loop takes seconds on a laptop CPU
TPQ = TICKS_PER_QUARTER  # the bar tokenizer decodes at 480 ticks a quarter
# the keys --key auto draws from: the common keys of game music
KEYS = (
    "C major",
    "G major",
    "D major",
    "F major",
    "A minor",
    "E minor",
    "D minor",
    "C minor",
    "G minor",
    "D dorian",
    "A dorian",
    "G mixolydian",
)
AUDIO_FORMATS = ("ogg", "wav", "flac")
# the sampling settings compose sets from its own config (base_settings): not sampling flags of compose
SETS = ("key", "time_signature", "bpm")
_BARS = f"between 1 and {MAX_BARS} bars in all (intro, body and ending), the most composed in about a minute on a CPU"
_FORMATS = f"some of {', '.join(AUDIO_FORMATS)}"


_LOOP = (
    "regenerate the last bars and bar 1 so the end leads into the start and write a seamless loop (markers, "
    "OGG comments, tails folded onto the start)"
)
_FORM = (
    f"sections as letters (AABA) or one of {', '.join(FORMS)}; a letter that comes back repeats its section"
)
_INTENSITY = (
    "0 (calm) to 1 (intense), or several like 0.2,0.8: versions sharing their structure, the intense one "
    "adding layers"
)
_LIKE = (
    "a MIDI file or module: new music with its form and arrangement (which instruments play in each bar, which "
    "parts repeat), the notes the model's own"
)


_PLANNED = "a plan drawn from the model's training pieces, where it has plans.json"


def _consoles() -> dict[str, str]:
    return {name: c.description for name, c in LINEUPS.items()}


def _synths() -> dict[str, str]:
    return dict.fromkeys(SYNTH_NAMES, "")


@dataclass(frozen=True)
class ComposeConfig(Metred):
    """What to compose and how to write it. ``bars`` None: the form's length (``form`` x ``section_bars``),
    else 16. ``key`` ``"auto"``: one of :data:`KEYS`, drawn from the seed. ``intensity`` empty: the model's
    own budgets; several levels: versions sharing their structure."""

    bars: int | None = control(
        None,
        f"bars of the body (the loop), 1-{MAX_BARS} with intro and ending",
        default_text="the form's length, else 16",
    )
    bpm: float = control(
        120.0, "tempo in quarter notes a minute", low=20, high=400, what="a tempo between 20 and 400 bpm"
    )
    time_signature: str = control("4/4", "the metre: 4/4, 3/4, 6/8...")
    key: str = control(
        "auto",
        "'D minor', 'F# dorian', 'C mixolydian', 'Bb' (major) or auto: one drawn from the seed and "
        "printed; drums are untouched",
    )
    loop: bool = control(False, _LOOP)
    loop_bars: int = control(
        2, "bars before the loop point infilled, with bar 1, to close the loop", low=1, high=8
    )
    form: str = control("", _FORM, default_text="none")
    section_bars: int = control(4, "bars of each section of --form", low=1, high=32)
    variation: float = control(
        0.0,
        "share 0..1 of each repeated section's bars regenerated by infilling",
        low=0,
        high=1,
        step=0.05,
        what="between 0 (exact repeats) and 1 (all new)",
    )
    intro: int = control(0, "bars of intro before the loop", low=0, high=16, what="between 0 and 16 bars")
    ending: int = control(0, "bars of ending after the loop", low=0, high=16, what="between 0 and 16 bars")
    intensity: tuple[float, ...] = control(
        (), _INTENSITY, parse="levels", default_text="the model's own budgets"
    )
    console: str = control(
        "",
        "that machine's instruments and voices, played by the chiptune synth",
        choices=_consoles,
        default_text="none",
    )
    # a MIDI file or module whose arrangement plan (parts per bar, repeats) the piece follows
    like: str = control("", _LIKE, metavar="FILE", studio=False, default_text=_PLANNED)
    stems: bool = control(False, "also one audio file per instrument and drum kit")
    synth: str = control(
        "chiptune", "chiptune (built in) or soundfont (FluidSynth)", choices=_synths, studio=False
    )
    soundfont: str = control("", "--synth soundfont: the SoundFont", metavar="SF2", studio=False)
    sample_rate: int = control(
        44100,
        "audio sample rate in Hz",
        low=8000,
        high=192000,
        what="between 8000 and 192000 Hz",
        studio=False,
    )
    # the CLI's --format gives these with the module formats, the studio writes ogg
    formats: tuple[str, ...] = control(("ogg",), "audio formats", cli=False, studio=False)

    def __post_init__(self) -> None:
        from overworld.theory import parse_key

        if self.key != "auto":
            parse_key(self.key)
        bar_metre(self.time_signature)
        form = parse_form(self.form) if self.form else ""
        if form and self.bars is not None and self.bars != len(form) * self.section_bars:
            raise ConfigError(
                f"form {form} of {self.section_bars}-bar sections is {len(form) * self.section_bars} "
                f"bars, not --bars {self.bars}; leave out --bars or change --section-bars"
            )
        for level in self.intensity:
            Intensity(level)
        if self.console:
            lineup(self.console)
        if self.like and not Path(self.like).is_file():
            raise ConfigError(f"--like {self.like}: no such file")
        check_ranges(self, prefix="")
        checks = (
            ("bars", 1 <= self.total_bars <= MAX_BARS and (self.bars is None or self.bars >= 1), _BARS),
            ("intensity", len(self.intensity) <= 4, "at most 4 levels"),
            ("synth", self.synth in SYNTH_NAMES, f"one of {', '.join(SYNTH_NAMES)}"),
            ("console", not (self.console and self.synth != "chiptune"), "played by the chiptune synth"),
            ("formats", bool(self.formats) and set(self.formats) <= set(AUDIO_FORMATS), _FORMATS),
        )
        for name, ok, what in checks:
            if not ok:
                raise ConfigError(f"{name} must be {what}, not {getattr(self, name)!r}")

    @property
    def letters(self) -> str:
        return parse_form(self.form) if self.form else "A"

    @property
    def body_bars(self) -> int:
        """Bars of the body (the loop): ``bars``, else the form's length, else 16."""
        if self.bars is not None:
            return self.bars
        return len(self.letters) * self.section_bars if self.form else 16

    @property
    def total_bars(self) -> int:
        return self.intro + self.body_bars + self.ending


@dataclass(frozen=True)
class Composition(Metred):
    """One composed version: the score (ticks, one exact tempo and metre), its bars and where its parts
    and loop lie (bars 0-based, ends excluded), its key, intensity and seed."""

    score: Any
    bpm: float
    time_signature: str
    key: str
    bars: int
    body: tuple[int, int]
    sections: tuple[tuple[str, int, int], ...]
    loop: tuple[int, int] | None
    intensity: float | None
    seed: int
    sampling: SampleConfig

    def sample(self, bar: int, sample_rate: int) -> int:
        """The sample where bar ``bar`` (0-based) starts."""
        return round(bar * self.bar_seconds * sample_rate)


def resolve_key(key: str, seed: int) -> str:
    """``key``, or for ``"auto"`` one of :data:`KEYS` drawn from ``seed``."""
    return KEYS[int(np.random.default_rng(seed).integers(len(KEYS)))] if key == "auto" else key


def base_settings(model: Any, config: ComposeConfig, key: str, sampling: SampleConfig | None) -> SampleConfig:
    """The sampling settings of every step: the model's (or ``sampling``) with the key, metre and tempo,
    and a console's line-up and polyphony."""
    base = sampling or getattr(model, "sampling", None) or SampleConfig()
    changes: dict[str, Any] = {"key": key, "time_signature": config.time_signature, "bpm": config.bpm}
    if config.console:
        machine = lineup(config.console)
        budget = base.max_instruments
        high = budget[1] if isinstance(budget, tuple) else budget
        changes.update(
            instruments=machine.instruments,
            max_polyphony=min(base.max_polyphony, machine.polyphony),
            max_instruments=min(high or 129, len(machine.instruments)),
        )
    return dataclasses.replace(base, **changes)


class _Composer:
    """The steps of :func:`compose`, sharing the model, settings, metre and seed."""

    def __init__(
        self, model: Any, settings: SampleConfig, config: ComposeConfig, seed: int, plan: Any = None
    ) -> None:
        self.model, self.settings, self.config, self.seed = model, settings, config, seed
        num, den = config.metre
        self.bar = config.bar_ticks
        self.metre = (config.bpm, num, den)
        self.steps = 0
        self.plan = plan  # the whole piece's arrangement plan (bar 0: the intro's first), or None

    def _seed(self) -> int:
        self.steps += 1
        return (self.seed * 1009 + self.steps) % (MAX_SEED + 1)  # a seed of every step, in numpy's range

    def continue_from(self, piece: Arrangement, at_bar: int, bars: int, plan_bar: int) -> Arrangement:
        """``bars`` new bars after the first ``at_bar`` bars of ``piece``, as an arrangement from tick 0,
        following the piece's plan from its bar ``plan_bar`` (0-based, the intro's first)."""
        from overworld.generation.sampler import generate

        tokenizer = bars_of(self.model.tokenizer, "compose")
        primer: list[int] = []
        if at_bar and piece.count():
            ids = np.asarray(tokenizer.encode(piece.closed(at_bar).score(*self.metre)), dtype=np.int64)
            budget = self.model.model.config.sequence_length // 2
            starts = tokenizer.bar_starts(ids)
            first = next((b for b in range(len(starts)) if len(ids) - starts[b] <= budget), len(starts) - 1)
            primer = tokenizer.tail(ids, first)
        plans = None if self.plan is None else [self.plan.segment(plan_bar, bars)]
        ids = generate(
            self.model, config=self.settings, primer_ids=primer, bars=bars, seed=self._seed(), plans=plans
        )[0]
        return Arrangement.from_score(tokenizer.decode(ids), self.bar)

    def infill(self, piece: Arrangement, first: int, last: int) -> Arrangement:
        """``piece`` with bars ``first``-``last`` (1-based, inclusive) infilled from both sides."""
        from overworld.generation.infill import infill

        instruments = tuple(sorted(piece.notes))
        lines = max(int(a[:, 0].max()) for a in piece.notes.values()) // self.bar + 1 if instruments else 0
        if not instruments or lines < last:  # nothing there to rewrite or to lead into
            return piece
        take = infill(
            self.model,
            piece.score(*self.metre),
            (first, last),
            instruments=instruments,
            config=self.settings,
            seed=self._seed(),
        )[0]
        return Arrangement.from_score(take.score, self.bar)

    def body(self) -> tuple[Arrangement, list[tuple[str, int, int]]]:
        """The body and its sections (see the module docstring)."""
        cfg = self.config
        size = cfg.section_bars if cfg.form else cfg.body_bars
        parts = sections(cfg.letters, size)
        piece, first_of = Arrangement(TPQ, self.bar), {}
        for letter, start, end in parts:
            if letter in first_of:
                piece = piece.place(piece.bars(first_of[letter], first_of[letter] + size), start)
            else:
                first_of[letter] = start
                piece = piece.place(self.continue_from(piece, start, end - start, cfg.intro + start), start)
        changed = round(cfg.variation * size)
        for letter, start, end in parts:
            if changed and first_of[letter] != start:
                piece = self.infill(piece, end - changed + 1, end)
        return piece.closed(cfg.body_bars), parts

    def frame(self, body: Arrangement) -> Arrangement:
        """The body with its intro (infilled before it) and ending (sampled after it)."""
        cfg = self.config
        piece = Arrangement(TPQ, self.bar).place(body, cfg.intro)
        if cfg.intro:
            piece = self.infill(piece, 1, cfg.intro)
        if cfg.ending:
            end = cfg.intro + cfg.body_bars
            piece = piece.place(self.continue_from(piece, end, cfg.ending, end), end)
        return piece.closed(cfg.total_bars)


def _source_plan(model: Any, settings: SampleConfig, config: ComposeConfig, seed: int) -> Any:
    """The arrangement plan the piece follows (:mod:`overworld.generation.plans`): ``config.like``'s, else
    one drawn from the model's when its settings ask for one; None otherwise."""
    from overworld.generation.plans import draw_plans, like_plan, read_plans

    if config.like:
        return like_plan(model, config.like, config.total_bars, settings.instruments)
    if not settings.plan:
        return None
    layered = INTENSITY_INSTRUMENTS if config.intensity else 0  # so a calm level has fewer layers
    return draw_plans(read_plans(model), 1, config.total_bars, seed, settings.instruments, layered)[0]


def _calmer(piece: Arrangement, level: Intensity, source: Intensity) -> Arrangement:
    """The layers of ``piece`` that ``level`` keeps (the busiest instruments, no drums below its drum
    level), its velocities moved into ``level``'s window."""
    from overworld.midi.gm import DRUMS

    ranked = sorted(piece.notes, key=lambda i: (i == DRUMS, -len(piece.notes[i]), i))
    kept = [i for i in ranked if i != DRUMS or level.drums][: level.instruments]
    out = piece.only(set(kept))
    for inst, a in out.notes.items():
        a = a.copy()
        a[:, 3] = level.velocity(a[:, 3], source)
        out.notes[inst] = a
    return out


def _reopened(body: Arrangement, parts: list[tuple[str, int, int]], config: ComposeConfig) -> Arrangement:
    """``body`` with every later section of the first section's letter starting with its bar 1 again, as
    the loop rewrote it: where the repeat's first bar was a copy (``variation`` left it) and lies before
    the bars the loop rewrote."""
    size = config.section_bars
    if not parts or round(config.variation * size) >= size:
        return body
    opening, letter, end = body.bars(0, 1), parts[0][0], config.body_bars
    for c, start, _ in parts[1:]:
        if c == letter and start < end - config.loop_bars:
            body = body.bars(0, start).place(opening, start).place(body.bars(start + 1, end), start + 1)
    return body


def _versions(
    composer: _Composer,
    piece: Arrangement,
    parts: list[tuple[str, int, int]],
    key: str,
    top: Intensity | None,
) -> list[Composition]:
    """One :class:`Composition` of ``piece`` per intensity level of the config (the calmer ones keep
    fewer of its layers), sharing its bars, sections and loop."""
    config = composer.config
    start, end = config.intro, config.intro + config.body_bars
    shared = dict(
        bpm=config.bpm,
        time_signature=config.time_signature,
        key=key,
        bars=config.total_bars,
        body=(start, end),
        sections=tuple((c, s + start, e + start) for c, s, e in parts),
        loop=(start, end) if config.loop else None,
        seed=composer.seed,
        sampling=composer.settings,
    )
    out = []
    for level in tuple(config.intensity) or (None,):
        version = piece if top is None or level == top.level else _calmer(piece, Intensity(level), top)
        out.append(Composition(score=version.score(*composer.metre), intensity=level, **shared))
    return out


def compose(
    model: Any,
    config: ComposeConfig,
    *,
    seed: int = 0,
    sampling: SampleConfig | None = None,
    progress: Callable[[str], None] | None = None,
) -> list[Composition]:
    """Compose one piece (one :class:`Composition` per intensity level, sharing its structure) with a
    bar-token model (what :func:`~overworld.models.load_model` returns). ``sampling``: the settings to
    start from (default: the model's). Raises :class:`ConfigError` for a model that cannot write bars."""
    bars_of(model.tokenizer, "compose")  # bars and infilling: a one-line ConfigError before any work
    say = progress or (lambda step: None)
    key = resolve_key(config.key, seed)
    settings = base_settings(model, config, key, sampling)
    levels = tuple(config.intensity)
    top = Intensity(max(levels)) if levels else None
    plan = _source_plan(model, settings, config, seed)
    if (
        top is not None and plan is not None
    ):  # the plan's layers at that intensity, its velocities and texture
        plan = plan.layers(top.instruments, top.drums)
        model, settings = with_intensity(model, top, planned=True), top.texture(settings)
    elif top is not None:
        model, settings = with_intensity(model, top), top.settings(settings)
    composer = _Composer(model, settings, config, seed, plan)
    say("body")
    body, parts = composer.body()
    if config.loop:
        from overworld.generation.loop import close_loop

        say("loop")
        body = close_loop(
            composer.model,
            body,
            config.body_bars,
            config.loop_bars,
            config=settings,
            metre=composer.metre,
            seed=composer._seed(),
        )
        body = _reopened(body, parts, config)
    say("frame")
    out = _versions(composer, composer.frame(body), parts, key, top)
    log.info("composed %d bars in %s (seed %d)", config.total_bars, key, seed)
    return out
