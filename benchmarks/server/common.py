"""Helpers shared by the server benchmarks: start/stop a server subprocess, make a key.

Everything binds to 127.0.0.1; every run is bounded in requests and seconds.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from medsage.server.auth import create_key
from medsage.server.store import Store


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def make_key(db_url: str, rate: int = 0) -> str:
    """Create a clinician key with no rate limit in the database at ``db_url``."""
    store = Store(db_url)
    key, _ = create_key(store, "benchmark", "clinician", rate_per_minute=rate)
    store.close()
    return key


class ServerProcess:
    """``uvicorn medsage.server.app_env:app`` in a subprocess on 127.0.0.1.

    Args:
        port: TCP port.
        env: Extra ``MEDSAGE_*`` variables (database, models …).
        log: File that receives the server's output.
    """

    def __init__(self, port: int, env: dict[str, str], log: Path) -> None:
        self.port = port
        self.env = {**os.environ, "MEDSAGE_RATE_PER_MINUTE": "0", **env}
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> float:
        """Start and wait until ``/healthz`` answers; return the seconds it took."""
        t0 = time.perf_counter()
        cmd = [sys.executable, "-m", "uvicorn", "medsage.server.app_env:app", "--host", "127.0.0.1",
               "--port", str(self.port), "--log-level", "warning", "--timeout-graceful-shutdown", "10"]
        out = self.log.open("ab")
        self.proc = subprocess.Popen(cmd, env=self.env, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}; see {self.log}")
            try:
                if httpx.get(self.url + "/healthz", timeout=1.0).status_code == 200:
                    return time.perf_counter() - t0
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("server did not become healthy in time")

    def stop(self, timeout: float = 20.0) -> float:
        """SIGTERM (graceful: in-flight requests finish), then SIGKILL after ``timeout``."""
        if self.proc is None or self.proc.poll() is not None:
            return 0.0
        t0 = time.perf_counter()
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)
        return time.perf_counter() - t0
