"""Request bodies are capped before they are read (issue #12, item 5): a body whose length is
declared over its route's limit is answered 413 without a byte read; one streamed without a
length is cut at the limit; the answer is problem+json on the API and a page in the user's
language on pages, never a 400 or a 500, and a real server does not take in the rest."""

from __future__ import annotations

import asyncio
import contextlib
import select
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI, File, Request, UploadFile
from fastapi.testclient import TestClient
from starlette.types import Message

from tongban.platform.config import Settings
from tongban.platform.errors import install_error_handlers
from tongban.platform.web.limits import BodyLimitMiddleware
from tongban.shell.app import create_app

LIMIT = 1000


def _app() -> tuple[FastAPI, dict[str, int]]:
    seen = {"calls": 0}
    app = FastAPI()
    install_error_handlers(app)
    app.add_middleware(BodyLimitMiddleware, default=LIMIT, routes=[(r"/files/[^/]+", 4 * LIMIT)])

    @app.post("/echo")
    async def echo(request: Request) -> dict[str, int]:
        seen["calls"] += 1
        return {"bytes": len(await request.body())}

    @app.post("/files/{name}")
    async def files(name: str, file: UploadFile = File()) -> dict[str, int]:
        seen["calls"] += 1
        return {"bytes": len(await file.read())}

    return app, seen


def test_bodies_within_their_routes_limit_pass() -> None:
    app, seen = _app()
    client = TestClient(app)
    assert client.post("/echo", content=bytes(LIMIT)).json() == {"bytes": LIMIT}
    r = client.post("/files/a", files={"file": ("a", bytes(3 * LIMIT))})
    assert r.json() == {"bytes": 3 * LIMIT} and seen["calls"] == 2


def test_a_declared_length_over_the_limit_is_refused_before_the_app_runs() -> None:
    app, seen = _app()
    client = TestClient(app)
    r = client.post("/echo", content=bytes(LIMIT + 1))
    assert r.status_code == 413 and r.headers["content-type"] == "application/problem+json"
    problem = r.json()
    assert problem["status"] == 413 and problem["instance"] == "/echo"
    assert problem["errors"] == [{"field": "body", "message": f"at most {LIMIT} bytes"}]
    assert r.headers["connection"] == "close"
    # A file route has its own, larger limit.
    r = client.post("/files/a", files={"file": ("a", bytes(5 * LIMIT))})
    assert r.status_code == 413 and seen["calls"] == 0


def _run(app: Any, headers: list[tuple[bytes, bytes]], chunks: int) -> tuple[list[Message], int]:
    """Call the ASGI app with a body of `chunks` 500-byte chunks; what it sent, chunks read."""
    sent: list[Message] = []
    read = 0

    async def receive() -> Message:
        nonlocal read
        read += 1
        return {"type": "http.request", "body": bytes(500), "more_body": read < chunks}

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/echo",
        "raw_path": b"/echo",
        "root_path": "",
        "query_string": b"",
        "headers": headers,
        "client": ("127.0.0.1", 1),
        "server": ("testserver", 80),
        "app": app,
    }
    asyncio.run(app(scope, receive, send))
    return sent, read


def test_a_declared_length_over_the_limit_reads_nothing() -> None:
    app, seen = _app()
    sent, read = _run(app, [(b"content-length", b"150000000")], chunks=300_000)
    assert read == 0 and seen["calls"] == 0
    assert sent[0]["type"] == "http.response.start" and sent[0]["status"] == 413


def test_a_streamed_body_is_cut_at_the_limit_and_answered_413() -> None:
    app, _seen = _app()
    # No Content-Length (chunked): 150 MB on offer, the app stops reading past the limit.
    sent, read = _run(app, [], chunks=300_000)
    assert read == LIMIT // 500 + 1
    assert sent[0]["status"] == 413
    assert (b"content-type", b"application/problem+json") in sent[0]["headers"]


def test_a_streamed_file_form_gets_413_not_the_parsers_400() -> None:
    app, _seen = _app()
    client = TestClient(app)

    def body() -> Iterator[bytes]:
        yield b"--b\r\nContent-Disposition: form-data; name=file; filename=a\r\n\r\n"
        for _ in range(100):
            yield bytes(500)
        yield b"\r\n--b--\r\n"

    r = client.post(
        "/files/a", content=body(), headers={"content-type": "multipart/form-data; boundary=b"}
    )
    assert r.status_code == 413 and r.json()["status"] == 413


