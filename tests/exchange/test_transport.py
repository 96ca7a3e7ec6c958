"""The consumer's HTTP transport (exchange/wire.py: requests written as bytes on kept-alive
connections, answers read by httptools' parser, instead of httpx): the provider receives what
httpx would have sent, the answer reads the same, a connection the provider closed meanwhile is
replaced without the caller noticing, and a silent, absent or broken provider is Unreachable
(timed out or not)."""

from __future__ import annotations

import http.server
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

import httpx
import pytest

from tongban.exchange import remote, wire


class _Recorder(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    seen: ClassVar[list[dict[str, Any]]] = []
    connections: ClassVar[list[int]] = []
    close_after_answer = False
    delay = 0.0

    def setup(self) -> None:
        super().setup()
        type(self).connections.append(1)

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["content-length"]))
        type(self).seen.append(
            {
                "method": self.command,
                "path": self.path,
                "headers": sorted((k.lower(), v) for k, v in self.headers.items()),
                "body": body,
            }
        )
        time.sleep(type(self).delay)
        answer = b'{"found": true}'
        try:
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("x-road-id", "abc")
            self.send_header("content-length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (a time-out)
            self.close_connection = True
            return
        if type(self).close_after_answer:  # closes without saying so (a stale keep-alive)
            self.close_connection = True

    def log_message(self, *_args: object) -> None:
        pass


@contextmanager
def _server(**behaviour: Any) -> Iterator[tuple[str, type[_Recorder]]]:
    handler = type("Handler", (_Recorder,), {"seen": [], "connections": [], **behaviour})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", handler
    finally:
        server.shutdown()
        server.server_close()


HEADERS = {"content-type": "application/json", "x-road-id": "abc", "signature": "tb=:x:"}
BODY = b'{"resource": "RS-YLBX-001"}'


def _request(base: str) -> wire.Request:
    return wire.Request(
        method="POST", url=f"{base}{remote.QUERY_PATH}", headers=dict(HEADERS), content=BODY
    )


def test_the_provider_receives_what_httpx_sends_and_the_answer_reads_the_same() -> None:
    with _server() as (base, handler):
        with httpx.Client() as client:
            asked = httpx.Request(
                "POST", f"{base}{remote.QUERY_PATH}", content=BODY, headers=HEADERS
            )
            expected = client.send(asked)
        got = remote.send(_request(base), timeout=5)
    by_httpx, by_us = handler.seen
    assert by_us["method"] == by_httpx["method"] == "POST"
    assert by_us["path"] == by_httpx["path"] == remote.QUERY_PATH
    assert by_us["body"] == by_httpx["body"]
    # httpx announces its encodings and agent; everything the signature covers is the same.
    differs = {"accept", "accept-encoding", "user-agent", "connection"}
    assert [h for h in by_us["headers"] if h[0] not in differs] == [
        h for h in by_httpx["headers"] if h[0] not in differs
    ]
    assert got.status_code == expected.status_code == 200
    assert got.content == expected.content and got.json() == {"found": True}
    assert got.headers["x-road-id"] == expected.headers["x-road-id"] == "abc"
    assert got.headers["X-Road-Id"] == "abc" and got.headers.get_list("x-road-id") == ["abc"]
    assert sorted(got.headers.items()) == sorted(expected.headers.items())
    assert got.request.method == "POST"  # what the signature library reads of a response


def test_connections_are_kept_alive_and_a_stale_one_is_replaced() -> None:
    with _server() as (base, handler):
        for _ in range(3):
            assert remote.send(_request(base), timeout=5).status_code == 200
        assert len(handler.connections) == 1  # one connection for three exchanges
    with _server(close_after_answer=True) as (base, handler):
        for _ in range(3):
            assert remote.send(_request(base), timeout=5).status_code == 200
        assert len(handler.seen) == 3  # each sent once: the stale connection never got it
        assert len(handler.connections) == 3


def test_a_silent_provider_times_out_and_an_absent_one_is_unreachable() -> None:
    with _server(delay=2.0) as (base, _handler):
        started = time.monotonic()
        with pytest.raises(remote.Unreachable) as slow:
            remote.send(_request(base), timeout=0.5)
        assert slow.value.timed_out and time.monotonic() - started < 1.9
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(remote.Unreachable) as absent:
        remote.send(_request(f"http://127.0.0.1:{port}"), timeout=2)
    assert not absent.value.timed_out


def test_several_lines_chunks_and_a_closing_provider_read_as_httpx_reads_them() -> None:
    # Two lines of one field stay two (the signing code wants exactly one of each it covers);
    # a chunked body is joined; an answer saying `connection: close` leaves no connection.
    answers = [
        b"HTTP/1.1 200 OK\r\nx-road-id: a\r\nX-Road-Id: b\r\ntransfer-encoding: chunked\r\n"
        b"\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
        b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 4\r\nconnection: close\r\n\r\nbusy",
    ]
    with _raw_server(answers) as (base, accepted):
        first = remote.send(_request(base), timeout=5)
        assert first.status_code == 200 and first.content == b"hello world"
        assert first.headers.get_list("x-road-id") == ["a", "b"]
        assert first.headers.get("x-road-id") == "a, b"
        second = remote.send(_request(base), timeout=5)
        assert second.status_code == 503 and second.content == b"busy"
        assert len(accepted) == 1  # kept alive after the first, as the first answer allowed
        port = int(base.rsplit(":", 1)[1])  # and closed after the second, as it asked
        assert ("http", "127.0.0.1", port) not in wire._connections.open


def test_an_answer_cut_short_is_unreachable_and_never_sent_twice() -> None:
    cut = [b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nonly part"]
    with _raw_server(cut, close_after=True) as (base, accepted):
        with pytest.raises(remote.Unreachable) as broken:
            remote.send(_request(base), timeout=5)
        assert not broken.value.timed_out
        assert len(accepted) == 1  # the provider had the request: it is not sent again


def test_a_header_that_would_split_the_request_is_refused_before_sending() -> None:
    request = _request("http://127.0.0.1:9")
    request.headers["x-road-purpose"] = "a\r\nx-injected: 1"
    with pytest.raises(ValueError, match="cannot be sent"):
        remote.send(request, timeout=1)


@contextmanager
def _raw_server(
    answers: list[bytes], *, close_after: bool = False
) -> Iterator[tuple[str, list[int]]]:
    """A provider answering each request with the next of `answers`, byte for byte."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    accepted: list[int] = []
    queue = list(answers)

    def serve() -> None:
        while queue:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            accepted.append(1)
            with conn:
                while queue:
                    if not _read_request(conn):
                        break
                    conn.sendall(queue.pop(0))
                    if close_after:
                        break

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}", accepted
    finally:
        listener.close()
        thread.join(5)


def _read_request(conn: socket.socket) -> bool:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            return False
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        body += conn.recv(4096)
    return True
