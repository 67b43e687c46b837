"""Safe archive extraction: only MIDI members, never outside the target, never unbounded.

Refused: absolute paths and ``..`` (path traversal), symbolic and hard links, devices and other special
members, more than ``max_members`` members, and more than ``max_total_bytes`` of uncompressed data
(counted while streaming, so a lying header cannot hide a decompression bomb).
"""

from __future__ import annotations

import tarfile
import zipfile
from pathlib import Path, PurePosixPath

from overworld.errors import DownloadError
from overworld.midi.load import MIDI_SUFFIXES

__all__ = ["MIDI_SUFFIXES", "extract_midi"]


def _safe_name(name: str) -> PurePosixPath:
    pure = PurePosixPath(name.replace("\\", "/"))
    if pure.is_absolute() or ".." in pure.parts or (pure.parts and ":" in pure.parts[0]):
        raise DownloadError(f"archive member {name!r} would escape the target folder (path traversal)")
    return pure


def _copy(source, target: Path, budget: list[int], limit: int) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target, "wb") as out:
        while block := source.read(1 << 16):
            budget[0] += len(block)
            if budget[0] > limit:
                out.close()
                target.unlink(missing_ok=True)
                raise DownloadError(f"archive expands past {limit} bytes (decompression bomb?); stopped")
            out.write(block)


def extract_midi(
    archive: str | Path, target: str | Path, *, max_members: int = 500_000, max_total_bytes: int = 20 << 30
) -> list[Path]:
    """Extract the MIDI members of a .zip or .tar(.gz/.bz2/.xz) into ``target``; return their paths."""
    archive, target = Path(archive), Path(target)
    target.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    budget = [0]
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            infos = zf.infolist()
            if len(infos) > max_members:
                raise DownloadError(f"archive has {len(infos)} members, over the {max_members} limit")
            for info in infos:
                name = _safe_name(info.filename)
                if (info.external_attr >> 16) & 0o170000 == 0o120000:
                    raise DownloadError(f"archive member {info.filename!r} is a symbolic link; refused")
                if info.is_dir() or name.suffix.lower() not in MIDI_SUFFIXES:
                    continue
                with zf.open(info) as src:
                    _copy(src, target / name, budget, max_total_bytes)
                written.append(target / name)
        return written
    try:
        tf = tarfile.open(archive)
    except (tarfile.TarError, OSError) as exc:
        raise DownloadError(f"{archive.name} is neither a zip nor a tar archive ({exc})") from exc
    with tf:
        for count, member in enumerate(tf, start=1):
            if count > max_members:
                raise DownloadError(f"archive has more than {max_members} members; refused")
            name = _safe_name(member.name)
            if member.issym() or member.islnk():
                raise DownloadError(f"archive member {member.name!r} is a link; refused")
            if not (member.isfile() or member.isdir()):
                raise DownloadError(f"archive member {member.name!r} is a device or special file; refused")
            if member.isdir() or name.suffix.lower() not in MIDI_SUFFIXES:
                continue
            src = tf.extractfile(member)
            if src is None:
                continue
            with src:
                _copy(src, target / name, budget, max_total_bytes)
            written.append(target / name)
    return written
