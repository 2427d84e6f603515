"""One service as a real ``python -m`` process, for the services' process tests.

The process is configured only from its environment (``<PREFIX>_KAFKA__BOOTSTRAP_SERVERS``,
``<PREFIX>_HTTP__PORT`` and any other settings given), probed over HTTP once it is healthy,
then stopped with SIGTERM.
"""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass

import httpx

from tc_devstack.net import free_port, wait_for_port

START_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class ServiceRun:
    """What one start-probe-stop cycle of a service process showed."""

    health_status: int
    metrics_text: str
    returncode: int

    @property
    def stopped_cleanly(self) -> bool:
        # uvicorn shuts down gracefully on SIGTERM, then re-raises it: -SIGTERM is a clean exit.
        return self.returncode in (0, -signal.SIGTERM)


def run_service_process(
    package: str,
    env_prefix: str,
    kafka_bootstrap_servers: str,
    extra_env: Mapping[str, str] | None = None,
) -> ServiceRun:
    """Start ``python -m <package>``, wait until ``/healthz`` answers 204 (or give up after
    ``START_TIMEOUT_S``), read ``/metrics``, then SIGTERM it and wait for it to exit.
    ``extra_env``: the service's other settings (a database URL, say)."""
    port = free_port()
    env = {
        **os.environ,
        **(extra_env or {}),
        f"{env_prefix}_KAFKA__BOOTSTRAP_SERVERS": kafka_bootstrap_servers,
        f"{env_prefix}_HTTP__PORT": str(port),
    }
    base_url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen([sys.executable, "-m", package], env=env)
    try:
        wait_for_port("127.0.0.1", port, timeout_s=START_TIMEOUT_S)
        deadline = time.monotonic() + START_TIMEOUT_S
        health = httpx.get(f"{base_url}/healthz", timeout=10)
        while health.status_code != 204 and time.monotonic() < deadline:
            time.sleep(0.2)
            health = httpx.get(f"{base_url}/healthz", timeout=10)
        metrics = httpx.get(f"{base_url}/metrics", timeout=10)
    finally:
        proc.terminate()
        returncode = proc.wait(timeout=STOP_TIMEOUT_S)
    return ServiceRun(health.status_code, metrics.text, returncode)
