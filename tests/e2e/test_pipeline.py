"""The whole system, for real: Tansu broker, PostgreSQL, Tessie simulator and all five services
as separate processes, wired exactly as ``make run`` wires them.

The stack plays a pinned moment (the Saturday afternoon ``make test`` once failed at: one car
charging at home, two asleep away), so what the fleet does is the same whenever this runs;
``test_make_run`` covers the wall clock and the other moments."""

import asyncio
import json
import signal
import subprocess
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import psycopg
import pytest
from aiokafka import AIOKafkaProducer

from tc_common.events import (
    ProvisioningAcknowledged,
    ProvisioningRequested,
    TelemetrySampled,
    invitation_sha256,
)
from tc_common.topics import (
    PROVISIONING_ACKNOWLEDGED_V1,
    PROVISIONING_REQUESTED_V2,
    STATE_OF_CHARGE_CHANGED_V1,
    TELEMETRY_SAMPLED_V1,
)
from tc_devstack.stack import Stack, StackConfig
from tc_testkit.moments import SATURDAY_AFTERNOON

from .support import eventually, read_whole_topic

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

MILES_TO_KM = 1.609344
VEHICLES = 3


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    config = StackConfig(
        run_dir=tmp_path_factory.mktemp("stack"),
        sim_vehicles=VEHICLES,
        poll_interval_s=5.0,
        keep_database=False,
        api_port=None,
        start_at=SATURDAY_AFTERNOON.at,
    )
    with Stack(config) as running:
        yield running


def api(stack: Stack) -> httpx.Client:
    return httpx.Client(base_url=stack.api_url, headers={"X-API-Key": stack.api_key}, timeout=10.0)


def sim_vins(stack: Stack) -> list[str]:
    response = httpx.get(
        f"{stack.tessie_base_url}/vehicles",
        headers={"Authorization": f"Bearer {stack.tessie_token}"},
        timeout=10.0,
    )
    return sorted(v["vin"] for v in response.json()["results"])


def stored_rows(stack: Stack) -> list[tuple[str, datetime]]:
    with psycopg.connect(stack.database_url) as conn:
        rows = conn.execute("select vehicle_id, sampled_at from telemetry").fetchall()
    return [(r[0], r[1]) for r in rows]


def test_every_simulated_vehicle_reaches_the_api_with_metric_values(stack: Stack) -> None:
    vins = sim_vins(stack)
    assert len(vins) == VEHICLES
    with api(stack) as client:
        listed = eventually(
            lambda: (
                ids
                if len(ids := {v["vehicle_id"] for v in client.get("/v1/vehicles").json()})
                == VEHICLES
                else None
            ),
            60,
            "every vehicle listed by the API",
        )
        assert sorted(listed) == vins
        for vin in vins:
            latest = client.get(f"/v1/vehicles/{vin}/latest").json()
            raw = httpx.get(
                f"{stack.tessie_base_url}/{vin}/state",
                params={"use_cache": "true"},
                headers={"Authorization": f"Bearer {stack.tessie_token}"},
            ).json()
            # The car keeps living between the two reads, so compare with a small tolerance.
            odometer_km = raw["vehicle_state"]["odometer"] * MILES_TO_KM
            range_km = raw["charge_state"]["battery_range"] * MILES_TO_KM
            assert latest["odometer_km"] == pytest.approx(odometer_km, abs=2.0)
            assert latest["battery_range_km"] == pytest.approx(range_km, abs=8.0)
            assert latest["battery_level_pct"] == pytest.approx(
                raw["charge_state"]["battery_level"], abs=2.0
            )
            assert datetime.fromisoformat(latest["sampled_at"]).tzinfo is not None


def test_an_awake_cars_telemetry_keeps_growing_while_an_asleep_cars_stands_still(
    stack: Stack,
) -> None:
    with api(stack) as client:

        def count(vin: str) -> int:
            body = client.get(f"/v1/vehicles/{vin}/telemetry", params={"limit": 10000}).json()
            return int(body["count"])

        def activities() -> dict[str, str] | None:
            listed = client.get("/v1/vehicles").json()
            if len(listed) < VEHICLES or not all(v["activity"] for v in listed):
                return None
            return {v["vehicle_id"]: v["activity"]["state"] for v in listed}

        states = eventually(activities, 60, "every vehicle's activity")
        # Saturday 13:00: one car charges at home, the other two sleep where they parked.
        assert sorted(states.values()) == ["asleep", "asleep", "charging"], states
        before = {vin: count(vin) for vin in states}
        charging = next(vin for vin, state in states.items() if state == "charging")
        eventually(lambda: count(charging) > before[charging], 60, "more samples than before")
        for vin, state in states.items():
            if state == "asleep":
                assert count(vin) == before[vin] == 1, f"{vin} is asleep: one sample, no more"


