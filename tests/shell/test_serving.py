"""Serving with several workers: the shared socket must give connections TCP_NODELAY."""

from __future__ import annotations

import asyncio
import socket

from tongban.shell.cli import bind_shared_socket


def test_connections_on_the_shared_socket_get_tcp_nodelay() -> None:
    async def scenario() -> int:
        sock = bind_shared_socket(host="127.0.0.1", port=0)
        port = sock.getsockname()[1]
        seen: asyncio.Future[int] = asyncio.get_running_loop().create_future()

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            accepted = writer.get_extra_info("socket")
            seen.set_result(accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            writer.close()

        server = await asyncio.start_server(handle, sock=sock)
        async with server:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            value = await asyncio.wait_for(seen, timeout=5)
            writer.close()
        return value

    # Without it, every response waits for the client's delayed ACK (about 40 ms on Linux).
    assert asyncio.run(scenario()) != 0
