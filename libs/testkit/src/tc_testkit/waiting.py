"""Waiting for something that happens in the background: a poller's loop, a service's consumer.

Tests of loops and of running services cannot await the moment they assert on; they poll.
Each suite had its own polling loop (three called ``eventually``, one ``wait_until``) with
different ways to fail. This is the one: it takes a plain or an async check, polls often at
first and then less (a quick loop is seen at once, a database is not hammered), and a timeout
fails the test saying what it waited for instead of raising a bare ``TimeoutError``.
"""

import asyncio
import inspect
from collections.abc import Awaitable, Callable

FIRST_INTERVAL_S = 0.01
LONGEST_INTERVAL_S = 0.2


async def eventually(
    check: Callable[[], bool | Awaitable[bool]],
    *,
    timeout_s: float = 3.0,
    what: str = "the condition",
) -> None:
    """Return once ``check()`` holds; raise ``AssertionError`` naming ``what`` after
    ``timeout_s``. ``check`` may be a coroutine function (a query, an HTTP call)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    interval = FIRST_INTERVAL_S
    while True:
        result = check()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return
        if loop.time() >= deadline:
            raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")
        await asyncio.sleep(interval)
        interval = min(2 * interval, LONGEST_INTERVAL_S)
