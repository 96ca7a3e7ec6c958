"""The consumer's HTTP transport (exchange/remote.py `send`, the standard library's client on
kept-alive connections instead of httpx): the provider receives what httpx would have sent,
the answer reads the same, a connection the provider closed meanwhile is replaced without the
caller noticing, and a silent or absent provider is Unreachable (timed out or not)."""

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

from tongban.exchange import remote


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


def _request(base: str) -> httpx.Request:
    return httpx.Request(
        "POST",
        f"{base}{remote.QUERY_PATH}",
        content=b'{"resource": "RS-YLBX-001"}',
        headers={"content-type": "application/json", "x-road-id": "abc", "signature": "tb=:x:"},
    )


def test_the_provider_receives_what_httpx_sends_and_the_answer_reads_the_same() -> None:
    with _server() as (base, handler):
        with httpx.Client() as client:
            expected = client.send(_request(base))
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
