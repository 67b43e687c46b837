"""The studio's HTTP API on a real server (no browser): compose with progress, regenerate bars, the
history, the files of a take; a bad value or upload answers one line."""

from __future__ import annotations

import io
import json
import time
import urllib.error
import urllib.request
import uuid
import zipfile

import mido
import pytest
from tests.studio.conftest import page_token


def _multipart(fields: dict, files: dict) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    out = io.BytesIO()
    for name, value in fields.items():
        out.write(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        )
    for name, (filename, data) in files.items():
        out.write(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
            f"Content-Type: application/octet-stream\r\n\r\n".encode()
            + data
            + b"\r\n"
        )
    out.write(f"--{boundary}--\r\n".encode())
    return out.getvalue(), f"multipart/form-data; boundary={boundary}"


def _call(url: str, fields: dict | None = None, files: dict | None = None) -> tuple[int, bytes]:
    """GET ``url``, or POST the form ``fields`` and ``files`` with the page's token (as studio.js does)."""
    request = urllib.request.Request(url)
    if fields is not None or files:
        body, kind = _multipart(fields or {}, files or {})
        base = "/".join(url.split("/")[:3])
        headers = {"Content-Type": kind, "X-Overworld-Token": page_token(base)}
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def _finish(server, job: int) -> dict:
    deadline, shares = time.monotonic() + 90, []
    while time.monotonic() < deadline:
        state = json.loads(_call(f"{server.url}/api/jobs/{job}")[1])
        shares.append(state["share"])
        if state["state"] in ("done", "error"):
            return state
        time.sleep(0.05)
    raise AssertionError("the job did not finish")


@pytest.fixture(scope="module")
def composed(server) -> dict:
    status, body = _call(
        f"{server.url}/api/compose", {"mode": "compose", "bars": "4", "seed": "7", "key": "A minor"}
    )
    assert status == 200
    state = _finish(server, json.loads(body)["job"])
    assert state["state"] == "done", state["error"]
    return state["takes"][0]


def test_the_page_and_info(server):
    status, page = _call(server.url + "/")
    assert status == 200 and b'id="roll"' in page and b"/static/studio.js" in page
    info = json.loads(_call(server.url + "/api/info")[1])
    assert (
        info["can_bars"]
        and info["limitation"] == ""
        and "AABA" not in info["forms"]
        and "aaba" in info["forms"]
    )
    assert "nes" in info["consoles"] and "3/4" in info["time_signatures"] and "D minor" in info["keys"]


def test_compose_then_regenerate_bars(server, composed):
    assert (composed["bars"], composed["seed"], composed["key"]) == (4, 7, "A minor")
    status, svg = _call(server.url + composed["roll"])
    assert status == 200 and svg.count(b'class="bar"') == 4
    status, mix = _call(server.url + composed["mix"])
    assert status == 200 and mix[:4] == b"OggS"
    status, body = _call(
        f"{server.url}/api/takes/{composed['id']}/regenerate", {"first": "2", "last": "3", "seed": "1"}
    )
    state = _finish(server, json.loads(body)["job"])
    assert state["state"] == "done" and state["takes"][0]["parent"] == composed["id"]
    history = json.loads(_call(server.url + "/api/takes")[1])
    assert [t["id"] for t in history][-2:] == [composed["id"], state["takes"][0]["id"]]


def test_the_zip_holds_a_midi_of_the_take(server, composed, tmp_path):
    status, data = _call(server.url + composed["zip"])
    archive = zipfile.ZipFile(io.BytesIO(data))
    top = f"overworld-take-{composed['id']}/"
    assert status == 200 and {top + "piece.mid", top + "mix.ogg", top + "piece.json"} <= set(
        archive.namelist()
    )
    (tmp_path / "piece.mid").write_bytes(archive.read(top + "piece.mid"))
    midi = mido.MidiFile(tmp_path / "piece.mid")
    assert max(sum(m.time for m in t) for t in midi.tracks) == 4 * 4 * midi.ticks_per_beat  # 4 bars exactly


@pytest.mark.parametrize(
    "fields, files, says",
    [
        (
            {"mode": "generate", "bars": "2"},
            {"primer": ("tune.mid", b"this is not MIDI")},
            "tune.mid: not a MIDI",
        ),
        (
            {"mode": "generate", "bars": "2"},
            {"primer": ("empty.mid", b"")},
            "empty.mid: the uploaded primer is empty",
        ),
        ({"mode": "compose", "bars": "0"}, {}, "bars must be between 1 and 128"),
        ({"mode": "compose", "top_p": "2"}, {}, "top_p must be above 0 and at most 1"),
        ({"mode": "compose", "bars": "4"}, {"primer": ("a.mid", b"MThd")}, "a.mid"),
    ],
)
def test_a_bad_value_or_upload_is_one_line(server, fields, files, says):
    status, body = _call(f"{server.url}/api/compose", fields, files)
    error = json.loads(body)["error"]
    assert status == 400 and says in error and "\n" not in error


def test_a_bad_span_is_one_line(server, composed):
    status, body = _call(f"{server.url}/api/takes/{composed['id']}/regenerate", {"first": "4", "last": "9"})
    assert status == 400 and json.loads(body)["error"] == "bars 4-9 are outside the take's 4 bars"
    status, body = _call(f"{server.url}/api/takes/999/regenerate", {"first": "1", "last": "1"})
    assert status == 400 and json.loads(body)["error"] == "there is no take 999"