def test_telemetry_flows_to_the_forecast_service(stack: Stack) -> None:
    vins = set(sim_vins(stack))

    def forecast_vins() -> set[str] | None:
        seen = {
            json.loads(value)["vehicle_id"]
            for _, value in read_whole_topic(stack.bootstrap_servers, STATE_OF_CHARGE_CHANGED_V1)
        }
        return seen if seen == vins else None

    eventually(forecast_vins, 60, "a state-of-charge event for every vehicle")


def test_provisioner_answers_a_provisioning_request(stack: Stack) -> None:
    request = ProvisioningRequested(
        request_id=uuid.uuid4(),
        requested_at=datetime.now(UTC),
        email="driver@example.org",
        device_name="laptop-1",
        invitation_sha256=invitation_sha256("not-a-valid-invitation"),
    )

    async def send() -> None:
        producer = AIOKafkaProducer(bootstrap_servers=stack.bootstrap_servers, acks="all")
        await producer.start()
        try:
            await producer.send_and_wait(
                PROVISIONING_REQUESTED_V2,
                request.model_dump_json().encode(),
                key=request.kafka_key(),
            )
        finally:
            await producer.stop()

    asyncio.run(send())

    def answer() -> ProvisioningAcknowledged | None:
        for _, value in read_whole_topic(stack.bootstrap_servers, PROVISIONING_ACKNOWLEDGED_V1):
            ack = ProvisioningAcknowledged.model_validate_json(value)
            if ack.request_id == request.request_id:
                return ack
        return None

    ack = eventually(answer, 60, "the provisioner's acknowledgement")
    assert ack.outcome == "rejected"
    assert "invitation" in ack.reason


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL], ids=["graceful", "killed"])
def test_restarting_the_store_loses_no_sample_and_stores_none_twice(
    stack: Stack, how: signal.Signals
) -> None:
    eventually(lambda: len(stored_rows(stack)) > 0, 60, "stored samples")
    stack.stop_service("store", sig=how)
    # Samples keep flowing into Kafka while the store is down.
    before_down = len(read_whole_topic(stack.bootstrap_servers, TELEMETRY_SAMPLED_V1))
    eventually(
        lambda: (
            len(read_whole_topic(stack.bootstrap_servers, TELEMETRY_SAMPLED_V1))
            > before_down + VEHICLES
        ),
        60,
        "samples published while the store is down",
    )
    stack.start_service("store")

    def published() -> set[tuple[str, datetime]]:
        samples = set()
        for _, value in read_whole_topic(stack.bootstrap_servers, TELEMETRY_SAMPLED_V1):
            event = TelemetrySampled.model_validate_json(value)
            samples.add((event.vehicle_id, event.sampled_at))
        return samples

    def caught_up() -> tuple[set[tuple[str, datetime]], list[tuple[str, datetime]]] | None:
        expected = published()
        rows = stored_rows(stack)
        return (expected, rows) if expected <= set(rows) else None

    expected, rows = eventually(caught_up, 90, "the restarted store to catch up")
    assert len(rows) == len(set(rows)), "a sample was stored twice"
    # Everything stored came from the topic: nothing invented. (Tansu's reported end offsets
    # can trail what a live consumer already fetched by a moment, so re-read until it shows.)
    eventually(lambda: not (set(rows) - published()), 30, "every stored sample on the topic")
    assert expected <= set(rows)


def test_run_dir_holds_logs_of_every_process(stack: Stack) -> None:
    logs = {p.stem for p in Path(stack.log_dir).glob("*.log")}
    assert {"ingest", "store", "forecast", "api", "provisioner", "tessie-sim", "kafka"} <= logs


def test_spot_prices_reach_the_api_in_eur_per_mwh_and_ore_per_kwh(stack: Stack) -> None:
    with api(stack) as client:

        def prices() -> list[dict] | None:  # type: ignore[type-arg]
            body = client.get("/v1/prices/NO3").json()
            return body["slots"] if body.get("count") else None

        slots = eventually(prices, 90, "NO3 spot prices in the API")
        for slot in slots:
            assert slot["price_nok_ore_per_kwh"] is not None
            # øre/kWh = EUR/MWh × EURNOK / 10, and EURNOK is about 11-12.
            ratio = slot["price_nok_ore_per_kwh"] / slot["price_eur_per_mwh"]
            if abs(slot["price_eur_per_mwh"]) > 1:
                assert 0.9 < ratio < 1.4


