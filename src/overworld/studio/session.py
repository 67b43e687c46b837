"""The studio's work, with no web in it: compose, generate (with a primer) and regenerate bars with one
loaded model, each take written to its own folder of the work folder (:class:`~overworld.studio.store.TakeStore`),
where a restart with the same folder finds them again.

Every step calls the library the command line calls: :func:`overworld.generation.compose.compose` and
:func:`overworld.export.write_composition` (compose), :func:`overworld.generation.pieces.compose_pieces`
(generate) and :func:`overworld.generation.infill.infill` (regenerate bars)."""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from overworld.config import SampleConfig
from overworld.studio.store import TakeStore
from overworld.studio.takes import Take, bar_lines_of, write_free_piece, zip_folder
from overworld.tokenizers.abilities import bars_of, has_bars

__all__ = ["Progress", "Studio"]

log = logging.getLogger(__name__)

Progress = Callable[[str, float | None], None]  # (what is being done, share done 0..1 or None)


def _quiet(step: str, share: float | None) -> None:
    pass


def _key_and_bpm(folder: Path) -> tuple[str | None, float | None]:
    info = json.loads((folder / "piece.json").read_text(encoding="utf-8"))
    return info.get("key"), info.get("bpm")


class Studio:
    """One model and the takes made with it. ``workdir``: the work folder, where each take's folder goes
    (the takes already there are the history)."""

    def __init__(
        self,
        model: Any,
        workdir: str | Path,
        *,
        model_name: str = "",
        sample_rate: int = 44100,
        synth: str = "chiptune",
    ) -> None:
        self.model, self.model_name = model, model_name
        self.workdir = Path(workdir)
        self.sample_rate, self.synth = sample_rate, synth
        self.store = TakeStore(self.workdir)

    @property
    def can_bars(self) -> bool:
        """Whether the model writes bars: compose and regenerating bars need one."""
        return has_bars(self.model.tokenizer)

    @property
    def limitation(self) -> str:
        """One line for the page when the model cannot compose or regenerate bars, else empty."""
        if self.can_bars:
            return ""
        kind = getattr(self.model.tokenizer, "name", "other")
        return (
            f"This model uses {kind} tokens: it can generate by seconds, but composing by bars and "
            f"regenerating bars need a bar-token model (start the studio with --model DIR of one)."
        )

    def require_bars(self, what: str) -> None:
        bars_of(self.model.tokenizer, what)

    def sampling(self, changes: dict[str, Any], base: SampleConfig | None = None) -> SampleConfig:
        """``base`` (default: the model's recommended settings) with the page's changes, checked."""
        return dataclasses.replace(base or getattr(self.model, "sampling", None) or SampleConfig(), **changes)

    def take(self, take_id: int) -> Take:
        """Take ``take_id`` (a one-line ConfigError when there is none)."""
        return self.store.get(take_id)

    def history(self) -> list[Take]:
        """Every take of the work folder, oldest first."""
        return self.store.takes()

    def _new(self, write: Callable[[Path], None], **fields: Any) -> Take:
        """A take whose files ``write(folder)`` writes, labelled ``fields['label']``: its number is the next
        one, and nothing of it is left when writing fails."""

        def make(take_id: int, partial: Path, folder: Path) -> Take:
            write(partial)
            key, bpm = _key_and_bpm(partial)
            return Take(id=take_id, folder=folder, key=key, bpm=bpm, **fields)

        take = self.store.add(make)
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
        pieces = compose(
            self.model,
            config,
            seed=seed,
            sampling=sampling,
            progress=lambda step: progress(f"composing: {step}", shares.get(step)),
        )
        out = []
        for piece in pieces:
            level = "" if piece.intensity is None else f", intensity {piece.intensity:g}"
            loop = ", loop" if piece.loop else ""
            progress("rendering the mix" + (" and stems" if config.stems else ""), 0.8)
            out.append(
                self._new(
                    lambda folder, piece=piece: write_composition(
                        piece, folder, config, model_name=self.model_name
                    ),
                    label=f"composed {piece.bars} bars in {piece.key} at {piece.bpm:g} bpm{loop}{level}",
                    bar_lines=tuple(i * piece.bar_seconds for i in range(piece.bars + 1)),
                    seconds=piece.bars * piece.bar_seconds,
                    composition=dataclasses.replace(piece, score=None),
                    config=config,
                    sampling=piece.sampling,
                    seed=seed,
                )
            )
        return out

    def generate(
        self,
        sampling: SampleConfig,
        *,
        bars: int | None,
        seconds: float | None,
        seed: int,
        primer: Path | None = None,
        primer_seconds: float | None = None,
        stems: bool = False,
        progress: Progress = _quiet,
    ) -> Take:
        """Generate one piece, continuing ``primer`` (a MIDI or module file) when given."""
        from overworld.generation.pieces import Primer, compose_pieces, read_primer, settings_for

        ids, primer_score = read_primer(
            Primer(file=str(primer), seconds=primer_seconds) if primer else None, self.model.tokenizer, seed
        )
        config = settings_for(sampling, {}, primer_score)
        unit = "bars" if bars is not None else "s"
        piece = compose_pieces(
            self.model,
            config,
            primer_ids=ids,
            bars=bars,
            seconds=seconds,
            seed=seed,
            progress=lambda done, total: progress(
                f"generating {done:.0f}/{total:.0f} {unit}", done / total if total else None
            ),
        )[0]
        from overworld.midi import in_seconds

        score = piece.score if not self.can_bars else piece.score.to("tick")
        what = f"{bars} bars" if bars is not None else f"{seconds:g} s"
        bar_lines = bar_lines_of(score, self.model.tokenizer)
        progress("rendering the mix", 0.85)
        return self._new(
            lambda folder: write_free_piece(
                score,
                folder,
                sampling=config,
                seed=seed,
                model_name=self.model_name,
                stems=stems,
                sample_rate=self.sample_rate,
                synth=self.synth,
            ),
            label=f"generated {what}" + (f" after {primer.name}" if primer else ""),
            bar_lines=bar_lines,
            seconds=bar_lines[-1] if bar_lines else float(in_seconds(score).end()),
            composition=None,
            config=None,
            sampling=config,
            seed=seed,
        )

    def regenerate(
        self,
        take_id: int,
        span: tuple[int, int],
        *,
        instruments: tuple[int, ...] = (),
        changes: dict[str, Any] | None = None,
        seed: int = 0,
        progress: Progress = _quiet,
    ) -> Take:
        """A new take: take ``take_id`` with bars ``span`` (first, last from 1) regenerated, every note
        outside them kept (:func:`overworld.generation.infill.infill`)."""
        from overworld.export import write_composition
        from overworld.generation.infill import infill

        self.require_bars("regenerating bars")
        old = self.take(take_id)
        sampling = self.sampling(dict(changes or {}), old.sampling)
        new = infill(
            self.model,
            old.load_score(),
            span,
            instruments=instruments,
            config=sampling,
            seed=seed,
            progress=lambda done, total: progress("regenerating bars", done / total if total else None),
            piece_bars=old.bars,
        )[0]
        piece = dataclasses.replace(old.composition, score=new.score) if old.composition is not None else None
        stems = (old.folder / "stems").is_dir()

        def write(folder: Path) -> None:
            if piece is not None:
                write_composition(piece, folder, old.config, model_name=self.model_name)
            else:
                write_free_piece(
                    new.score,
                    folder,
                    sampling=sampling,
                    seed=seed,
                    model_name=self.model_name,
                    stems=stems,
                    sample_rate=self.sample_rate,
                    synth=self.synth,
                )

        progress("rendering the mix", 0.85)
        return self._new(
            write,
            label=f"take {old.id} with bars {span[0]}-{span[1]} regenerated",
            bar_lines=old.bar_lines,
            seconds=old.seconds,
            composition=old.composition,
            config=old.config,
            sampling=sampling,
            seed=seed,
            parent=old.id,
        )

    def roll(self, take_id: int) -> str:
        """The take's piano roll as SVG, its bars selectable."""
        from overworld.studio.roll import roll_svg

        take = self.take(take_id)
        return roll_svg(take.load_score(), take.bar_lines)

    def zip(self, take_id: int) -> bytes:
        """piece.mid, the mix, stems and piece.json of the take, zipped."""
        return zip_folder(self.take(take_id).folder, f"overworld-take-{take_id}")
