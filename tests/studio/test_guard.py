"""The studio's guard, with raw HTTP requests to a real server on 127.0.0.1 (http.client sends the Host,
Origin and body we choose): only its own host is answered (DNS rebinding), a change needs its own origin
and the page's token, only forms are taken and a huge body is refused before it is read; every response
carries the security headers."""

from __future__ import annotations

import asyncio
import http.client
import re

import pytest
from tests.studio.conftest import SR

from overworld.studio.guard import SECURITY_HEADERS, Guard, GuardConfig, host_names

FORM = "application/x-www-form-urlencoded"
BAD_FORM = b"mode=compose&bars=0"  # answered 400 by the form's check, so a 400 means the guard let it in


def _send(server, method: str, path: str, headers: dict | None = None, body: bytes | None = None):
    """(status, lower-cased headers, body) of one raw request; ``headers`` may set Host."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        conn.request(method, path, body=body, headers={"Host": f"127.0.0.1:{server.port}", **(headers or {})})
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


@pytest.fixture(scope="module")
def take(server) -> int:
    from overworld.studio import forms

    studio = server.studio
    config = forms.compose_config({"bars": "2"}, sample_rate=SR)
    return studio.compose(config, studio.sampling({}), 5)[0].id


ROUTES = [
    ("GET", "/"),
    ("GET", "/api/info"),
    ("GET", "/api/takes"),
    ("GET", "/api/takes/{take}/zip"),
    ("GET", "/api/takes/{take}/mix"),
    ("GET", "/api/takes/{take}/roll.svg"),
    ("GET", "/static/studio.js"),
    ("GET", "/api/jobs/1"),
    ("POST", "/api/compose"),
    ("POST", "/api/takes/{take}/regenerate"),
]
FOREIGN = ["evil.example", "evil.example:{port}", "127.0.0.1.evil.example:{port}", "127.0.0.1:1", ""]


@pytest.mark.parametrize("method, path", ROUTES)
@pytest.mark.parametrize("host", FOREIGN)
def test_a_foreign_host_gets_403_on_every_route(server, take, method, path, host):
    headers = {"Host": host.format(port=server.port), "X-Overworld-Token": server.token, "Content-Type": FORM}
    status, _, body = _send(
        server, method, path.format(take=take), headers, BAD_FORM if method == "POST" else None
    )
    assert status == 403 and b"does not answer to the host" in body


@pytest.mark.parametrize("host", ["127.0.0.1:{port}", "localhost:{port}", "LOCALHOST:{port}", "[::1]:{port}"])
def test_its_own_names_are_answered(server, take, host):
    status, _, body = _send(server, "GET", f"/api/takes/{take}/zip", {"Host": host.format(port=server.port)})
    assert status == 200 and body[:2] == b"PK"


@pytest.mark.parametrize(
    "path, host, expected",
    [
        ("/", "127.0.0.1:{port}", 200),
        ("/static/studio.css", "127.0.0.1:{port}", 200),
        ("/api/takes/999/roll.svg", "127.0.0.1:{port}", 400),
        ("/nowhere", "127.0.0.1:{port}", 404),
        ("/api/info", "evil.example", 403),
    ],
)
def test_every_response_carries_the_security_headers(server, path, host, expected):
    status, headers, _ = _send(server, "GET", path, {"Host": host.format(port=server.port)})
    assert status == expected
    assert headers["x-frame-options"] == "DENY" and headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"
    assert "default-src 'self'" in headers["content-security-policy"]
    assert "frame-ancestors 'none'" in headers["content-security-policy"]


@pytest.mark.parametrize(
    "origin, token, expected",
    [
        ("http://evil.example", "good", 403),
        ("null", "good", 403),
        ("http://127.0.0.1:{port}.evil.example", "good", 403),
        ("https://127.0.0.1:{port}", "good", 403),  # another scheme is another origin
        (None, None, 403),  # a client that did not read the page
        (None, "wrong", 403),
        ("http://127.0.0.1:{port}", None, 403),
        ("http://127.0.0.1:{port}", "good", 400),  # the page itself: through to the form's check
        (None, "good", 400),  # a script that read the page's token
    ],
)
def test_a_change_needs_its_own_origin_and_the_token(server, origin, token, expected):
    headers = {"Content-Type": FORM}
    if origin is not None:
        headers["Origin"] = origin.format(port=server.port)
    if token is not None:
        headers["X-Overworld-Token"] = server.token if token == "good" else "x" * 43
    status, _, body = _send(server, "POST", "/api/compose", headers, BAD_FORM)
    assert status == expected and b"\n" not in body.strip()
    if expected == 400:
        assert b"bars must be between 1 and" in body


@pytest.mark.parametrize("kind", ["application/json", "text/plain", "application/octet-stream", None])
def test_only_forms_are_taken(server, kind):
    headers = {"X-Overworld-Token": server.token, **({"Content-Type": kind} if kind else {})}
    status, _, body = _send(server, "POST", "/api/compose", headers, b'{"mode": "compose"}')
    assert status == 415 and b"the studio takes forms" in body


@pytest.mark.parametrize(
    "kind, expected", [("application/octet-stream", 415), ("multipart/form-data; boundary=x", 413)]
)
def test_a_200_mb_body_is_refused_before_it_is_sent(server, kind, expected):
    """Only the headers are sent: the answer comes without the studio waiting for the 200 MB."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        conn.putrequest("POST", "/api/compose", skip_host=True)
        for name, value in {
            "Host": f"127.0.0.1:{server.port}",
            "X-Overworld-Token": server.token,
            "Content-Type": kind,
            "Content-Length": str(200 * 2**20),
        }.items():
            conn.putheader(name, value)
        conn.endheaders()
        response = conn.getresponse()
        assert response.status == expected and b"\n" not in response.read().strip()
    finally:
        conn.close()


