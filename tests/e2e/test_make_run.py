"""``make run``'s entry point on a fresh run directory: up within 60 s, clean stop on Ctrl-C."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tc_devstack import free_port

from .conftest import eventually

pytestmark = [pytest.mark.e2e, pytest.mark.integration]


def _descendants(pid: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def _mentioning(text: str) -> set[int]:
    pids = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if text in (entry / "cmdline").read_bytes().decode(errors="replace"):
                    pids.add(int(entry.name))
            except OSError:
                continue
    return pids


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_make_run_serves_growing_telemetry_within_60s_and_stops_clean(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    api_port = free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("KAFKA_BOOTSTRAP_SERVERS", "DATABASE_URL", "TESSIE_TOKEN", "API_KEY")
    }
    env.update({"API_PORT": str(api_port), "SIM_VEHICLES": "3"})
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "tc_devstack.run", "--run-dir", str(run_dir)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    tree: set[int] = set()
    try:
        key = eventually(
            lambda: (
                (run_dir / "api-key").read_text().strip()
                if (run_dir / "api-key").exists()
                else None
            ),
            60,
            "the API key file",
        )
        client = httpx.Client(
            base_url=f"http://127.0.0.1:{api_port}", headers={"X-API-Key": key}, timeout=5
        )

        def counts() -> dict[str, int] | None:
            vehicles = client.get("/v1/vehicles").json()
            if len(vehicles) < 3:
                return None
            return {
                v["vehicle_id"]: client.get(f"/v1/vehicles/{v['vehicle_id']}/telemetry").json()[
                    "count"
                ]
                for v in vehicles
            }

        first = eventually(counts, 60 - (time.monotonic() - started), "telemetry of 3 vehicles")
        assert time.monotonic() - started < 60
        eventually(
            lambda: all(n > first[vin] for vin, n in (counts() or {}).items()),
            60,
            "every vehicle's telemetry to grow",
        )
        roots = {proc.pid} | _mentioning(str(run_dir))
        tree = roots.union(*(_descendants(pid) for pid in roots))
        assert len(tree) >= 7  # broker, postgres, simulator, five services
    finally:
        # An impatient user presses Ctrl-C twice; the second must not break the clean stop.
        proc.send_signal(signal.SIGINT)
        time.sleep(0.3)
        proc.send_signal(signal.SIGINT)
        try:
            output, _ = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            output, _ = proc.communicate()
    text = output.decode(errors="replace")
    assert proc.returncode == 0, text
    assert "API key" in text
    assert "stopped." in text
    time.sleep(1)
    left = {pid for pid in tree | _mentioning(str(run_dir)) if _alive(pid)}
    assert not left, f"processes left behind: {left}"
