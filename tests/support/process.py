"""Real daemons for integration tests and benchmarks: own session, 127.0.0.1, stopped by pid.

`Daemon` is the shared part of every launcher in tests/support (Prometheus, Alertmanager,
`meshwatch serve`): write the config, start the command in its own process session with
stdout/stderr appended to a log file, wait until an HTTP readiness URL answers 200 (failing
early when the process exits), and stop it by its pid: SIGTERM, then SIGKILL after a timeout.
Subclasses say what to run (`command()`), what to write first (`prepare()`) and where
readiness is (`ready_path`). `spawn` and `stop_process` serve launchers that cannot be a
`Daemon` (Envoy reads its ports back from files).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Self

import httpx


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(check: Callable[[], object], timeout: float, what: str, every: float = 0.05) -> float:
    """Poll `check` until truthy; the seconds it took. Exceptions count as not yet."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        with contextlib.suppress(Exception):
            if check():
                return time.monotonic() - start
        time.sleep(every)
    raise TimeoutError(f"timed out after {timeout} s waiting for {what}")


def spawn(
    command: Sequence[str],
    log_path: Path,
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    """Start `command` in its own session, stdout and stderr appended to `log_path`."""
    with log_path.open("ab") as log:
        return subprocess.Popen(
            list(command),
            cwd=cwd,
            env=None if env is None else dict(env),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )


def stop_process(proc: subprocess.Popen[bytes], timeout: float = 10.0) -> int:
    """SIGTERM by pid, SIGKILL after `timeout` s; the exit code. Idempotent."""
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout)
    return proc.returncode


class Daemon:
    """One daemon on a free port; use as a context manager or call `start()` / `stop()`."""

    name = "daemon"
    ready_path = "/-/ready"
    stop_timeout = 10.0

    def __init__(self, workdir: Path, log_name: str, *, port: int | None = None) -> None:
        self.workdir = workdir
        self.log_path = workdir / log_name
        self._fixed_port = port
        self.port = 0
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self._proc is not None, "not started"
        return self._proc.pid

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def returncode(self) -> int | None:
        return None if self._proc is None else self._proc.poll()

    def prepare(self) -> None:
        """Write what the command reads (config files); called after `port` is chosen."""

    def command(self) -> list[str]:
        raise NotImplementedError

    def environment(self) -> dict[str, str] | None:
        """The child's environment; None inherits the parent's."""
        return None

    def cwd(self) -> Path | None:
        return None

    def start(self, timeout: float = 30.0) -> Self:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = self._fixed_port or free_port()
        self.prepare()
        self._proc = spawn(self.command(), self.log_path, cwd=self.cwd(), env=self.environment())
        self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout: float) -> None:
        """Until `ready_path` answers 200; stop and raise if the process exits or time runs out."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.running:
                raise RuntimeError(f"{self.name} exited ({self.returncode}): {self.log()}")
            try:
                if self.is_ready():
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"{self.name} not ready in {timeout}s: {self.log()}")

    def is_ready(self) -> bool:
        """One readiness probe: `ready_path` answers 200 (subclasses may authenticate)."""
        return httpx.get(f"{self.url}{self.ready_path}", timeout=1).status_code == 200

    def log(self, tail: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-tail:]
        except OSError:
            return ""

    def stop(self, timeout: float | None = None) -> int | None:
        """SIGTERM, then SIGKILL after `timeout`; the exit code (None if never started)."""
        if self._proc is None:
            return None
        return stop_process(self._proc, self.stop_timeout if timeout is None else timeout)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