def test_a_streamed_body_is_cut_at_the_cap():
    """A body with no Content-Length (chunked) is counted as it arrives and cut past ``max_body``."""
    config = GuardConfig(host_names("127.0.0.1", 7860), "t" * 32, max_body=3 * 2**20)
    sent, messages = [], []

    async def app(scope, receive, send):  # reads the whole body, as a form parser does
        while (await receive()).get("more_body"):
            pass
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"read it all"})

    async def receive():
        sent.append(2**20)
        return {"type": "http.request", "body": b"\0" * 2**20, "more_body": len(sent) < 200}

    async def send(message):
        messages.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/api/compose",
        "headers": [
            (b"host", b"127.0.0.1:7860"),
            (b"x-overworld-token", b"t" * 32),
            (b"content-type", b"multipart/form-data"),
        ],
    }
    asyncio.run(Guard(app, config)(scope, receive, send))
    assert messages[0]["status"] == 413 and len(sent) == 4  # 4 MB read of the 200
    assert {k.decode() for k, _ in messages[0]["headers"]} >= {k for k, _ in SECURITY_HEADERS}


def test_the_page_carries_a_token_and_nothing_inline(server):
    status, _, page = _send(server, "GET", "/")
    token = re.search(rb'<meta name="overworld-token" content="([^"]+)">', page)[1].decode()
    assert status == 200 and token == server.token and len(token) >= 32
    assert b"style=" not in page and b"<script>" not in page  # the CSP allows no inline style or script


@pytest.mark.parametrize(
    "host, port, extra, names",
    [
        ("127.0.0.1", 7860, (), {"127.0.0.1:7860", "localhost:7860", "[::1]:7860"}),
        ("::1", 80, ("Studio.lan",), {"127.0.0.1:80", "localhost:80", "[::1]:80", "studio.lan:80"}),
        ("0.0.0.0", 8000, (), {"127.0.0.1:8000", "localhost:8000", "[::1]:8000", "0.0.0.0:8000"}),
    ],
)
def test_host_names(host, port, extra, names):
    assert host_names(host, port, extra) == names
