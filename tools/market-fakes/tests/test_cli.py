"""``python -m tc_market_fakes`` as a process: announces itself, serves, stops cleanly."""

import os
import signal
import socket
import subprocess
import sys

import httpx
import pytest


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_the_fakes_serve_until_told_to_stop_and_then_exit_cleanly(stop: signal.Signals) -> None:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "tc_market_fakes", "--port", str(port), "--seed", "3"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "MARKET_FAKES_ENTSOE_TOKEN": "cli-token-abcdef"},
    )
    try:
        assert proc.stdout is not None
        assert (
            proc.stdout.readline().strip() == f"market fakes listening on http://127.0.0.1:{port}"
        )
        r = httpx.get(
            f"http://127.0.0.1:{port}/entsoe/api",
            params={"securityToken": "cli-token-abcdef"},
            timeout=10,
        )
        assert r.status_code == 400  # authorised, but no documentType
        assert "Acknowledgement_MarketDocument" in r.text
        proc.send_signal(stop)
        assert proc.wait(timeout=15) == 0
        _, stderr = proc.communicate(timeout=5)
        assert "cli-token-abcdef" not in stderr
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.parametrize(
    ("args", "complaint"),
    [([], "token"), (["--token", "t", "--publication-cet", "25:00"], "HH:MM")],
    ids=["no-token", "bad-publication-time"],
)
def test_bad_arguments_stop_the_fakes_before_they_start(args: list[str], complaint: str) -> None:
    env = {k: v for k, v in os.environ.items() if k != "MARKET_FAKES_ENTSOE_TOKEN"}
    proc = subprocess.run(
        [sys.executable, "-m", "tc_market_fakes", "--port", str(_free_port()), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=30,
        check=False,
    )
    assert proc.returncode == 2
    assert complaint in proc.stderr
