"""The consumer's HTTP/1.1 client for the nodes' protocol: one kept-alive connection per
thread and provider, a request written as bytes, the answer read by httptools' parser (the C
parser uvicorn serves with, pinned already).

Why not a general client: a signed query is one small POST and one small answer on a
connection that stays open, and the general clients cost more than the exchange around them.
Per exchange, measured here (bench/exchange_fetch.py; docs/benchmarks.md, Exchange): httpx
~3 ms of CPU; the standard library's http.client 0.45 ms, of which 46 µs reading the answer's
header lines through the email package and 45 µs building httpx's request and response
objects for the signing code; this module's answer reading 3 µs. What it does not do it
refuses rather than guesses: no redirects, no proxies, no compression, no 100-continue.
"""

from __future__ import annotations

import json
import socket
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httptools


@dataclass(slots=True)
class Request:
    """A request to send: what the signing code reads (method, url, headers, content)."""

    method: str
    url: str
    headers: dict[str, str]
    content: bytes


class Headers:
    """An answer's header fields, looked up without regard to case (several lines kept)."""

    __slots__ = ("_fields",)

    def __init__(self, raw: list[tuple[str, str]]) -> None:
        self._fields: dict[str, list[str]] = {}
        for name, value in raw:
            self._fields.setdefault(name.lower(), []).append(value)

    def get(self, name: str, default: str | None = None) -> str | None:
        """The field's value (several lines joined by commas, as RFC 9110 reads them)."""
        values = self._fields.get(name.lower())
        return default if values is None else ", ".join(values)

    def get_list(self, name: str) -> list[str]:
        """Each line of the field (the signing code needs exactly one)."""
        return list(self._fields.get(name.lower(), ()))

    def __getitem__(self, name: str) -> str:
        value = self.get(name)
        if value is None:
            raise KeyError(name)
        return value

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._fields

    def items(self) -> Iterator[tuple[str, str]]:
        """Every (name, value) line, names in lower case."""
        for name, values in self._fields.items():
            for value in values:
                yield name, value


@dataclass(slots=True)
class Response:
    """An answer: status, header fields and body (and the request it answers)."""

    status_code: int
    headers: Headers
    content: bytes
    request: Request

    def json(self) -> Any:
        """The body as JSON (ValueError when it is not)."""
        return json.loads(self.content)


class Unreachable(Exception):
    """The provider could not be reached or did not answer in time (`timed_out`)."""

    def __init__(self, *, timed_out: bool) -> None:
        super().__init__("timed out" if timed_out else "unreachable")
        self.timed_out = timed_out


class _Stale(Exception):
    """A kept-alive connection the provider had closed: the request never reached it."""


@dataclass
class _Reading:
    """httptools' callbacks: the answer as it is parsed."""

    fields: list[tuple[str, str]] = field(default_factory=list)
    body: list[bytes] = field(default_factory=list)
    complete: bool = False
    keep_alive: bool = False
    parser: Any = None

    def on_header(self, name: bytes, value: bytes) -> None:
        self.fields.append((name.decode("latin-1"), value.decode("latin-1")))

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        self.complete = True
        # Asked here: once the message is done the parser starts on the next one.
        self.keep_alive = bool(self.parser.should_keep_alive())


class _Connections(threading.local):
    """Each thread's kept-alive connections, by (scheme, host, port)."""

    def __init__(self) -> None:
        self.open: dict[tuple[str, str, int], socket.socket] = {}


_connections = _Connections()
_tls = ssl.create_default_context()
_CHUNK = 65536


def _connect(scheme: str, host: str, port: int, timeout: float) -> socket.socket:
    sock = socket.create_connection((host, port), timeout=timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if scheme == "https":
        return _tls.wrap_socket(sock, server_hostname=host)
    return sock


def _head(request: Request, host: str, target: str) -> bytes:
    lines = [f"{request.method} {target} HTTP/1.1", f"host: {host}"]
    for name, value in request.headers.items():
        if "\r" in value or "\n" in value or "\r" in name or "\n" in name or ":" in name:
            raise ValueError(f"header {name!r} cannot be sent")
        if name.lower() not in ("host", "content-length", "connection", "transfer-encoding"):
            lines.append(f"{name}: {value}")
    lines.append(f"content-length: {len(request.content)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _exchange(sock: socket.socket, payload: bytes, request: Request) -> tuple[Response, bool]:
    """Send and read one answer; (the answer, whether the connection may be kept)."""
    sock.sendall(payload)
    reading = _Reading()
    parser = reading.parser = httptools.HttpResponseParser(reading)
    received = False
    while not reading.complete:
        data = sock.recv(_CHUNK)
        if not data:
            if not received:
                raise _Stale
            # Not stale: the provider had the request. Unreachable, never sent twice.
            raise OSError("the provider closed the connection in the middle of its answer")
        received = True
        parser.feed_data(data)
    answer = Response(
        status_code=parser.get_status_code(),
        headers=Headers(reading.fields),
        content=b"".join(reading.body),
        request=request,
    )
    return answer, reading.keep_alive


def send(request: Request, *, timeout: float) -> Response:
    """Send a request on this thread's kept-alive connection to its host; the answer.

    A connection the provider closed meanwhile fails before any answer: the request never
    reached it, so it is sent once more on a new connection. Raises Unreachable."""
    url = urlsplit(request.url)
    scheme, host = url.scheme, url.hostname or ""
    port = url.port or (443 if scheme == "https" else 80)
    if scheme not in ("http", "https") or not host or url.query or url.fragment:
        raise ValueError(f"cannot send to {request.url!r}")
    key = (scheme, host, port)
    payload = _head(request, url.netloc, url.path or "/") + request.content
    for attempt in (1, 2):
        sock = _connections.open.pop(key, None)
        reused = sock is not None
        try:
            if sock is None:
                sock = _connect(scheme, host, port, timeout)
            else:
                sock.settimeout(timeout)
            answer, keep = _exchange(sock, payload, request)
        except (_Stale, ConnectionResetError, BrokenPipeError):
            if sock is not None:
                sock.close()
            if reused and attempt == 1:
                continue
            raise Unreachable(timed_out=False) from None
        except TimeoutError:
            if sock is not None:
                sock.close()
            raise Unreachable(timed_out=True) from None
        except (OSError, httptools.HttpParserError):
            if sock is not None:
                sock.close()
            raise Unreachable(timed_out=False) from None
        if keep:
            _connections.open[key] = sock
        else:
            sock.close()
        return answer
    raise Unreachable(timed_out=False)  # pragma: no cover (the loop returns or raises)
