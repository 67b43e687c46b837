"""The scores that ship inside the music21 package (its corpus), converted to MIDI: by default Bach's
chorales and other works (430 convert) and O'Neill's 1850 collection of Irish dance tunes (1,930 of its
tunes convert; about 80 have repeats music21 cannot expand), a larger free corpus to pre-train on
before the game soundtracks. The compositions are in the public domain; the
encodings come with music21 (BSD-3-Clause), some with their own notes in music21's corpus folder.

Each score is parsed with music21 and written with its own MIDI writer; a score that music21 cannot read
or write is skipped with a one-line warning, and a file already in the folder is kept, so an interrupted
fetch goes on where it stopped.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from overworld.datasets.registry import FetchOptions, Source
from overworld.errors import DataError, one_line

__all__ = ["DEFAULT_COLLECTIONS", "SOURCE"]

log = logging.getLogger(__name__)

DEFAULT_COLLECTIONS = ("bach", "oneills1850")


def _write(score: object, target: Path) -> None:
    tmp = target.with_name(f".{target.name}.tmp")
    try:
        score.write("midi", fp=str(tmp))  # type: ignore[attr-defined]
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def fetch(out: Path, options: FetchOptions) -> list[Path]:
    try:
        from music21 import corpus, stream
    except ImportError as exc:
        raise DataError("the music21 corpus needs the music21 package: pip install music21") from exc
    files: dict[Path, None] = {}  # in order, each once: the corpus lists some works twice (.krn and .mxl)
    for name in options.collections or DEFAULT_COLLECTIONS:
        paths = corpus.getComposer(name)
        if not paths:
            raise DataError(
                f"music21's corpus has no collection {name!r} (try bach, oneills1850, essenFolksong)"
            )
        for path in paths:
            stem = f"{name}-{Path(str(path)).stem}"
            if (out / f"{stem}.mid").exists():  # fetched before
                files[out / f"{stem}.mid"] = None
            elif (out / f"{stem}-0.mid").exists():  # a book of tunes fetched before: stem-0, stem-1, ...
                book = [p for p in out.glob(f"{stem}-*.mid") if p.stem[len(stem) + 1 :].isdigit()]
                files.update(dict.fromkeys(sorted(book, key=lambda p: int(p.stem[len(stem) + 1 :]))))
            else:
                try:
                    parsed = corpus.parse(path)
                    scores = list(parsed.scores) if isinstance(parsed, stream.Opus) else [parsed]
                except Exception as exc:  # music21 raises many kinds on odd encodings; skip that score
                    log.warning("skipping %s: %s", path, one_line(exc))
                    continue
                for j, score in enumerate(scores):
                    if options.limit and len(files) >= options.limit:
                        break  # a book of tunes stops at the limit too
                    target = out / (f"{stem}-{j}.mid" if len(scores) > 1 else f"{stem}.mid")
                    try:
                        _write(score, target)
                    except Exception as exc:
                        log.warning("skipping %s: %s", target.name, one_line(exc))
                        continue
                    files[target] = None
            if options.limit and len(files) >= options.limit:
                return list(files)[: options.limit]
    return list(files)


SOURCE = Source(
    name="music21",
    licence="public-domain compositions; encodings BSD-3-Clause (music21)",
    homepage="https://www.music21.org/music21docs/about/referenceCorpus.html",
    size="2,360 MIDI files (430 Bach works, 1,930 O'Neill tunes), 12 MB, converted in 8 minutes",
    how="the corpus inside the music21 package (pip install music21); --collection to choose others",
    fetch=fetch,
)
