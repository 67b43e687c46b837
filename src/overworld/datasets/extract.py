"""Safe archive extraction: only MIDI members, never outside the target, never unbounded, all or nothing.

Refused: absolute paths and ``..`` (path traversal), symbolic and hard links, devices and other special
members, and anything past the ArchiveLimits (registry.py): more members than ``max_members``, more than
``max_bytes`` decompressed, or a member or the whole archive expanding more than ``max_ratio``:1 (a
decompression bomb). Sizes a zip declares are checked before a byte is written; what is decompressed is
counted while streaming as well, so a lying header cannot hide a bomb and a bomb stops within a few MB.

All or nothing: members are written into a temporary folder beside the target and moved into the target
only once the whole archive has passed; a refusal half-way leaves the target as it was. Temporary
folders of an extraction that was killed are removed by the next one.
"""

from __future__ import annotations

import lzma
import os
import shutil
import tarfile
import tempfile
import zipfile
import zlib
from collections.abc import Callable
from functools import partial
from pathlib import Path, PurePosixPath
from typing import IO

from overworld.datasets.registry import ArchiveLimits
from overworld.errors import DownloadError
from overworld.midi.load import MIDI_SUFFIXES

__all__ = ["MIDI_SUFFIXES", "ArchiveRefused", "extract_midi"]

_BLOCK = 1 << 16


class ArchiveRefused(DownloadError):
    """An archive is past a limit (members, bytes, compression ratio): raising the limit would pass it."""


def _safe_name(name: str) -> PurePosixPath:
    pure = PurePosixPath(name.replace("\\", "/"))
    if pure.is_absolute() or ".." in pure.parts or (pure.parts and ":" in pure.parts[0]):
        raise DownloadError(f"archive member {name!r} would escape the target folder (path traversal)")
    return pure


class _Budget:
    """Members and decompressed bytes so far against the limits; raises ArchiveRefused past one."""

    def __init__(self, limits: ArchiveLimits, compressed: Callable[[], int], declared: bool = False) -> None:
        self.limits = limits
        self.compressed = compressed  # compressed bytes of the archive read so far
        self.verb = "declares" if declared else "expands"  # sizes from a header, or counted bytes
        self.members = 0
        self.expanded = 0

    def member(self) -> None:
        self.members += 1
        if self.members > self.limits.max_members:
            raise ArchiveRefused(f"archive has more than {self.limits.max_members} members; refused")
        self._ratio("archive", self.expanded, self.compressed())

    def skip(self, n: int) -> None:
        """Count a member that is not written but decompressed through all the same (in a tar)."""
        self.expanded += n
        self._size()

    def grow(self, name: str, n: int, member_bytes: int, member_compressed: int) -> None:
        """Count ``n`` more decompressed bytes, ``member_bytes`` of them so far from member ``name``."""
        self.expanded += n
        self._size()
        self._ratio(f"member {name!r}", member_bytes, member_compressed)
        self._ratio("archive", self.expanded, self.compressed())

    def _size(self) -> None:
        if self.expanded > self.limits.max_bytes:
            raise ArchiveRefused(f"archive {self.verb} more than {self.limits.max_bytes} bytes; stopped")

    def _ratio(self, what: str, out: int, into: int) -> None:
        limits = self.limits
        if out > limits.ratio_floor and out > limits.max_ratio * max(into, 1):
            raise ArchiveRefused(
                f"archive {what} {self.verb} more than {limits.max_ratio:g}:1 ({out} bytes from {into}; "
                "a decompression bomb?); stopped"
            )


def _since(tell: Callable[[], int], start: int) -> int:
    return tell() - start


def _copy(source: IO[bytes], target: Path, name: str, budget: _Budget, compressed: Callable[[], int]) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    with open(target, "wb") as out:
        while block := source.read(_BLOCK):
            written += len(block)
            budget.grow(name, len(block), written, compressed())
            out.write(block)


