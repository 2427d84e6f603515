"""``python -m tc_tessie_sim`` as a process: announces itself, serves, stops cleanly."""

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


def _start(args: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tc_tessie_sim", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **env},
    )


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_the_simulator_serves_until_told_to_stop_and_then_exits_cleanly(
    stop: signal.Signals,
) -> None:
    port = _free_port()
    proc = _start(
        ["--host", "127.0.0.1", "--port", str(port), "--vehicles", "2", "--sentry-share", "0.5"],
        {"TESSIE_SIM_TOKEN": "cli-token-abcdef"},
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        assert line == f"tessie simulator listening on http://127.0.0.1:{port}"
        r = httpx.get(
            f"http://127.0.0.1:{port}/vehicles",
            headers={"Authorization": "Bearer cli-token-abcdef"},
            timeout=10,
        )
        assert r.status_code == 200
        assert len(r.json()["results"]) == 2
        proc.send_signal(stop)
        assert proc.wait(timeout=15) == 0
        _, stderr = proc.communicate(timeout=5)
        assert "cli-token-abcdef" not in stderr
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_the_simulator_refuses_to_start_without_a_token() -> None:
    env = {k: v for k, v in os.environ.items() if k != "TESSIE_SIM_TOKEN"}
    proc = subprocess.run(
        [sys.executable, "-m", "tc_tessie_sim", "--port", str(_free_port())],
        capture_output=True,
        text=True,
        env=env,
        timeout=30,
        check=False,
    )
    assert proc.returncode == 2
    assert "token" in proc.stderr


def test_another_account_is_served_with_its_token_from_the_environment() -> None:
    port = _free_port()
    proc = _start(
        ["--host", "127.0.0.1", "--port", str(port), "--vehicles", "1", "--account", "acme:2:7"],
        {"TESSIE_SIM_TOKEN": "cli-token-abcdef", "TESSIE_SIM_TOKEN_ACME": "acme-token-123456"},
    )
    try:
        assert proc.stdout is not None
        proc.stdout.readline()
        r = httpx.get(
            f"http://127.0.0.1:{port}/vehicles",
            headers={"Authorization": "Bearer acme-token-123456"},
            timeout=10,
        )
        assert r.status_code == 200
        assert len(r.json()["results"]) == 2
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_an_account_without_its_token_is_refused_at_start() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "tc_tessie_sim", "--port", str(_free_port()), "--account", "x:1:7"],
        capture_output=True,
        text=True,
        env={**os.environ, "TESSIE_SIM_TOKEN": "cli-token-abcdef"},
        timeout=30,
        check=False,
    )
    assert proc.returncode == 2
    assert "TESSIE_SIM_TOKEN_X" in proc.stderr
