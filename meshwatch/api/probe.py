"""`/readyz`'s store check, off the request thread pool and with a deadline.

The check runs on one thread of its own, so a thread pool saturated by slow requests cannot
delay it, and a store that hangs makes `/readyz` say so after `timeout` seconds instead of
hanging the probe. Concurrent probes share the ping in progress.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor


class StoreProbe:
    def __init__(self, ping: Callable[[], None], timeout: float = 2.0) -> None:
        self._ping = ping
        self.timeout = timeout
        self._executor: ThreadPoolExecutor | None = None
        self._running: asyncio.Future[None] | None = None

    async def problem(self) -> str | None:
        """None when the store answered `SELECT 1` in time, else why not."""
        if self._running is None or self._running.done():
            if self._executor is None:
                self._executor = ThreadPoolExecutor(1, thread_name_prefix="meshwatch-readyz")
            self._running = asyncio.get_running_loop().run_in_executor(self._executor, self._ping)
        try:
            await asyncio.wait_for(asyncio.shield(self._running), self.timeout)
        except TimeoutError:
            return f"store did not answer within {self.timeout:g} s"
        except Exception as exc:  # any failure to reach the store means not ready
            return f"store unreachable: {type(exc).__name__}"
        return None

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False)
