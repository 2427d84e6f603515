import asyncio
import logging

import pytest

from tc_forecast.periodic import PeriodicTask


async def test_a_failing_step_is_logged_and_the_loop_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    calls = 0

    async def step() -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("first refit fails")

    task = PeriodicTask("test-loop", 0.01, step, logging.getLogger("test"))
    task.start()
    for _ in range(200):
        if calls >= 3:
            break
        await asyncio.sleep(0.01)
    await task.stop()
    assert calls >= 3
    assert "test-loop step failed" in caplog.text


async def test_stop_ends_the_loop() -> None:
    calls = 0

    async def step() -> None:
        nonlocal calls
        calls += 1

    task = PeriodicTask("test-loop", 0.01, step, logging.getLogger("test"))
    task.start()
    await asyncio.sleep(0.05)
    await task.stop()
    after_stop = calls
    await asyncio.sleep(0.05)
    assert calls == after_stop
    await task.stop()  # stopping twice is harmless
