"""A background step run every so often in a service's event loop, stoppable."""

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any


class PeriodicTask:
    """Runs ``step`` every ``interval_s`` seconds until stopped.

    A step that raises is logged and the loop goes on: one bad refit or plan must not end
    the service's background work for every zone or vehicle after it.
    """

    def __init__(
        self,
        name: str,
        interval_s: float,
        step: Callable[[], Awaitable[Any]],
        log: logging.Logger,
    ) -> None:
        self._name = name
        self._interval_s = interval_s
        self._step = step
        self._log = log
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name=self._name)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self._interval_s)
            try:
                await self._step()
            except Exception:
                self._log.exception("%s step failed", self._name)
