"""What the fetch tests serve and unpack, built in code: a static file server on 127.0.0.1 that can be
told to misbehave, and archives (honest, hostile, bombs) made in memory without writing their payload."""

from __future__ import annotations

import hashlib
import http.server
import io
import struct
import tarfile
import threading
import zipfile
import zlib

# a MIDI file: one track, middle C for a quarter note
MID = b"MThd\x00\x00\x00\x06\x00\x00\x00\x01\x01\xe0MTrk\x00\x00\x00\x0c\x00\x90\x3c\x40\x60\x80\x3c\x00\x00\xff\x2f\x00"


class Site:
    """Serves ``routes`` {path: bytes} like a static file server: Content-Length, a strong ETag, Range
    with If-Range (206 with Content-Range; 416 with ``bytes */N`` past the end; 200 when If-Range does
    not match). ``faults`` {path: {...}} make a path misbehave:

    - "truncate": announce the length, send half, close;
    - "no-length": no Content-Length, the body ends when the connection closes; with "cut", after half;
    - "chunked": chunked transfer encoding; with "cut", close before the terminating chunk;
    - "stall": send the first 1,000 bytes, then nothing until the test ends;
    - "no-etag": no validator to resume by; "ignore-range": always the whole file (200).
    """

    def __init__(self) -> None:
        self.routes: dict[str, bytes] = {}
        self.faults: dict[str, set[str]] = {}
        self.requests: list[str] = []
        self.headers: list[dict[str, str]] = []
        self.release = threading.Event()
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.server.site = self  # type: ignore[attr-defined]
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


class _Handler(http.server.BaseHTTPRequestHandler):
    """Serves the requests of the :class:`Site` it belongs to (``self.server.site``)."""

    def log_message(self, *args):  # quiet
        pass

    def do_GET(self):
        site = self.server.site
        site.requests.append(self.path)
        site.headers.append(dict(self.headers))
        body = site.routes.get(self.path)
        if body is None:
            self.send_error(404)
            return
        faults = site.faults.get(self.path, set())
        etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
        start = self._start(body, faults, etag)
        if start is None:
            return
        if "no-etag" not in faults:
            self.send_header("ETag", etag)
        self._send(body[start:], faults)

    def _start(self, body, faults, etag):
        rng = self.headers.get("Range")
        if not rng or "ignore-range" in faults or self.headers.get("If-Range", etag) != etag:
            self.send_response(200)
            return 0
        start = int(rng.split("=")[1].split("-")[0])
        if start >= len(body):
            self.send_response(416)
            self.send_header("Content-Range", f"bytes */{len(body)}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None
        self.send_response(206)
        self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        return start

    def _send(self, part, faults):
        if "chunked" in faults:
            self.send_header("Transfer-Encoding", "chunked")
        elif "no-length" not in faults:
            self.send_header("Content-Length", str(len(part)))
        self.end_headers()
        if "chunked" in faults:
            pieces = [part[i : i + 1000] for i in range(0, len(part), 1000)]
            if "cut" in faults:
                pieces = pieces[: len(pieces) // 2]
            for piece in pieces:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            if "cut" not in faults:
                self.wfile.write(b"0\r\n\r\n")
        elif "stall" in faults:
            self.wfile.write(part[:1000])
            self.wfile.flush()
            self.server.site.release.wait(30)
        elif faults & {"truncate", "cut"}:
            self.wfile.write(part[: len(part) // 2])
        else:
            self.wfile.write(part)
        self.wfile.flush()
        self.connection.shutdown(2)


def make_zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def make_tar(add) -> bytes:
    """A .tar.gz; ``add(tf)`` puts the members in."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        add(tf)
    return buf.getvalue()


def tar_file(tf: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tf.addfile(info, io.BytesIO(data))


def _deflated_zeros(mib: int, prefix: bytes = b"", suffix: bytes = b"") -> bytes:
    """A raw deflate stream of ``prefix``, ``mib`` MiB of zeros and ``suffix``, made by repeating one
    compressed MiB: a full flush ends each copy on a byte boundary, referring to nothing before it."""
    first = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = first.compress(prefix) + first.flush(zlib.Z_FULL_FLUSH) if prefix else b""
    one = zlib.compressobj(9, zlib.DEFLATED, -15)
    mib_of_zeros = one.compress(bytes(1 << 20)) + one.flush(zlib.Z_FULL_FLUSH)
    end = zlib.compressobj(9, zlib.DEFLATED, -15)
    return head + mib_of_zeros * mib + end.compress(suffix) + end.flush()


def zip_bomb(mib: int = 1024) -> bytes:
    """A zip whose one member, zeros.mid, declares and holds ``mib`` MiB of zeros in ~1 KB a MiB."""
    data = _deflated_zeros(mib)
    return _zip_of([("zeros.mid", data, (mib << 20), 8)])


def tar_gz_bomb(mib: int = 1024) -> bytes:
    """A .tar.gz whose one member, zeros.mid, holds ``mib`` MiB of zeros; ~1 KB a MiB compressed."""
    info = tarfile.TarInfo("zeros.mid")
    info.size = mib << 20
    # gzip header (no name, no mtime), the deflate stream with tar's two end blocks, and a trailer
    # (CRC and size) that a refusal never reaches
    return (
        b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"
        + _deflated_zeros(mib, info.tobuf(), bytes(1024))
        + bytes(8)
    )


def many_member_zip(n: int) -> bytes:
    """A zip of ``n`` empty members m0.mid, m1.mid ... (zip64 directory: more than 65,535 entries)."""
    return _zip_of([(f"m{i}.mid", b"", 0, 0) for i in range(n)])


def _zip_of(members: list[tuple[str, bytes, int, int]]) -> bytes:
    """A zip assembled by hand from (name, stored bytes, declared size, method) with a zip64 end record,
    so the declared sizes and the member count are whatever a test needs."""
    local, central = [], []
    offset = 0
    for name, data, size, method in members:
        raw = name.encode()
        crc = 0  # a refusal stops before any CRC is checked; empty members have CRC 0
        local.append(
            struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, method, 0, 0, crc, len(data), size, len(raw), 0)
            + raw
            + data
        )
        central.append(
            struct.pack(
                "<IHHHHHHIIIHHHHHII",
                0x02014B50,
                20,
                20,
                0,
                method,
                0,
                0,
                crc,
                len(data),
                size,
                len(raw),
                0,
                0,
                0,
                0,
                0,
                offset,
            )
            + raw
        )
        offset += len(local[-1])
    directory = b"".join(central)
    n, end64 = len(members), offset + len(directory)
    tail = (
        struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, n, n, len(directory), offset)
        + struct.pack("<IIQI", 0x07064B50, 0, end64, 1)
        + struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 0xFFFF, 0xFFFF, len(directory), offset, 0)
    )
    return b"".join(local) + directory + tail
