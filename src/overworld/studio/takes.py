"""Takes: each piece the studio made (composed, generated or with bars regenerated), written to its own
folder as ``overworld compose`` writes one (``piece.mid``, ``mix.ogg``, ``stems/``, ``piece.json``),
with the bar lines its piano roll draws and the zip the page downloads."""

from __future__ import annotations

import dataclasses
import io
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from overworld.config import SampleConfig, config_from_dict, config_to_dict
from overworld.tokenizers.abilities import bars_of, has_bars

__all__ = ["Take", "bar_lines_of", "take_from_record", "write_free_piece", "zip_folder"]


@dataclass(frozen=True)
class Take:
    """One take: its number, what made it, its folder, where its bars start (seconds, the end last; empty
    when the model has no bars), its length, key and tempo, the composition it came from (its settings
    and structure, the score left out: None for a generated piece), the compose settings, the sampling
    settings and seed that made it. The score itself stays on disk (``piece.mid``): :meth:`load_score`."""

    id: int
    label: str
    folder: Path
    bar_lines: tuple[float, ...]
    seconds: float
    key: str | None
    bpm: float | None
    composition: Any
    config: Any
    sampling: SampleConfig
    seed: int
    parent: int | None = None

    @property
    def bars(self) -> int:
        return max(len(self.bar_lines) - 1, 0)

    def load_score(self) -> Any:
        """The take's score in ticks, read from its ``piece.mid`` (exactly the notes it was written with)."""
        from overworld.midi import load_score

        return load_score(self.folder / "piece.mid", ttype="tick")

    def describe(self) -> dict[str, Any]:
        """What the page shows of the take (JSON-ready)."""
        return {
            "id": self.id,
            "label": self.label,
            "seed": self.seed,
            "bars": self.bars,
            "parent": self.parent,
            "seconds": round(self.seconds, 3),
            "key": self.key,
            "bpm": self.bpm,
            "mix": f"/api/takes/{self.id}/mix",
            "roll": f"/api/takes/{self.id}/roll.svg",
            "zip": f"/api/takes/{self.id}/zip",
        }

    def record(self) -> dict[str, Any]:
        """The take as JSON (the studio's ``.take.json``), the folder left out: :func:`take_from_record`."""
        piece = self.composition
        if piece is not None:
            fields = (f.name for f in dataclasses.fields(piece) if f.name not in ("score", "sampling"))
            piece = {
                **{name: getattr(piece, name) for name in fields},
                "sampling": config_to_dict(piece.sampling),
            }
        return {
            "id": self.id,
            "label": self.label,
            "bar_lines": list(self.bar_lines),
            "seconds": self.seconds,
            "key": self.key,
            "bpm": self.bpm,
            "composition": piece,
            "config": None if self.config is None else config_to_dict(self.config),
            "sampling": config_to_dict(self.sampling),
            "seed": self.seed,
            "parent": self.parent,
        }


def take_from_record(data: dict[str, Any], folder: Path) -> Take:
    """The :class:`Take` a :meth:`Take.record` describes, its files in ``folder``."""
    from overworld.generation.compose import ComposeConfig, Composition

    piece = data["composition"]
    if piece is not None:
        piece = Composition(
            score=None,
            bpm=float(piece["bpm"]),
            time_signature=piece["time_signature"],
            key=piece["key"],
            bars=int(piece["bars"]),
            body=tuple(piece["body"]),
            sections=tuple(tuple(s) for s in piece["sections"]),
            loop=tuple(piece["loop"]) if piece["loop"] else None,
            intensity=piece["intensity"],
            seed=int(piece["seed"]),
            sampling=config_from_dict(SampleConfig, piece["sampling"]),
        )
    config = data["config"]
    return Take(
        id=int(data["id"]),
        label=str(data["label"]),
        folder=folder,
        bar_lines=tuple(float(x) for x in data["bar_lines"]),
        seconds=float(data["seconds"]),
        key=data["key"],
        bpm=data["bpm"],
        composition=piece,
        config=None if config is None else config_from_dict(ComposeConfig, config),
        sampling=config_from_dict(SampleConfig, data["sampling"]),
        seed=int(data["seed"]),
        parent=data["parent"],
    )


def bar_lines_of(score: Any, tokenizer: Any) -> tuple[float, ...]:
    """Where the bars of a tick ``score`` start in seconds, with the end of the last one; empty for a
    tokenizer without bars."""
    import symusic

    if not has_bars(tokenizer) or not len(score.tracks):
        return ()
    lines = [int(t) for t in bars_of(tokenizer, "bar lines").bar_ticks(score)]
    step = lines[-1] - lines[-2] if len(lines) > 1 else 4 * score.ticks_per_quarter
    lines.append(lines[-1] + step)
    probe = symusic.Score(score.ticks_per_quarter)  # the tempo map converts the ticks to seconds
    probe.tempos = score.tempos.copy()
    probe.time_signatures = score.time_signatures.copy()
    track = symusic.Track("bars")
    for tick in lines:
        track.notes.append(symusic.Note(tick, 1, 60, 1))
    probe.tracks.append(track)
    return tuple(float(n.time) for n in probe.to("second").tracks[0].notes)


def write_free_piece(
    score: Any,
    folder: Path,
    *,
    sampling: SampleConfig,
    seed: int,
    model_name: str,
    stems: bool,
    sample_rate: int,
    synth: str = "chiptune",
) -> Path:
    """A generated piece (no bars, form or loop of its own) in the layout of a composed one."""
    from overworld.midi import write_score
    from overworld.render.audio import write_audio
    from overworld.render.stems import render_stems

    folder.mkdir(parents=True, exist_ok=True)
    midi = write_score(score, folder / "piece.mid")
    rendered = render_stems(score, synth=synth, sample_rate=sample_rate)
    files: dict[str, Any] = {
        "midi": midi.name,
        "mix": [write_audio(folder / "mix.ogg", rendered.mix, sample_rate).name],
        "stems": {},
    }
    if stems:
        for name, audio in zip(rendered.names, rendered.audio):
            files["stems"][name] = [
                f"stems/{write_audio(folder / 'stems' / f'{name}.ogg', audio, sample_rate).name}"
            ]
    tempo = float(score.tempos[0].qpm) if len(score.tempos) else None
    info = {
        "bpm": tempo,
        "key": sampling.key or None,
        "samples": int(rendered.audio.shape[1]),
        "sample_rate": sample_rate,
        "seed": seed,
        "model": model_name,
        "sampling": config_to_dict(sampling),
        "files": files,
    }
    (folder / "piece.json").write_text(json.dumps(info, indent=1) + "\n", encoding="utf-8")
    return folder


def zip_folder(folder: Path, name: str) -> bytes:
    """Every file of ``folder`` (piece.mid, the mix, stems/, piece.json) in a zip under ``name/``; the
    studio's own dot files (``.take.json``) stay out."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        files = (p for p in folder.rglob("*") if p.is_file() and not p.name.startswith("."))
        for path in sorted(files):
            archive.write(path, f"{name}/{path.relative_to(folder).as_posix()}")
    return buffer.getvalue()