def _extract_zip(
    archive: Path, work: Path, limits: ArchiveLimits, progress: Callable[[int, int | None], None] | None
) -> list[PurePosixPath]:
    size = archive.stat().st_size
    budget = _Budget(limits, lambda: size)
    with zipfile.ZipFile(archive) as zf:
        infos = zf.infolist()
        if len(infos) > limits.max_members:
            raise ArchiveRefused(f"archive has {len(infos)} members, over the {limits.max_members} limit")
        wanted = []
        for info in infos:
            name = _safe_name(info.filename)
            if (info.external_attr >> 16) & 0o170000 == 0o120000:
                raise DownloadError(f"archive member {info.filename!r} is a symbolic link; refused")
            if not info.is_dir() and name.suffix.lower() in MIDI_SUFFIXES:
                wanted.append((name, info))
        declared = _Budget(
            limits, lambda: size, declared=True
        )  # the central directory's sizes, before a byte is written
        for name, info in wanted:  # (zipfile stops a member at its declared file_size)
            declared.grow(str(name), info.file_size, info.file_size, min(info.compress_size, size))
        for done, (name, info) in enumerate(wanted, start=1):
            with zf.open(info) as src:
                _copy(src, work / name, str(name), budget, partial(min, info.compress_size, size))
            if progress:
                progress(done, len(wanted))
    return [name for name, _ in wanted]


def _extract_tar(
    archive: Path, work: Path, limits: ArchiveLimits, progress: Callable[[int, int | None], None] | None
) -> list[PurePosixPath]:
    names: list[PurePosixPath] = []
    with open(archive, "rb") as raw:
        budget = _Budget(limits, raw.tell)  # the compressed bytes read so far: where the raw file is
        try:
            tf = tarfile.open(fileobj=raw)
        except (tarfile.TarError, OSError, EOFError) as exc:
            raise DownloadError(f"{archive.name} is not a zip or tar archive, or is cut short") from exc
        with tf:
            for member in tf:
                budget.member()
                name = _safe_name(member.name)
                if member.issym() or member.islnk():
                    raise DownloadError(f"archive member {member.name!r} is a link; refused")
                if not (member.isfile() or member.isdir()):
                    raise DownloadError(
                        f"archive member {member.name!r} is a device or special file; refused"
                    )
                if member.isdir():
                    continue
                if name.suffix.lower() not in MIDI_SUFFIXES:
                    budget.skip(member.size)  # before tarfile decompresses through it to the next
                    continue
                src = tf.extractfile(member)
                if src is None:
                    continue
                with src:
                    _copy(src, work / name, str(name), budget, partial(_since, raw.tell, raw.tell()))
                names.append(name)
                if progress:
                    progress(len(names), None)
    return names


def _remove_stale(target: Path) -> None:
    """Remove temporary folders that a killed extraction into ``target`` left (their pid is gone)."""
    prefix = f".{target.name}.extract-"
    for folder in target.parent.glob(prefix + "*"):
        pid = folder.name[len(prefix) :].split("-")[0]
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            shutil.rmtree(folder, ignore_errors=True)
        except (ValueError, PermissionError, OverflowError):
            pass  # not ours to judge


def _move_into(work: Path, target: Path, names: list[PurePosixPath]) -> list[Path]:
    target.mkdir(parents=True, exist_ok=True)
    moved: dict[PurePosixPath, Path] = {}
    for name in names:
        if name not in moved:
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            os.replace(work / name, target / name)
            moved[name] = target / name
    return list(moved.values())


def extract_midi(
    archive: str | Path,
    target: str | Path,
    *,
    limits: ArchiveLimits | None = None,
    progress: Callable[[int, int | None], None] | None = None,
) -> list[Path]:
    """Extract the MIDI members of a .zip or .tar(.gz/.bz2/.xz) into ``target``, all or none; return
    their paths. ``limits``: ArchiveLimits() unless given; ``progress(members_written, total_or_None)``
    is called after each member."""
    archive, target = Path(archive), Path(target)
    limits = limits or ArchiveLimits()
    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale(target)
    work = Path(tempfile.mkdtemp(prefix=f".{target.name}.extract-{os.getpid()}-", dir=target.parent))
    try:
        extract = _extract_zip if zipfile.is_zipfile(archive) else _extract_tar
        try:
            names = extract(archive, work, limits, progress)
        except (zipfile.BadZipFile, tarfile.TarError, zlib.error, lzma.LZMAError, EOFError) as exc:
            raise DownloadError(f"{archive.name} is damaged ({exc}); nothing was extracted") from exc
        return _move_into(work, target, names)
    finally:
        shutil.rmtree(work, ignore_errors=True)
