"""Music lumps out of Doom WAD files (Freedoom's ``D_*`` lumps are Standard MIDI Files)."""

from __future__ import annotations

import logging
import struct
from pathlib import Path

from overworld.errors import DataError

__all__ = ["read_music_lumps"]

log = logging.getLogger(__name__)


def read_music_lumps(wad_path: str | Path) -> list[tuple[str, bytes]]:
    """``[(lump name, MIDI bytes)]`` for every music lump (``D_*``) of a WAD that holds MIDI data.

    MUS lumps (the original Doom format) are skipped with a log line: Freedoom ships MIDI.
    Raises DataError for a file that is not a WAD or whose directory points outside the file.
    """
    path = Path(wad_path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DataError(f"cannot read WAD {path}: {exc.strerror or exc}") from exc
    if len(data) < 12 or data[:4] not in (b"IWAD", b"PWAD"):
        raise DataError(f"{path.name} is not a WAD file (starts with {data[:4]!r})")
    count, directory = struct.unpack_from("<ii", data, 4)
    if count < 0 or directory < 12 or directory + 16 * count > len(data):
        raise DataError(f"{path.name}: WAD directory ({count} lumps at {directory}) runs past the end")
    lumps = []
    for i in range(count):
        offset, size, raw = struct.unpack_from("<ii8s", data, directory + 16 * i)
        name = raw.split(b"\0", 1)[0].decode("ascii", "replace")
        if not name.startswith("D_"):
            continue
        if offset < 0 or size < 0 or offset + size > len(data):
            raise DataError(f"{path.name}: lump {name} lies outside the file")
        body = data[offset : offset + size]
        if body[:4] == b"MThd":
            lumps.append((name, body))
        else:
            log.info("%s: lump %s is not MIDI (%r...), skipped", path.name, name, body[:4])
    return lumps
