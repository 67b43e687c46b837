"""What scripts/reliability.py tries, built in code: MIDI files and their mutations, and hostile archives.
Everything random takes a ``random.Random``. (Tampered model folders and training states, and the bad
invocations over them, are in reliability_tamperings.py.)

Kept apart from the driver so each list reads on its own: ``mutate`` (how a MIDI file is fuzzed) and
``ARCHIVE_ATTACKS`` (what an archive can do to an extractor).
"""

from __future__ import annotations

import io
import random
import struct
import tarfile
import warnings
import zipfile
import zlib
from collections.abc import Callable

from overworld.midi.write import vlq

__all__ = ["ARCHIVE_ATTACKS", "ESCAPE", "MID", "good_files", "mutate", "seed_files", "smf", "track"]

# ---------------------------------------------------------------------------------------------- MIDI


def track(events: bytes) -> bytes:
    return b"MTrk" + struct.pack(">I", len(events) + 4) + events + b"\x00\xff\x2f\x00"


def smf(tracks: list[bytes], fmt: int = 1, division: int = 480) -> bytes:
    return b"MThd" + struct.pack(">IHHH", 6, fmt, len(tracks), division) + b"".join(tracks)


def tempo(us_per_beat: int) -> bytes:
    return b"\x00\xff\x51\x03" + us_per_beat.to_bytes(3, "big")


def line(
    pitches: list[int], beat: int = 480, channel: int = 0, program: int = 0, velocity: int = 90
) -> bytes:
    """One note after another, each a beat long, on ``channel`` with ``program``."""
    out = bytes([0x00, 0xC0 | channel, program])
    for p in pitches:
        out += b"\x00" + bytes([0x90 | channel, p, velocity]) + vlq(beat) + bytes([0x80 | channel, p, 0])
    return out


def running_status(pitches: list[int], beat: int = 96) -> bytes:
    """Note-ons with running status, note-offs as velocity-0 note-ons (as many sequencers write them)."""
    out = b"\x00\x90"
    for i, p in enumerate(pitches):
        out += (b"" if i == 0 else b"\x00") + bytes([p, 100]) + vlq(beat) + bytes([p, 0])
    return out


def seed_files() -> list[bytes]:
    """A few valid MIDI files that the fuzzer mutates: each exercises a different part of the format."""
    arpeggio = [60, 64, 67, 72, 67, 64]
    drums = b"".join(
        b"\x00\x99" + bytes([k, 110]) + b"\x83\x60\x89" + bytes([k, 0]) for k in (36, 38, 42, 38)
    )
    meta = (b"\x00\xff\x03\x05Intro" + b"\x00\xff\x58\x04\x03\x02\x18\x08" + b"\x00\xff\x59\x02\xfe\x01"
            + b"\x00\xf0\x05\x7e\x7f\x09\x01\xf7" + b"\x00\xb0\x07\x64" + b"\x00\xe0\x00\x50")  # fmt: skip
    rmid_body = smf([track(tempo(600_000) + line([62, 65, 69]))], fmt=0)
    rmid = b"RMID" + b"data" + struct.pack("<I", len(rmid_body)) + rmid_body
    smpte = ((256 - 25) << 8) | 40  # 25 frames a second, 40 ticks a frame
    return [
        smf([track(tempo(500_000) + line(arpeggio))], fmt=0),  # format 0, one line at 120 bpm
        smf(
            [
                track(tempo(500_000) + b"\x00\xff\x51\x03\x03\xd0\x90"),  # two tempos
                track(line([48, 55, 52], channel=1, program=80)),
                track(line(arpeggio, channel=2, program=38)),
                track(drums),
            ]
        ),
        smf([track(running_status(list(range(50, 80))))]),
        smf([track(line([60, 62, 64], beat=1000))], division=smpte),
        b"RIFF" + struct.pack("<I", len(rmid)) + rmid,
        smf([track(meta + line([57, 60, 64, 69], beat=240, program=81))], division=96),
    ]


def good_files(n: int, rng: random.Random) -> list[bytes]:
    """``n`` distinct valid files: short melodies on one or two tracks, every one a different tune."""
    out: list[bytes] = []
    while len(out) < n:
        melody = [rng.randrange(48, 84) for _ in range(rng.randrange(8, 24))]
        bass = [p - 12 for p in melody[::2]]
        parts = [track(tempo(rng.randrange(300_000, 900_000)) + line(melody, program=rng.randrange(0, 100)))]
        if rng.random() < 0.5:
            parts.append(track(line(bass, beat=960, channel=1, program=33)))
        data = smf(parts, fmt=1 if len(parts) > 1 else 0)
        if data not in out:
            out.append(data)
    return out


