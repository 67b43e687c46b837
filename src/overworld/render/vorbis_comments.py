"""Vorbis comments (``LOOPSTART=...``) added to an Ogg Vorbis file after libsndfile wrote it.

libsndfile (through soundfile) writes only its fixed string fields (title, comment, ...), and game
engines read loop points from free-form comments: RPG Maker MV, Godot's importer and many others take
``LOOPSTART`` and ``LOOPLENGTH`` in samples. So the comment header is rewritten here, in pure Python
(mutagen would do it too, but it is GPL and one more dependency): an Ogg Vorbis stream is pages of
packets; the second and third packets (comment and setup headers) fill the pages after the first, the
last of them ends with the setup packet (the specification asks for it), so those pages are rebuilt with
the new comment packet and the audio pages after them keep their bytes, renumbered (sequence number and
CRC) only if the header now takes a different number of pages.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from pathlib import Path

from overworld.errors import OverworldError

__all__ = ["add_comments", "read_comments"]


def _crc_table() -> list[int]:
    table = []
    for i in range(256):
        r = i << 24
        for _ in range(8):
            r = ((r << 1) ^ 0x04C11DB7) if r & 0x80000000 else (r << 1)
        table.append(r & 0xFFFFFFFF)
    return table


_CRC = _crc_table()


def _crc(data: bytes) -> int:
    """The Ogg page checksum: CRC-32, polynomial 0x04C11DB7, no reflection, initial value 0."""
    crc = 0
    for byte in data:
        crc = ((crc << 8) & 0xFFFFFFFF) ^ _CRC[(crc >> 24) ^ byte]
    return crc


def _pages(data: bytes) -> list[dict]:
    """Every page of an Ogg file: its header fields, its segment lacing and its body."""
    pages, at = [], 0
    while at < len(data):
        if data[at : at + 4] != b"OggS":
            raise OverworldError(f"not an Ogg file (no OggS page at byte {at})")
        flags, granule, serial, seq, _, count = struct.unpack_from("<xBqIIIB", data, at + 4)
        lacing = list(data[at + 27 : at + 27 + count])
        start = at + 27 + count
        pages.append(
            {
                "flags": flags,
                "granule": granule,
                "serial": serial,
                "seq": seq,
                "lacing": lacing,
                "body": data[start : start + sum(lacing)],
            }
        )
        at = start + sum(lacing)
    return pages


def _page_bytes(page: dict) -> bytes:
    head = struct.pack(
        "<4sBBqIIIB",
        b"OggS",
        0,
        page["flags"],
        page["granule"],
        page["serial"],
        page["seq"],
        0,
        len(page["lacing"]),
    )
    raw = head + bytes(page["lacing"]) + page["body"]
    return raw[:22] + struct.pack("<I", _crc(raw)) + raw[26:]


def _header_packets(pages: list[dict]) -> tuple[list[bytes], int]:
    """The comment and setup packets, and how many pages (after the first) hold them."""
    packets, current = [], b""
    for n, page in enumerate(pages[1:], start=1):
        at = 0
        for size in page["lacing"]:
            current += page["body"][at : at + size]
            at += size
            if size < 255:
                packets.append(current)
                current = b""
        if len(packets) >= 2:
            if len(packets) > 2 or current:
                raise OverworldError("the Vorbis setup header does not end its page; cannot add comments")
            return packets, n
    raise OverworldError("not an Ogg Vorbis file: its header packets are incomplete")


def _paginate(packets: list[bytes], serial: int, seq: int) -> list[dict]:
    """Header pages for ``packets`` (granule 0), at most 255 lacing values each."""
    lacing: list[tuple[int, bytes]] = []
    for packet in packets:
        sizes = [255] * (len(packet) // 255) + [len(packet) % 255]
        at = 0
        for size in sizes:
            lacing.append((size, packet[at : at + size]))
            at += size
    pages, continued = [], False
    for start in range(0, len(lacing), 255):
        chunk = lacing[start : start + 255]
        pages.append(
            {
                "flags": 1 if continued else 0,
                "granule": 0,
                "serial": serial,
                "seq": seq + len(pages),
                "lacing": [s for s, _ in chunk],
                "body": b"".join(b for _, b in chunk),
            }
        )
        continued = chunk[-1][0] == 255
    return pages


def _parse_comment(packet: bytes) -> tuple[bytes, list[bytes]]:
    if packet[:7] != b"\x03vorbis":
        raise OverworldError("not an Ogg Vorbis file: its second packet is not a comment header")
    (n,) = struct.unpack_from("<I", packet, 7)
    vendor, at = packet[11 : 11 + n], 11 + n
    (count,) = struct.unpack_from("<I", packet, at)
    at += 4
    comments = []
    for _ in range(count):
        (n,) = struct.unpack_from("<I", packet, at)
        comments.append(packet[at + 4 : at + 4 + n])
        at += 4 + n
    return vendor, comments


def _comment_packet(vendor: bytes, comments: list[bytes]) -> bytes:
    body = b"".join(struct.pack("<I", len(c)) + c for c in comments)
    return (
        b"\x03vorbis"
        + struct.pack("<I", len(vendor))
        + vendor
        + struct.pack("<I", len(comments))
        + body
        + b"\x01"
    )


def add_comments(path: str | Path, comments: Mapping[str, object]) -> Path:
    """Add ``KEY=value`` comments to the Ogg Vorbis file at ``path`` (a key given replaces the file's own)."""
    path = Path(path)
    pages = _pages(path.read_bytes())
    (comment, setup), used = _header_packets(pages)
    vendor, old = _parse_comment(comment)
    keys = {k.upper() for k in comments}
    kept = [c for c in old if c.split(b"=", 1)[0].decode("utf-8", "replace").upper() not in keys]
    new = kept + [f"{k}={v}".encode() for k, v in comments.items()]
    header = _paginate([_comment_packet(vendor, new), setup], pages[0]["serial"], 1)
    shift = len(header) - used
    rest = pages[1 + used :]
    out = bytearray(_page_bytes(pages[0]))
    for page in header:
        out += _page_bytes(page)
    for page in rest:
        page["seq"] += shift
        out += _page_bytes(page)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(bytes(out))
    tmp.replace(path)
    return path


def read_comments(path: str | Path) -> dict[str, str]:
    """The Vorbis comments of an Ogg Vorbis file, keys upper-cased."""
    pages = _pages(Path(path).read_bytes())
    (comment, _), _ = _header_packets(pages)
    _, comments = _parse_comment(comment)
    pairs = (c.decode("utf-8", "replace").split("=", 1) for c in comments)
    return {k.upper(): v for k, v in (p for p in pairs if len(p) == 2)}
