"""A real Chroma server (`chroma run`) for tests: start, wait for its heartbeat, stop, restart."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

CHROMA = Path(sys.executable).parent / "chroma"
HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def heartbeat(port: int, timeout: float = 1.0) -> bool:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(f"http://{HOST}:{port}/api/v2/heartbeat", timeout=timeout) as r:
            return r.status == 200
    except OSError:
        return False


class ChromaServer:
    """One `chroma run --path PATH --host 127.0.0.1 --port N` process."""

    def __init__(self, path: Path, port: int | None = None) -> None:
        self.path = path
        self.port = port or free_port()
        self.host = HOST
        self.log = path.parent / f"{path.name}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self, timeout: float = 60.0) -> ChromaServer:
        if not CHROMA.exists():
            raise FileNotFoundError(f"{CHROMA} not found (is chromadb installed in this venv?)")
        self.path.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "NO_PROXY": "127.0.0.1,localhost", "ANONYMIZED_TELEMETRY": "False"}
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [str(CHROMA), "run", "--path", str(self.path), "--host", HOST,
                 "--port", str(self.port)],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if heartbeat(self.port, 0.5):
                return self
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        tail = self.log.read_text(errors="replace")[-2000:]
        self.stop()
        raise RuntimeError(f"chroma run on port {self.port} did not start:\n{tail}")

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        deadline = time.monotonic() + 10
        while heartbeat(self.port, 0.2) and time.monotonic() < deadline:
            time.sleep(0.05)

    def restart(self) -> ChromaServer:
        self.stop()
        return self.start()


@contextmanager
def serving(path: Path) -> Iterator[ChromaServer]:
    """A started server for a fixture; a missing `chroma` fails the test, never skips it."""
    server = ChromaServer(path)
    try:
        server.start()
    except FileNotFoundError as exc:
        pytest.fail(str(exc))
    try:
        yield server
    finally:
        server.stop()