@pytest.fixture
def node(tmp_path: Path) -> FastAPI:
    settings = Settings(
        data_dir=tmp_path / "var",
        database_url=f"sqlite:///{tmp_path / 'unused.db'}",
        upload_max_bytes=100_000,
        request_max_bytes=64 * 1024,
    )
    return create_app(settings)


def test_the_node_answers_pages_with_a_page_in_the_users_language(node: FastAPI) -> None:
    client = TestClient(node)
    html = {"Accept": "text/html", "Accept-Language": "zh-CN"}
    r = client.post("/login", content=bytes(64 * 1024 + 1), headers=html)
    assert r.status_code == 413 and r.headers["content-type"].startswith("text/html")
    assert "文件太大" in r.text
    # The page went through the web front's middlewares: it carries the security headers.
    assert r.headers["x-content-type-options"] == "nosniff"
    r = client.post(
        "/login", content=bytes(64 * 1024 + 1), headers={**html, "Accept-Language": "en"}
    )
    assert "The file is too large" in r.text


def test_the_node_gives_file_routes_their_files_limit(node: FastAPI) -> None:
    client = TestClient(node)
    allowance = 100_000 + 64 * 1024
    # Over the general limit, within an upload's: the request reaches the route (and its
    # caller is asked for), which is how the limit is told apart from the general one.
    r = client.post("/api/v1/uploads", files={"file": ("a", bytes(100_000))})
    assert r.status_code == 401
    r = client.post("/api/v1/uploads", content=bytes(allowance + 1))
    assert r.status_code == 413 and r.json()["errors"][0]["field"] == "body"
    r = client.post("/api/v1/auth/login", content=bytes(64 * 1024 + 1))
    assert r.status_code == 413
    # The desk's application carries every paper at once.
    r = client.post("/desk/apply/X", content=bytes(10 * 100_000 + 64 * 1024 + 1))
    assert r.status_code == 413
    r = client.post("/desk/apply/X", content=bytes(2 * 100_000))
    assert r.status_code != 413


@pytest.fixture
def served(node: FastAPI) -> Iterator[tuple[str, int]]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    server = uvicorn.Server(uvicorn.Config(node, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    try:
        yield "127.0.0.1", port
    finally:
        server.should_exit = True
        thread.join(10)


def _response_head(sock: socket.socket) -> bytes:
    head = b""
    while b"\r\n\r\n" not in head:
        part = sock.recv(65536)
        if not part:
            break
        head += part
    return head


def test_a_real_server_answers_a_150_mb_upload_without_receiving_it(
    served: tuple[str, int],
) -> None:
    started = time.monotonic()
    with socket.create_connection(served, timeout=10) as sock:
        sock.sendall(
            b"POST /api/v1/uploads HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; "
            b"boundary=b\r\nContent-Length: 157286400\r\n\r\n"
        )
        head = _response_head(sock)  # answered before a byte of the body is sent
    assert head.startswith(b"HTTP/1.1 413"), head
    assert b"application/problem+json" in head
    assert time.monotonic() - started < 5


def test_a_real_server_stops_taking_a_chunked_body_past_the_limit(
    served: tuple[str, int],
) -> None:
    chunk = b"%x\r\n%s\r\n" % (65536, bytes(65536))
    sent = 0
    head = b""
    with socket.create_connection(served, timeout=5) as sock:
        sock.sendall(
            b"POST /api/v1/uploads HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; "
            b"boundary=b\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        part = b"--b\r\nContent-Disposition: form-data; name=file; filename=a\r\n\r\n"
        sock.sendall(b"%x\r\n%s\r\n" % (len(part), part))
        try:
            while sent < 150 * 1024 * 1024:
                if select.select([sock], [], [], 0)[0]:
                    break  # the server answered
                sock.sendall(chunk)
                sent += 65536
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            pass
        with contextlib.suppress(ConnectionResetError, TimeoutError):
            head = _response_head(sock)
    # The server read up to the limit (plus what the sockets buffer), not the 150 MB.
    assert sent < 32 * 1024 * 1024, sent
    assert head.startswith(b"HTTP/1.1 413"), head
