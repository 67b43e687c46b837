"""The studio's work, with no web in it: compose, generate (with a primer) and regenerate bars with one
loaded model, each take written to its own folder and kept in a history while the studio runs.

Every step calls the library the command line calls: :func:`overworld.generation.compose.compose` and
``write_composition`` (compose), :func:`overworld.generation.pieces.compose_pieces` (generate) and
:func:`overworld.generation.infill.infill` (regenerate bars)."""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from overworld.config import SampleConfig
from overworld.errors import ConfigError
from overworld.studio.takes import Take, bar_lines_of, write_free_piece, zip_folder

__all__ = ["Progress", "Studio"]

log = logging.getLogger(__name__)

Progress = Callable[[str, float | None], None]  # (what is being done, share done 0..1 or None)


def _quiet(step: str, share: float | None) -> None:
    pass


class Studio:
    """One model and the takes made with it. ``workdir``: where each take's folder goes."""

    def __init__(self, model: Any, workdir: str | Path, *, model_name: str = "", sample_rate: int = 44100,
                 synth: str = "chiptune") -> None:  # fmt: skip
        self.model, self.model_name = model, model_name
        self.workdir = Path(workdir)
        self.sample_rate, self.synth = sample_rate, synth
        self.takes: dict[int, Take] = {}
        self._lock = threading.Lock()

    @property
    def can_bars(self) -> bool:
        """Whether the model writes bars: compose and regenerating bars need one."""
        return bool(getattr(self.model.tokenizer, "can_infill", False))

    @property
    def limitation(self) -> str:
        """One line for the page when the model cannot compose or regenerate bars, else empty."""
        if self.can_bars:
            return ""
        kind = getattr(self.model.tokenizer, "name", "other")
        return (f"This model uses {kind} tokens: it can generate by seconds, but composing by bars and "
                f"regenerating bars need a bar-token model (start the studio with --model DIR of one).")  # fmt: skip

    def require_bars(self, what: str) -> None:
        if not self.can_bars:
            kind = getattr(self.model.tokenizer, "name", "other")
            raise ConfigError(f"{what} needs a bar-token model; this one uses {kind} tokens")

    def sampling(self, changes: dict[str, Any], base: SampleConfig | None = None) -> SampleConfig:
        """``base`` (default: the model's recommended settings) with the page's changes, checked."""
        return dataclasses.replace(base or getattr(self.model, "sampling", None) or SampleConfig(), **changes)

    def take(self, take_id: int) -> Take:
        if take_id not in self.takes:
            raise ConfigError(f"there is no take {take_id}")
        return self.takes[take_id]

    def _new(self, **fields: Any) -> Take:
        with self._lock:
            take_id = max(self.takes, default=0) + 1
            folder = self.workdir / f"take-{take_id}"
        return Take(id=take_id, folder=folder, **fields)

    def _keep(self, take: Take) -> Take:
        with self._lock:
            self.takes[take.id] = take
        log.info("take %d: %s", take.id, take.label)
        return take

    def compose(
        self, config: Any, sampling: SampleConfig, seed: int, progress: Progress = _quiet
    ) -> list[Take]:
        """Compose one piece (a take per intensity level) with ``config`` (a ComposeConfig)."""
        from overworld.export import write_composition
        from overworld.generation.compose import compose

        self.require_bars("composing")
        shares = {"body": 0.1, "loop": 0.5, "frame": 0.7}
        pieces = compose(self.model, config, seed=seed, sampling=sampling,
                         progress=lambda step: progress(f"composing: {step}", shares.get(step)))  # fmt: skip
        out = []
        for piece in pieces:
            level = "" if piece.intensity is None else f", intensity {piece.intensity:g}"
            loop = ", loop" if piece.loop else ""
            take = self._new(label=f"composed {piece.bars} bars in {piece.key} at {piece.bpm:g} bpm{loop}{level}",
                             score=piece.score, bar_lines=tuple(i * piece.bar_seconds for i in range(piece.bars + 1)),
                             composition=piece, config=config, sampling=piece.sampling, seed=seed)  # fmt: skip
            progress("rendering the mix" + (" and stems" if config.stems else ""), 0.8)
            write_composition(piece, take.folder, config, model_name=self.model_name)
            out.append(self._keep(take))
        return out

    def generate(self, sampling: SampleConfig, *, bars: int | None, seconds: float | None, seed: int,
                 primer: Path | None = None, primer_seconds: float | None = None, stems: bool = False,
                 progress: Progress = _quiet) -> Take:  # fmt: skip
        """Generate one piece, continuing ``primer`` (a MIDI or module file) when given."""
        from overworld.generation.pieces import Primer, compose_pieces, read_primer, settings_for

        ids, primer_score = read_primer(Primer(file=str(primer), seconds=primer_seconds) if primer else None,
                                        self.model.tokenizer, seed)  # fmt: skip
        config = settings_for(sampling, {}, primer_score)
        unit = "bars" if bars is not None else "s"
        piece = compose_pieces(self.model, config, primer_ids=ids, bars=bars, seconds=seconds, seed=seed,
                               progress=lambda done, total: progress(f"generating {done:.0f}/{total:.0f} {unit}",
                                                                     done / total if total else None))[0]  # fmt: skip
        score = piece.score if not self.can_bars else piece.score.to("tick")
        what = f"{bars} bars" if bars is not None else f"{seconds:g} s"
        take = self._new(label=f"generated {what}" + (f" after {primer.name}" if primer else ""), score=score,
                         bar_lines=bar_lines_of(score, self.model.tokenizer), composition=None, config=None,
                         sampling=config, seed=seed)  # fmt: skip
        progress("rendering the mix", 0.85)
        write_free_piece(score, take.folder, sampling=config, seed=seed, model_name=self.model_name, stems=stems,
                         sample_rate=self.sample_rate, synth=self.synth)  # fmt: skip
        return self._keep(take)

    def regenerate(self, take_id: int, span: tuple[int, int], *, instruments: tuple[int, ...] = (),
                   changes: dict[str, Any] | None = None, seed: int = 0, progress: Progress = _quiet) -> Take:  # fmt: skip
        """A new take: take ``take_id`` with bars ``span`` (first, last from 1) regenerated, every note
        outside them kept (:func:`overworld.generation.infill.infill`)."""
        from overworld.export import write_composition
        from overworld.generation.infill import infill

        self.require_bars("regenerating bars")
        old = self.take(take_id)
        sampling = self.sampling(dict(changes or {}), old.sampling)
        new = infill(self.model, old.score, span, instruments=instruments, config=sampling, seed=seed,
                     progress=lambda done, total: progress("regenerating bars", done / total if total else None),
                     piece_bars=len(old.bar_lines) - 1)[0]  # fmt: skip
        label = f"take {old.id} with bars {span[0]}-{span[1]} regenerated"
        piece = dataclasses.replace(old.composition, score=new.score) if old.composition is not None else None
        take = self._new(label=label, score=new.score, bar_lines=old.bar_lines, composition=piece,
                         config=old.config, sampling=sampling, seed=seed, parent=old.id)  # fmt: skip
        progress("rendering the mix", 0.85)
        if piece is not None:
            write_composition(piece, take.folder, old.config, model_name=self.model_name)
        else:
            stems = (old.folder / "stems").is_dir()
            write_free_piece(new.score, take.folder, sampling=sampling, seed=seed, model_name=self.model_name,
                             stems=stems, sample_rate=self.sample_rate, synth=self.synth)  # fmt: skip
        return self._keep(take)

    def roll(self, take_id: int) -> str:
        """The take's piano roll as SVG, its bars selectable."""
        from overworld.studio.roll import roll_svg

        take = self.take(take_id)
        return roll_svg(take.score, take.bar_lines)

    def zip(self, take_id: int) -> bytes:
        """piece.mid, the mix, stems and piece.json of the take, zipped."""
        return zip_folder(self.take(take_id).folder, f"overworld-take-{take_id}")