def test_the_forecast_service_publishes_a_price_forecast_beyond_the_known_prices(
    stack: Stack,
) -> None:
    with api(stack) as client:

        def forecast() -> dict | None:  # type: ignore[type-arg]
            response = client.get("/v1/prices/NO3/forecast")
            return response.json() if response.status_code == 200 else None

        body = eventually(forecast, 300, "a NO3 price forecast")
        assert body["slots"][0]["start_at"] == body["known_until"]
        assert len(body["slots"]) >= 24
        for slot in body["slots"]:
            assert slot["p10_eur_per_mwh"] <= slot["p50_eur_per_mwh"] <= slot["p90_eur_per_mwh"]


def test_the_fleet_is_learnt_from_backfilled_history_and_receives_charge_plans(
    stack: Stack,
) -> None:
    vins = sim_vins(stack)
    with api(stack) as client:
        for vin in vins:

            def drives(vin: str = vin) -> int | None:
                response = client.get(f"/v1/vehicles/{vin}/drives")
                return response.json()["count"] if response.status_code == 200 else None

            # Ingest backfills weeks of Tessie history on first start: many drives, not one.
            assert eventually(drives, 300, f"backfilled drives of {vin}") >= 10

            def profile(vin: str = vin) -> dict | None:  # type: ignore[type-arg]
                response = client.get(f"/v1/vehicles/{vin}/profile")
                if response.status_code != 200:
                    return None
                body = response.json()
                return body if body["learning_state"] != "learning" else None

            learnt = eventually(profile, 300, f"a ready behaviour profile of {vin}")
            assert learnt["days_observed"] >= 14
            assert learnt["days_until_ready"] == 0
            assert any(loc["kind"] == "home" for loc in learnt["locations"])
            assert any(day["first_departure_p50_min"] is not None for day in learnt["weekdays"])

            def plan(vin: str = vin) -> dict | None:  # type: ignore[type-arg]
                response = client.get(f"/v1/vehicles/{vin}/plan")
                return response.json() if response.status_code == 200 else None

            latest = eventually(plan, 300, f"a charge plan for {vin}")
            assert latest["reason"]
            # Whatever the simulated car is doing right now, a plan for a learnt car is never
            # still "learning".
            assert latest["status"] != "learning"
            if latest["status"] in ("planned", "charging_now"):
                assert latest["slots"]
                planned_kwh = sum(s["energy_kwh"] for s in latest["slots"])
                assert planned_kwh <= latest["energy_to_add_kwh"] + 1e-6
                assert latest["cost_p10"] <= latest["expected_cost"] <= latest["cost_p90"]


README = Path(__file__).resolve().parents[2] / "README.md"


def readme_examples(command: str) -> list[str]:
    """The lines of README.md's shell blocks that run ``command``: what a new user copies."""
    lines, in_shell = [], False
    for line in README.read_text().splitlines():
        if line.startswith("```"):
            in_shell = line.strip() in ("```sh", "```bash", "```shell")
            continue
        if in_shell and line.startswith(command + " "):
            lines.append(line)
    return lines


def test_the_readme_examples_answer_as_the_readme_says(stack: Stack) -> None:
    examples = readme_examples("curl")
    assert len(examples) >= 4, "README.md lost its curl examples"
    vins = sim_vins(stack)
    vin = vins[-1]
    with api(stack) as client:
        # The plan examples need learnt cars: wait as a reader would (the README says minutes).
        for each in vins:
            eventually(
                lambda each=each: client.get(f"/v1/vehicles/{each}/plan").status_code == 200,
                300,
                f"a plan for {each}",
            )
    for example in examples:
        command = (
            example.replace("curl ", "curl -fsS ", 1)
            .replace(".run/api-key", str(Path(stack.run_dir) / "api-key"))
            .replace("http://127.0.0.1:8000", stack.api_url)
            .replace("<VIN>", vin)
        )
        result = subprocess.run(
            ["bash", "-c", command], capture_output=True, text=True, timeout=30, check=False
        )
        assert result.returncode == 0, f"{example}\n{result.stderr}"
        json.loads(result.stdout)  # every example answers JSON
    assert httpx.get(f"{stack.api_url}/docs", timeout=10).status_code == 200

    (plots,) = readme_examples("make plots")
    run_dir = Path(stack.run_dir)
    port = stack.api_url.rsplit(":", 1)[1]
    drawn = subprocess.run(
        [*plots.split("#")[0].split(), f"RUN_DIR={run_dir}", f"API_PORT={port}"],
        cwd=README.parent,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert drawn.returncode == 0, drawn.stderr
    for each in vins:
        assert (run_dir / "plots" / each / "profile.png").stat().st_size > 10_000
        assert (run_dir / "plots" / each / "plan.png").stat().st_size > 10_000
