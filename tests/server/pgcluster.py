"""A throwaway PostgreSQL cluster (Debian's ``postgresql`` package) for replica tests.

Unix socket only (no TCP), ``trust`` auth, ``fsync=off``; as root it runs as the
``postgres`` user through ``runuser``. :class:`Cluster` can restart the server, to test
what the service does when its database goes away mid-run.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import subprocess
import tempfile
from pathlib import Path


def _bin(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else shutil.which(name)


class Unavailable(Exception):
    """PostgreSQL cannot be started here (the test skips)."""


class Cluster:
    """``initdb`` + ``pg_ctl start`` in a temporary folder; :meth:`close` removes it."""

    def __init__(self, port: int = 55433) -> None:
        self.initdb, self.pg_ctl = _bin("initdb"), _bin("pg_ctl")
        if not self.initdb or not self.pg_ctl:
            raise Unavailable("PostgreSQL server binaries not installed")
        self.root = Path(tempfile.mkdtemp(prefix="medsage-pgr-"))
        self.data, self.sock, self.port = self.root / "data", self.root / "sock", port
        self.sock.mkdir()
        self.prefix: list[str] = []
        if os.geteuid() == 0:  # initdb refuses to run as root
            if not shutil.which("runuser"):
                raise Unavailable("running as root without runuser")
            self.prefix = ["runuser", "-u", "postgres", "--"]
            shutil.chown(self.root, "postgres")
            shutil.chown(self.sock, "postgres")
        try:
            self._run(self.initdb, "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")
            self.start()
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
            shutil.rmtree(self.root, ignore_errors=True)
            raise Unavailable(f"cannot start a throwaway PostgreSQL: {exc}") from exc

    @property
    def url(self) -> str:
        return f"postgresql://postgres@/postgres?host={self.sock}&port={self.port}"

    def _run(self, *cmd: str) -> None:
        subprocess.run([*self.prefix, *cmd], check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        assert self.pg_ctl is not None
        self._run(self.pg_ctl, "-D", str(self.data), "-w", "-t", "60", "-l", str(self.root / "log"), "-o",
                  f"-k {self.sock} -c listen_addresses='' -p {self.port} -c fsync=off", "start")

    def stop(self, mode: str = "fast") -> None:
        assert self.pg_ctl is not None
        self._run(self.pg_ctl, "-D", str(self.data), "-m", mode, "-w", "stop")

    def close(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError):
            self.stop()
        shutil.rmtree(self.root, ignore_errors=True)
