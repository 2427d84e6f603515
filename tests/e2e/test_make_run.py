"""``make run``'s entry point on a fresh run directory: up within 60 s with telemetry of every
vehicle, true about what each car is doing, and a clean stop on Ctrl-C.

It runs on the wall clock (what a user gets now) and pinned to each moment of
``tc_testkit.moments`` (``SIM_START_AT``), because what the simulated fleet does depends on
the day and hour: at any moment every vehicle has telemetry, an awake car's telemetry grows,
and an asleep car is reported asleep with its last sample standing still.
"""

import os
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tc_devstack import free_port
from tc_testkit.fleet import activity_at, cached_snapshot_at, demo_fleet
from tc_testkit.moments import WEEKDAY_MORNING, Moment, each_moment

from .support import eventually, process_tree, still_alive

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

VEHICLES = 3


def test_make_run_on_the_wall_clock_with_a_chosen_api_key(tmp_path: Path) -> None:
    # With API_KEY set, the key still lands in <run-dir>/api-key, where the README reads it.
    run_make_run_and_check(tmp_path, start_at=None, api_key="chosen-key-0123456789abcdef")


@each_moment(in_make_test=(WEEKDAY_MORNING,))
def test_make_run_at_a_pinned_moment(tmp_path: Path, moment: Moment) -> None:
    run_make_run_and_check(tmp_path, start_at=moment.at)


def run_make_run_and_check(
    tmp_path: Path, start_at: datetime | None, api_key: str | None = None
) -> None:
    run_dir = tmp_path / "run"
    api_port = free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if k
        not in (
            "KAFKA_BOOTSTRAP_SERVERS",
            "DATABASE_URL",
            "TESSIE_TOKEN",
            "API_KEY",
            "SIM_START_AT",
        )
    }
    env.update({"API_PORT": str(api_port), "SIM_VEHICLES": str(VEHICLES)})
    if start_at is not None:
        env["SIM_START_AT"] = start_at.isoformat()
    if api_key is not None:
        env["API_KEY"] = api_key
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
        assert api_key is None or key == api_key
        client = httpx.Client(
            base_url=f"http://127.0.0.1:{api_port}", headers={"X-API-Key": key}, timeout=5
        )
        first = eventually(
            lambda: _counts_if_every_vehicle_has_telemetry(client),
            60 - (time.monotonic() - started),
            f"telemetry of {VEHICLES} vehicles",
        )
        assert time.monotonic() - started < 60
        # The printed key is the demo account's, which owns the whole fleet; the operator's
        # key sees the same cars (and would see other accounts' too).
        operator_key = (run_dir / "operator-key").read_text().strip()
        operator = httpx.get(
            f"http://127.0.0.1:{api_port}/v1/vehicles", headers={"X-API-Key": operator_key}
        )
        assert operator.status_code == 200, operator.text
        assert sorted(v["vehicle_id"] for v in operator.json()) == sorted(first)
        # The fleet is the demo account's through its Tessie token, registered as a customer
        # registers one; the account says so, and never shows the token.
        account = client.get("/v1/account").json()
        assert account["tessie_token"]["registered"] is True
        assert sorted(account["vehicle_ids"]) == sorted(first)
        _check_every_car_is_told_truly(client)
        eventually(
            lambda: _every_car_grows_or_sleeps(client, first),
            60,
            "the telemetry of every awake car to grow (and every asleep car to stand still)",
        )
        tree = process_tree(proc.pid, str(run_dir))
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
    assert f"API           http://127.0.0.1:{api_port}" in text
    assert "API key" in text
    if start_at is not None:
        assert start_at.isoformat() in text
    assert "stopped." in text
    time.sleep(1)
    left = still_alive(tree, str(run_dir))
    assert not left, f"processes left behind: {left}"


def _counts_if_every_vehicle_has_telemetry(client: httpx.Client) -> dict[str, int] | None:
    vehicles = client.get("/v1/vehicles").json()
    if len(vehicles) < VEHICLES:
        return None
    counts = {v["vehicle_id"]: _count(client, v["vehicle_id"]) for v in vehicles}
    return counts if all(counts.values()) else None


def _count(client: httpx.Client, vin: str) -> int:
    return int(client.get(f"/v1/vehicles/{vin}/telemetry").json()["count"])


def _activities(client: httpx.Client) -> dict[str, dict[str, Any]] | None:
    vehicles = client.get("/v1/vehicles").json()
    if not all(v["activity"] for v in vehicles):
        return None
    return {v["vehicle_id"]: v["activity"] for v in vehicles}


def _check_every_car_is_told_truly(client: httpx.Client) -> None:
    """What the API says each car is doing is what the simulated car did when ingest looked;
    an asleep car's latest sample is the snapshot Tessie kept as it fell asleep."""
    fleet = demo_fleet(VEHICLES)
    activities = eventually(lambda: _activities(client), 30, "every vehicle's activity")
    for vin, activity in activities.items():
        seen_at = datetime.fromisoformat(activity["last_seen_at"])
        assert activity["state"] == activity_at(fleet[vin], seen_at), (vin, activity)
        assert datetime.fromisoformat(activity["since"]) <= seen_at
        latest = client.get(f"/v1/vehicles/{vin}/latest").json()
        assert latest["activity"]["state"] in ("asleep", "awake", "driving", "charging")
        if activity["state"] == "asleep":
            kept = cached_snapshot_at(fleet[vin], seen_at)
            assert datetime.fromisoformat(latest["sampled_at"]) == kept, (vin, latest)
            assert datetime.fromisoformat(activity["since"]) == kept


def _every_car_grows_or_sleeps(client: httpx.Client, first: dict[str, int]) -> bool:
    activities = _activities(client) or {}
    return all(
        _count(client, vin) > before or activities.get(vin, {}).get("state") == "asleep"
        for vin, before in first.items()
    )
