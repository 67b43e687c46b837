"""The studio's guard: a pure ASGI middleware between the server and every route.

The studio listens on this machine (127.0.0.1 by default) and runs a model and writes files on request, so
a web page the user visits elsewhere must not be able to use it. The guard answers 403 to

* a request whose ``Host`` is not one the studio is reached by (``127.0.0.1``, ``localhost``, ``[::1]``,
  the ``--host`` it listens on and any ``--allow-host``, each with its port): a page of another site that
  rebinds its DNS name to 127.0.0.1 (DNS rebinding) still sends its own name;
* a state-changing request (any method but GET and HEAD) whose ``Origin`` is another site or ``null``,
  or that lacks the session's token (``X-Overworld-Token``; the page carries it in a meta tag, so only a
  client that could read the page can send it);

415 to a state-changing request that is not a form (multipart or urlencoded), 413 to a body over
``max_body`` bytes (by its Content-Length before reading it, else while it streams in), and it adds the
security headers (no framing, a self-only Content-Security-Policy, nosniff, no referrer) to every response.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

__all__ = ["SECURITY_HEADERS", "TOKEN_HEADER", "Guard", "GuardConfig", "host_names"]

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

TOKEN_HEADER = "x-overworld-token"
SAFE_METHODS = frozenset({"GET", "HEAD"})
FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")
LOOPBACK = ("127.0.0.1", "localhost", "[::1]")
SECURITY_HEADERS = (
    ("x-frame-options", "DENY"),
    (
        "content-security-policy",
        "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
        "form-action 'self'; frame-ancestors 'none'",
    ),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "no-referrer"),
    ("cross-origin-resource-policy", "same-origin"),
    ("cross-origin-opener-policy", "same-origin"),
)


def host_names(host: str, port: int, extra: tuple[str, ...] = ()) -> frozenset[str]:
    """The ``Host`` values (lower case, with the port) the studio answers: the loopback names, ``host``
    (an IPv6 address in brackets) and the ``extra`` names it is reached by on a network."""
    names = {*LOOPBACK, host, *extra}
    bracketed = {f"[{n}]" if ":" in n and not n.startswith("[") else n for n in names if n}
    return frozenset(f"{n.lower()}:{port}" for n in bracketed)


@dataclass(frozen=True)
class GuardConfig:
    """``hosts``: the accepted ``Host`` values (see :func:`host_names`); ``token``: the session's token;
    ``max_body``: the most bytes a request body may hold."""

    hosts: frozenset[str]
    token: str
    max_body: int

    def __post_init__(self) -> None:
        if not self.hosts or len(self.token) < 16 or self.max_body < 1:
            raise ValueError("a guard needs hosts, a token of 16 characters or more and a positive max_body")

    @property
    def origins(self) -> frozenset[str]:
        return frozenset(f"http://{h}" for h in self.hosts)


class _TooLarge(Exception):
    pass


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}


def _refusal(config: GuardConfig, method: str, headers: dict[str, str]) -> tuple[int, str] | None:
    """The status and one line refusing the request, or None to let it through."""
    host = headers.get("host", "").lower()
    if host not in config.hosts:
        return 403, f"this studio does not answer to the host {host[:100]!r}; open it at its own address"
    if method in SAFE_METHODS:
        return None
    origin = headers.get("origin")
    if origin is not None and origin.lower() not in config.origins:
        return 403, f"a request from another origin ({origin[:100]!r}) may not change this studio"
    if not secrets.compare_digest(headers.get(TOKEN_HEADER, "").encode(), config.token.encode()):
        return 403, f"the request lacks this studio's token (the page sends it as {TOKEN_HEADER})"
    kind = headers.get("content-type", "").split(";")[0].strip().lower()
    if kind not in FORM_TYPES:
        return (
            415,
            f"the studio takes forms ({' or '.join(FORM_TYPES)}), not {kind[:60] or 'no content type'!r}",
        )
    length = headers.get("content-length")
    if length is not None and not length.isdigit():
        return 400, f"the Content-Length {length[:30]!r} is not a number of bytes"
    if length is not None and int(length) > config.max_body:
        return 413, f"the request is {int(length):,} bytes; the studio takes at most {config.max_body:,}"
    return None


class Guard:
    """The middleware (``app.add_middleware(Guard, config=GuardConfig(...))``)."""

    def __init__(self, app: Callable[..., Awaitable[None]], config: GuardConfig) -> None:
        self.app, self.config = app, config

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":  # the studio has none; never to another host
            await send({"type": "websocket.close", "code": 1008})
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refusal = _refusal(self.config, scope["method"], _headers(scope))
        if refusal is not None:
            await self._answer(send, *refusal)
            return
        started, received = False, 0

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message["headers"] = [*message.get("headers", []), *self._security()]
            await send(message)

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.config.max_body:
                raise _TooLarge
            return message

        try:
            await self.app(scope, counted_receive, guarded_send)
        except _TooLarge:
            if started:
                raise
            await self._answer(
                send, 413, f"the request is over the {self.config.max_body:,} bytes the studio takes"
            )
        except Exception as exc:  # one line for the page, the traceback in the log, the headers still on
            if started:
                raise
            log.exception("studio request %s %s failed", scope["method"], scope.get("path"))
            await self._answer(
                send, 500, f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
            )

    @staticmethod
    def _security() -> list[tuple[bytes, bytes]]:
        return [(k.encode(), v.encode()) for k, v in SECURITY_HEADERS]

    async def _answer(self, send: Send, status: int, error: str) -> None:
        body = json.dumps({"error": error}).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
            *self._security(),
        ]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