def _chunks(data: bytes) -> list[int]:
    """Offsets of the chunk headers (MThd/MTrk) in ``data``."""
    found, pos = [], data.find(b"MT")
    while pos != -1:
        if data[pos : pos + 4] in (b"MThd", b"MTrk"):
            found.append(pos)
        pos = data.find(b"MT", pos + 1)
    return found


def _flip_bits(data: bytes, rng: random.Random) -> bytes:
    out = bytearray(data)
    for _ in range(rng.choice((1, 1, 2, 4, 16))):
        out[rng.randrange(len(out))] ^= 1 << rng.randrange(8)
    return bytes(out)


def _interesting_bytes(data: bytes, rng: random.Random) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randrange(1, 6)):
        out[rng.randrange(len(out))] = rng.choice((0x00, 0x7F, 0x80, 0xF0, 0xF7, 0xFF, 0x2F, 0x51))
    return bytes(out)


def _truncate(data: bytes, rng: random.Random) -> bytes:
    return data[: rng.randrange(len(data))]


def _length_lie(data: bytes, rng: random.Random) -> bytes:
    chunks = _chunks(data)
    if not chunks:
        return _flip_bits(data, rng)
    pos = rng.choice(chunks) + 4
    size = struct.unpack_from(">I", data, pos)[0] if pos + 4 <= len(data) else 0
    lie = rng.choice(
        (0, 1, 5, max(size - 1, 0), size + 1, size * 2, 0x7FFFFFFF, 0xFFFFFFFF, rng.getrandbits(32))
    )
    return data[:pos] + struct.pack(">I", lie) + data[pos + 4 :]


def _header_lie(data: bytes, rng: random.Random) -> bytes:
    pos = data.find(b"MThd")
    if pos < 0 or pos + 14 > len(data):
        return _flip_bits(data, rng)
    field = rng.choice((8, 10, 12))  # format, track count, division
    value = rng.choice((0, 1, 2, 3, 0x7FFF, 0x8000, 0xE728, 0xFFFF, rng.getrandbits(16)))
    return data[: pos + field] + struct.pack(">H", value) + data[pos + field + 2 :]


def _huge_delta(data: bytes, rng: random.Random) -> bytes:
    """A delta time of up to 0x0FFFFFFF ticks (and sometimes the slowest tempo) at the start of a track."""
    tracks = [p for p in _chunks(data) if data[p : p + 4] == b"MTrk"]
    if not tracks:
        return _flip_bits(data, rng)
    pos = rng.choice(tracks)
    slow = tempo(0xFFFFFF) if rng.random() < 0.5 else b""
    extra = slow + vlq(rng.choice((0x0FFFFFFF, 0x00FFFFFF, 1 << rng.randrange(28)))) + b"\xff\x01\x00"
    size = struct.unpack_from(">I", data, pos + 4)[0] if pos + 8 <= len(data) else 0
    return data[: pos + 4] + struct.pack(">I", (size + len(extra)) & 0xFFFFFFFF) + extra + data[pos + 8 :]


def _many_tracks(data: bytes, rng: random.Random) -> bytes:
    """The file's smallest track repeated up to 70,000 times, the header counting some number of them."""
    tracks = [p for p in _chunks(data) if data[p : p + 4] == b"MTrk"]
    n = int(2 ** rng.uniform(1, 16.1))  # 2 .. ~70,000, log-uniform
    body = track(line([60])) if not tracks else data[tracks[0] : tracks[0] + 8 + 64]
    declared = rng.choice((n, min(n, 0xFFFF), 1, rng.randrange(0x10000)))
    return b"MThd" + struct.pack(">IHHH", 6, 1, declared & 0xFFFF, 480) + body * n


def _insert_random(data: bytes, rng: random.Random) -> bytes:
    pos = rng.randrange(len(data) + 1)
    return data[:pos] + rng.randbytes(rng.randrange(1, 64)) + data[pos:]


def _delete(data: bytes, rng: random.Random) -> bytes:
    start = rng.randrange(len(data))
    return data[:start] + data[start + rng.randrange(1, 32) :]


def _repeat(data: bytes, rng: random.Random) -> bytes:
    start = rng.randrange(len(data))
    piece = data[start : start + rng.randrange(1, 16)]
    return data[:start] + piece * rng.randrange(2, 2000) + data[start:]


