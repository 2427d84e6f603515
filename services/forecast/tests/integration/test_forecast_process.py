"""``python -m tc_forecast`` runs as a real process configured from its environment."""

import os
import signal
import subprocess
import sys
import time

import httpx
import pytest

from tc_devstack import LocalKafka, free_port, wait_for_port

pytestmark = [pytest.mark.integration, pytest.mark.timeout(90)]


def test_service_process_serves_healthz_and_metrics(kafka: LocalKafka) -> None:
    port = free_port()
    env = {
        **os.environ,
        "FORECAST_KAFKA__BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
        "FORECAST_HTTP__PORT": str(port),
    }
    proc = subprocess.Popen([sys.executable, "-m", "tc_forecast"], env=env)
    try:
        wait_for_port("127.0.0.1", port, timeout_s=30)
        deadline = time.monotonic() + 30
        health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=10)
        while health.status_code != 204 and time.monotonic() < deadline:
            time.sleep(0.2)
            health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=10)
        metrics = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10)
    finally:
        proc.terminate()
        returncode = proc.wait(timeout=30)

    assert health.status_code == 204
    assert "tc_dead_letters_total" in metrics.text
    # uvicorn shuts down gracefully on SIGTERM, then re-raises it: -SIGTERM is a clean exit.
    assert returncode in (0, -signal.SIGTERM)
