"""The takes of a work folder, kept on disk so the studio's memory stays small and a restart with the
same folder finds them again::

    WORKDIR/take-3/            piece.mid, mix.ogg, stems/, piece.json (what the zip holds)
    WORKDIR/take-3/.take.json  the studio's record of the take (label, seed, bars, settings)
    WORKDIR/.take-4.partial/   a take being written: renamed to take-4/ when complete, removed on failure

Only the last :data:`CACHE` takes read are held in memory; scores are never held (a take reads its
``piece.mid`` when its roll or a regeneration needs it).
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

from overworld.errors import ConfigError
from overworld.studio.takes import Take, take_from_record

__all__ = ["CACHE", "RECORD", "TakeStore"]

log = logging.getLogger(__name__)

CACHE = 16  # takes held in memory
RECORD = ".take.json"
_FOLDER = re.compile(r"^\.?take-(\d+)(\.partial)?$")


class TakeStore:
    """The takes under ``workdir`` (created when missing), numbered from 1 on, in the order made."""

    def __init__(self, workdir: str | Path) -> None:
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        numbers = []
        for path in self.workdir.iterdir():
            match = _FOLDER.match(path.name)
            if match is None:
                continue
            numbers.append(int(match[1]))
            if match[2]:  # a take a stopped studio left half written
                shutil.rmtree(path, ignore_errors=True)
        self._next = max(numbers, default=0) + 1
        self._ids = sorted(
            int(m[1]) for p in self.workdir.glob(f"take-*/{RECORD}") if (m := _FOLDER.match(p.parent.name))
        )
        self._cache: OrderedDict[int, Take] = OrderedDict()
        self._lock = threading.Lock()

    def ids(self) -> list[int]:
        with self._lock:
            return list(self._ids)

    def folder(self, take_id: int) -> Path:
        return self.workdir / f"take-{take_id}"

    def get(self, take_id: int) -> Take:
        """Take ``take_id``, or a one-line :class:`ConfigError` when there is none."""
        with self._lock:
            if take_id in self._cache:
                self._cache.move_to_end(take_id)
                return self._cache[take_id]
            if take_id not in self._ids:
                raise ConfigError(f"there is no take {take_id}")
        path = self.folder(take_id) / RECORD
        try:
            take = take_from_record(json.loads(path.read_text(encoding="utf-8")), self.folder(take_id))
        except (OSError, ValueError, KeyError, TypeError, ConfigError) as exc:
            raise ConfigError(f"take {take_id}: {path} is unreadable ({type(exc).__name__}: {exc})") from None
        self._remember(take)
        return take

    def takes(self) -> list[Take]:
        """Every take that can be read, in order (an unreadable record is logged and left out)."""
        out = []
        for take_id in self.ids():
            try:
                out.append(self.get(take_id))
            except ConfigError as exc:
                log.warning("%s", exc)
        return out

    def add(self, write: Callable[[int, Path, Path], Take]) -> Take:
        """A new take: ``write(id, partial, folder)`` writes its files into the folder ``partial`` and
        returns the :class:`Take` (whose folder is ``folder``); its record is written beside them and
        ``partial`` renamed to ``folder``. On any error nothing of it is left."""
        with self._lock:
            take_id, self._next = self._next, self._next + 1
        partial = self.workdir / f".take-{take_id}.partial"
        try:
            take = write(take_id, partial, self.folder(take_id))
            text = json.dumps(take.record(), indent=1) + "\n"
            (partial / RECORD).write_text(text, encoding="utf-8")
            partial.rename(self.folder(take_id))
        except BaseException:
            shutil.rmtree(partial, ignore_errors=True)
            raise
        with self._lock:
            self._ids.append(take_id)
        self._remember(take)
        return take

    def _remember(self, take: Take) -> None:
        with self._lock:
            self._cache[take.id] = take
            self._cache.move_to_end(take.id)
            while len(self._cache) > CACHE:
                self._cache.popitem(last=False)