MUTATIONS: dict[str, Callable[[bytes, random.Random], bytes]] = {
    "bit flips": _flip_bits, "interesting bytes": _interesting_bytes, "truncation": _truncate,
    "chunk-length lie": _length_lie, "header lie": _header_lie, "huge delta time": _huge_delta,
    "many tracks": _many_tracks, "random insert": _insert_random, "deletion": _delete, "repeat": _repeat,
}  # fmt: skip


def mutate(seeds: list[bytes], rng: random.Random) -> tuple[bytes, str]:
    """One fuzzed byte string: a seed (sometimes two spliced) under one to three mutations; and their names."""
    data = rng.choice(seeds)
    names = []
    if rng.random() < 0.1:
        other = rng.choice(seeds)
        data = data[: rng.randrange(1, len(data))] + other[rng.randrange(len(other)) :]
        names.append("splice")
    for _ in range(rng.choice((1, 1, 2, 3))):
        name = rng.choice(list(MUTATIONS))
        data = MUTATIONS[name](data or b"\0", rng)
        names.append(name)
    return data, "+".join(names)


# ------------------------------------------------------------------------------------------- archives

MID = smf([track(tempo(500_000) + line([60, 64, 67]))], fmt=0)
ESCAPE = "overworld-reliability-escape.mid"  # the name every traversal tries to write outside the target


def make_zip(members: list[tuple[str, bytes]]) -> bytes:
    buf = io.BytesIO()
    with warnings.catch_warnings(), zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        warnings.simplefilter("ignore")  # "Duplicate name": an attack of its own
        for name, data in members:
            zf.writestr(zipfile.ZipInfo(name), data)  # ZipInfo: duplicate names and odd paths kept as given
    return buf.getvalue()


def make_tar(members: list[tarfile.TarInfo | tuple[str, bytes]], mode: str = "w:gz") -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=mode) as tf:
        for member in members:
            if isinstance(member, tarfile.TarInfo):
                tf.addfile(member)
            else:
                info = tarfile.TarInfo(member[0])
                info.size = len(member[1])
                tf.addfile(info, io.BytesIO(member[1]))
    return buf.getvalue()


def _special(name: str, kind: bytes, linkname: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, linkname
    return info


def _deflated_zeros(mib: int, prefix: bytes = b"", suffix: bytes = b"") -> bytes:
    """A raw deflate stream of ``prefix``, ``mib`` MiB of zeros and ``suffix``, ~1 KB a MiB: one compressed
    MiB repeated, each copy ending on a byte boundary (a full flush) and referring to nothing before it."""
    head = b""
    if prefix:
        first = zlib.compressobj(9, zlib.DEFLATED, -15)
        head = first.compress(prefix) + first.flush(zlib.Z_FULL_FLUSH)
    one = zlib.compressobj(9, zlib.DEFLATED, -15)
    mib_of_zeros = one.compress(bytes(1 << 20)) + one.flush(zlib.Z_FULL_FLUSH)
    end = zlib.compressobj(9, zlib.DEFLATED, -15)
    return head + mib_of_zeros * mib + end.compress(suffix) + end.flush()


def zip_of(members: list[tuple[str, bytes, int, int]]) -> bytes:
    """A zip assembled by hand from (name, stored bytes, declared size, method), with a zip64 end record,
    so declared sizes and member counts are whatever an attack needs."""
    local, central, offset = [], [], 0
    for name, data, size, method in members:
        raw = name.encode()
        local.append(struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, method, 0, 0, 0, len(data), size, len(raw), 0)
                     + raw + data)  # fmt: skip
        central.append(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, method, 0, 0, 0, len(data), size,
                                   len(raw), 0, 0, 0, 0, 0, offset) + raw)  # fmt: skip
        offset += len(local[-1])
    directory = b"".join(central)
    n, end64 = len(members), offset + len(directory)
    tail = (struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, n, n, len(directory), offset)
            + struct.pack("<IIQI", 0x07064B50, 0, end64, 1)
            + struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 0xFFFF, 0xFFFF, len(directory), offset, 0))  # fmt: skip
    return b"".join(local) + directory + tail


def _symlink_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        info = zipfile.ZipInfo("link.mid")
        info.external_attr = (0o120777 << 16) | 0x20
        zf.writestr(info, "/etc/passwd")
    return buf.getvalue()


def _tar_gz_bomb(mib: int, name: str = "zeros.mid") -> bytes:
    info = tarfile.TarInfo(name)
    info.size = mib << 20
    return (
        b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"
        + _deflated_zeros(mib, info.tobuf(), bytes(1024))
        + bytes(8)
    )


def _many_member_tar(n: int) -> bytes:
    return make_tar([(f"m{i}.mid", b"") for i in range(n)])


def _truncated(data: bytes) -> bytes:
    return data[: len(data) * 2 // 3]


# name -> (file name, a function making its bytes). Every traversal aims at ESCAPE beside or above the
# target, or at /tmp/ESCAPE; the driver looks for it there after each extraction.
ARCHIVE_ATTACKS: dict[str, tuple[str, Callable[[], bytes]]] = {
    "tar: ../ traversal": ("a.tar.gz", lambda: make_tar([("ok.mid", MID), (f"../../{ESCAPE}", MID)])),
    "tar: deep ../ traversal": ("a.tar.gz", lambda: make_tar([("x/../../../../../../../../tmp/" + ESCAPE, MID)])),
    "tar: absolute path": ("a.tar.gz", lambda: make_tar([(f"/tmp/{ESCAPE}", MID)])),
    "tar: backslash traversal": ("a.tar.gz", lambda: make_tar([(f"..\\..\\{ESCAPE}", MID)])),
    "tar: drive-letter path": ("a.tar.gz", lambda: make_tar([(f"C:/{ESCAPE}", MID)])),
    "tar: symlink to /etc/passwd": ("a.tar.gz", lambda: make_tar([_special("link.mid", tarfile.SYMTYPE, "/etc/passwd")])),
    "tar: symlinked folder, then a file through it": ("a.tar.gz", lambda: make_tar(
        [_special("d", tarfile.SYMTYPE, "../.."), (f"d/{ESCAPE}", MID)])),
    "tar: hardlink to /etc/passwd": ("a.tar.gz", lambda: make_tar([_special("hard.mid", tarfile.LNKTYPE, "/etc/passwd")])),
    "tar: hardlink to an earlier member": ("a.tar.gz", lambda: make_tar(
        [("ok.mid", MID), _special("again.mid", tarfile.LNKTYPE, "ok.mid")])),
    "tar: character device": ("a.tar.gz", lambda: make_tar([_special("tty.mid", tarfile.CHRTYPE)])),
    "tar: block device": ("a.tar.gz", lambda: make_tar([_special("sda.mid", tarfile.BLKTYPE)])),
    "tar: fifo": ("a.tar.gz", lambda: make_tar([_special("pipe.mid", tarfile.FIFOTYPE)])),
    "tar: duplicate names": ("a.tar", lambda: make_tar([("same.mid", MID), ("same.mid", MID[:-4])], mode="w")),
    "tar.gz bomb: 1 GiB of zeros in ~1 MB": ("bomb.tar.gz", lambda: _tar_gz_bomb(1024)),
    "tar.gz bomb in a non-MIDI member": ("bomb.tar.gz", lambda: _tar_gz_bomb(1024, "zeros.txt")),
    "tar: 60,000 members": ("many.tar.gz", lambda: _many_member_tar(60_000)),
    "tar.gz cut short": ("cut.tar.gz", lambda: _truncated(make_tar([(f"m{i}.mid", MID * 50) for i in range(20)]))),
    "zip: ../ traversal": ("a.zip", lambda: make_zip([("ok.mid", MID), (f"../../{ESCAPE}", MID)])),
    "zip: absolute path": ("a.zip", lambda: make_zip([(f"/tmp/{ESCAPE}", MID)])),
    "zip: backslash traversal": ("a.zip", lambda: make_zip([(f"..\\..\\{ESCAPE}", MID)])),
    "zip: symlink member": ("a.zip", _symlink_zip),
    "zip: duplicate names": ("a.zip", lambda: make_zip([("same.mid", MID), ("same.mid", MID[:-4])])),
    "zip bomb: 1 GiB of zeros in ~1 MB": ("bomb.zip", lambda: zip_of([("zeros.mid", _deflated_zeros(1024), 1 << 30, 8)])),
    "zip bomb whose header declares 1 KB": ("liar.zip", lambda: zip_of([("zeros.mid", _deflated_zeros(64), 1024, 8)])),
    "zip: 100,000 members": ("many.zip", lambda: zip_of([(f"m{i}.mid", b"", 0, 0) for i in range(100_000)])),
    "zip cut short": ("cut.zip", lambda: _truncated(make_zip([(f"m{i}.mid", MID * 50) for i in range(20)]))),
}  # fmt: skip
