"""The simulator over real HTTP: uvicorn in a thread, httpx as the client."""

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from tc_tessie_sim.fleet import OSLO, Activity, SimulatedCar, SleepStatus
from tc_tessie_sim.server import RunningSimulator, running_simulator
from tc_tessie_sim.wire import KM_PER_MILE

TOKEN = "sim-token-123456"
MONDAY = datetime(2025, 3, 10, tzinfo=OSLO)


class MovableClock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at

    def set(self, at: datetime | int) -> None:
        self.at = at if isinstance(at, datetime) else datetime.fromtimestamp(at, OSLO)


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock(MONDAY + timedelta(hours=12))


@pytest.fixture
def sim(clock: MovableClock) -> Iterator[RunningSimulator]:
    with running_simulator(token=TOKEN, vehicles=3, seed=1, sentry_share=0.0, now=clock) as s:
        yield s


@pytest.fixture
def client(sim: RunningSimulator) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    with httpx.Client(base_url=sim.base_url, headers=headers, timeout=10) as c:
        yield c


def _car(sim: RunningSimulator, index: int = 0) -> SimulatedCar:
    return sim.simulator.cars[sim.vins[index]]


def _first_drive_end(car: SimulatedCar) -> int:
    return car.drives(MONDAY, MONDAY + timedelta(days=1))[0].ended_at_s


class TestAuth:
    def test_a_wrong_token_is_refused_with_401_and_an_error_body(
        self, sim: RunningSimulator
    ) -> None:
        r = httpx.get(f"{sim.base_url}/vehicles", headers={"Authorization": "Bearer nope"})
        assert r.status_code == 401
        assert "error" in r.json()
        assert TOKEN not in r.text

    def test_a_missing_token_is_refused(self, sim: RunningSimulator) -> None:
        assert httpx.get(f"{sim.base_url}/{sim.vins[0]}/status").status_code == 401

    def test_the_token_may_come_as_a_query_parameter(self, sim: RunningSimulator) -> None:
        r = httpx.get(f"{sim.base_url}/{sim.vins[0]}/status", params={"access_token": TOKEN})
        assert r.status_code == 200

    def test_an_unknown_vin_is_404(self, client: httpx.Client) -> None:
        r = client.get("/5YJ3E7EB0KF999999/state")
        assert r.status_code == 404
        assert "error" in r.json()


class TestVehicles:
    def test_lists_every_car_with_its_last_state(
        self, client: httpx.Client, sim: RunningSimulator
    ) -> None:
        results = client.get("/vehicles", params={"only_active": "true"}).json()["results"]
        assert [v["vin"] for v in results] == sim.vins
        for v in results:
            assert v["is_active"] is True
            assert v["last_state"]["vin"] == v["vin"]
            assert set(v["last_state"]) >= {
                "charge_state", "drive_state", "climate_state", "vehicle_state",
                "vehicle_config", "gui_settings", "display_name", "state",
            }  # fmt: skip


class TestState:
    def test_distances_are_miles_and_timestamps_milliseconds(
        self, client: httpx.Client, sim: RunningSimulator, clock: MovableClock
    ) -> None:
        car = _car(sim)
        model = car.snapshot_at(clock.now())
        body = client.get(f"/{sim.vins[0]}/state").json()
        assert body["vehicle_state"]["odometer"] == pytest.approx(
            model.state.odometer_km / KM_PER_MILE, abs=0.01
        )
        rated_km = model.state.battery_level_pct / 100 * car.profile.battery_kwh * 1000
        rated_km /= car.profile.rated_wh_per_km
        assert body["charge_state"]["battery_range"] == pytest.approx(
            rated_km / KM_PER_MILE, abs=0.01
        )
        for section in ("charge_state", "drive_state", "climate_state", "vehicle_state"):
            assert body[section]["timestamp"] == model.snapshot_at_s * 1000
        assert body["gui_settings"]["timestamp"] == model.snapshot_at_s * 1000
        assert body["drive_state"]["gps_as_of"] == model.snapshot_at_s

    def test_speed_is_mph_while_driving_and_null_when_parked(
        self, client: httpx.Client, sim: RunningSimulator, clock: MovableClock
    ) -> None:
        car = _car(sim)
        drive = car.drives(MONDAY, MONDAY + timedelta(days=1))[0]
        t = (drive.started_at_s + drive.ended_at_s) // 2
        t -= t % 10
        clock.set(t)
        moving = client.get(f"/{sim.vins[0]}/state").json()
        model = car.state_at(t)
        assert model.activity is Activity.DRIVING
        assert model.speed_kmh is not None
        assert moving["drive_state"]["speed"] == round(model.speed_kmh / KM_PER_MILE)
        assert moving["drive_state"]["shift_state"] == "D"
        assert moving["state"] == "online"
        clock.set(drive.started_at_s - 600)
        parked = client.get(f"/{sim.vins[0]}/state").json()["drive_state"]
        assert parked["speed"] is None
        assert parked["shift_state"] is None

    def test_the_cached_state_of_an_asleep_car_does_not_move(
        self, client: httpx.Client, sim: RunningSimulator, clock: MovableClock
    ) -> None:
        end = _first_drive_end(_car(sim))
        clock.set(end + 3600)
        first = client.get(f"/{sim.vins[0]}/state").json()
        clock.set(end + 2 * 3600)
        second = client.get(f"/{sim.vins[0]}/state").json()
        assert first["state"] == "asleep"
        assert first["charge_state"]["timestamp"] == second["charge_state"]["timestamp"]
        assert first["charge_state"]["timestamp"] <= (end + 15 * 60) * 1000

    def test_a_live_read_of_an_asleep_car_says_asleep_and_is_counted(
        self, client: httpx.Client, sim: RunningSimulator, clock: MovableClock
    ) -> None:
        vin = sim.vins[0]
        clock.set(_first_drive_end(_car(sim)) + 3600)
        r = client.get(f"/{vin}/state", params={"use_cache": "false"})
        assert r.json() == {"state": "asleep"}
        assert client.get(f"/{vin}/status").json() == {"status": "asleep"}
        stats = sim.stats()
        assert stats["live_reads"] == 1
        assert stats["wakes"] == {}

    def test_a_live_read_of_an_awake_car_keeps_it_awake(
        self, client: httpx.Client, sim: RunningSimulator, clock: MovableClock
    ) -> None:
        vin = sim.vins[0]
        end = _first_drive_end(_car(sim))
        for minutes in (2, 12, 22, 32):
            clock.set(end + minutes * 60)
            body = client.get(f"/{vin}/state", params={"use_cache": "false"}).json()
            assert body["state"] == "online"
            assert body["charge_state"]["timestamp"] == (end + minutes * 60) * 1000
        clock.set(end + 40 * 60)  # without the live reads it would have slept since end + 15 min
        assert client.get(f"/{vin}/status").json() == {"status": "waiting_for_sleep"}
        clock.set(end + 60 * 60)
        assert client.get(f"/{vin}/status").json() == {"status": "asleep"}
        assert sim.stats()["live_reads"] == 4


class TestWake:
    @pytest.mark.parametrize("method", ["POST", "GET"])
    def test_waking_an_asleep_car_makes_it_awake_and_is_counted(
        self, method: str, client: httpx.Client, sim: RunningSimulator, clock: MovableClock
    ) -> None:
        vin = sim.vins[0]
        asleep_at = _first_drive_end(_car(sim)) + 3600
        clock.set(asleep_at)
        assert client.get(f"/{vin}/status").json() == {"status": "asleep"}
        assert client.request(method, f"/{vin}/wake").json() == {"result": True}
        assert client.get(f"/{vin}/status").json() == {"status": "awake"}
        assert client.get(f"/{vin}/state").json()["state"] == "online"
        clock.set(asleep_at + 20 * 60)
        assert client.get(f"/{vin}/status").json() == {"status": "asleep"}
        assert sim.stats()["wakes"] == {vin: 1}

    def test_status_never_wakes_the_car(
        self, client: httpx.Client, sim: RunningSimulator, clock: MovableClock
    ) -> None:
        clock.set(_first_drive_end(_car(sim)) + 3600)
        for _ in range(5):
            assert client.get(f"/{sim.vins[0]}/status").json() == {"status": "asleep"}
        assert sim.stats()["wakes"] == {}


class TestFaults:
    def test_the_next_requests_fail_as_injected_then_recover(
        self, client: httpx.Client, sim: RunningSimulator
    ) -> None:
        sim.inject_faults(status=500, count=2)
        assert client.get("/vehicles").status_code == 500
        assert client.get(f"/{sim.vins[0]}/status").status_code == 500
        assert client.get("/vehicles").status_code == 200
        assert sim.stats()["faults_served"] == 2

    def test_a_429_carries_retry_after(self, client: httpx.Client, sim: RunningSimulator) -> None:
        sim.inject_faults(status=429, count=1, retry_after_s=3)
        r = client.get(f"/{sim.vins[0]}/state")
        assert r.status_code == 429
        assert r.headers["Retry-After"] == "3"
        assert "error" in r.json()

    def test_faults_can_be_injected_over_http_without_the_token(
        self, client: httpx.Client, sim: RunningSimulator
    ) -> None:
        r = httpx.post(f"{sim.base_url}/_sim/faults", json={"status": 503, "count": 1})
        assert r.status_code == 200
        assert client.get("/vehicles").status_code == 503
        assert client.get("/vehicles").status_code == 200
        stats = httpx.get(f"{sim.base_url}/_sim/stats").json()
        assert stats["requests"]["vehicles"] == 2


class TestHistoryEndpoints:
    def _window(self) -> dict[str, Any]:
        return {
            "from": int(MONDAY.timestamp()),
            "to": int((MONDAY + timedelta(days=7)).timestamp()),
        }

    def test_drives_come_newest_first_in_the_asked_unit(
        self, client: httpx.Client, sim: RunningSimulator, clock: MovableClock
    ) -> None:
        clock.set(MONDAY + timedelta(days=10))
        vin = sim.vins[0]
        miles = client.get(f"/{vin}/drives", params=self._window()).json()["results"]
        km = client.get(f"/{vin}/drives", params={**self._window(), "distance_format": "km"})
        km_results = km.json()["results"]
        model = _car(sim).drives(MONDAY, MONDAY + timedelta(days=7))
        assert [d["id"] for d in miles] == [d.id for d in reversed(model)]
        started = [d["started_at"] for d in miles]
        assert started == sorted(started, reverse=True)
        for mi, k in zip(miles, km_results, strict=True):
            assert k["odometer_distance"] == pytest.approx(
                mi["odometer_distance"] * KM_PER_MILE, 0.01
            )
            assert mi["starting_battery"] >= mi["ending_battery"]
            assert mi["ended_at"] > mi["started_at"]

    def test_limit_keeps_the_most_recent_records(
        self, client: httpx.Client, sim: RunningSimulator, clock: MovableClock
    ) -> None:
        clock.set(MONDAY + timedelta(days=10))
        params = {**self._window(), "limit": 2}
        drives = client.get(f"/{sim.vins[0]}/drives", params=params).json()["results"]
        everything = client.get(f"/{sim.vins[0]}/drives", params=self._window()).json()["results"]
        assert drives == everything[:2]

    def test_nothing_after_now_is_history_yet(
        self, client: httpx.Client, sim: RunningSimulator, clock: MovableClock
    ) -> None:
        clock.set(MONDAY + timedelta(days=2))
        for path in ("drives", "charges"):
            results = client.get(f"/{sim.vins[0]}/{path}", params=self._window()).json()["results"]
            assert results
            assert all(r["ended_at"] <= clock.now().timestamp() for r in results)

    def test_charges_report_energy_with_losses(
        self, client: httpx.Client, sim: RunningSimulator, clock: MovableClock
    ) -> None:
        clock.set(MONDAY + timedelta(days=10))
        charges = client.get(f"/{sim.vins[0]}/charges", params=self._window()).json()["results"]
        assert charges
        for c in charges:
            assert c["energy_used"] > c["energy_added"] > 0
            assert c["ending_battery"] > c["starting_battery"]
            assert c["saved_location"] == "Home"

    def test_states_are_flat_with_seconds_and_zero_one_booleans(
        self, client: httpx.Client, sim: RunningSimulator, clock: MovableClock
    ) -> None:
        clock.set(MONDAY + timedelta(days=1))
        lo, hi = int(MONDAY.timestamp()), int((MONDAY + timedelta(days=1)).timestamp())
        params: dict[str, str | int] = {
            "from": lo,
            "to": hi,
            "interval": 60,
            "distance_format": "km",
        }
        samples = client.get(f"/{sim.vins[0]}/states", params=params).json()["results"]
        stamps = [s["timestamp"] for s in samples]
        assert stamps == sorted(set(stamps))
        assert all(lo <= t <= hi for t in stamps)
        assert {s["locked"] for s in samples} <= {0, 1}
        assert {s["sentry_mode"] for s in samples} == {0}
        assert {s["state"] for s in samples} == {"online", "asleep"}
        # An asleep car adds no new points, so a day of 1-minute steps gives far fewer.
        assert len(samples) < 24 * 60 / 2
        driving = [s for s in samples if s["shift_state"] == "D"]
        assert driving
        assert all(s["speed"] is not None for s in driving)


class TestStats:
    def test_requests_are_counted_by_kind(
        self, client: httpx.Client, sim: RunningSimulator
    ) -> None:
        vin = sim.vins[1]
        client.get("/vehicles")
        client.get(f"/{vin}/state")
        client.get(f"/{vin}/state")
        client.get(f"/{vin}/status")
        client.post(f"/{vin}/wake")
        client.get(f"/{vin}/drives")
        stats = sim.stats()
        assert stats["requests"] == {
            "vehicles": 1, "state": 2, "status": 1, "wake": 1, "drives": 1
        }  # fmt: skip
        assert stats["wakes"] == {vin: 1}
        assert stats["live_reads"] == 0


def test_a_plain_now_callable_drives_the_clock_too() -> None:
    at = MONDAY + timedelta(hours=3)
    with running_simulator(vehicles=1, sentry_share=1.0, now=lambda: at) as sim:
        body = httpx.get(
            f"{sim.base_url}/{sim.vins[0]}/state", params={"access_token": sim.token}
        ).json()
    t = int(at.timestamp())
    assert body["charge_state"]["timestamp"] == (t - t % 10) * 1000
    assert body["vehicle_state"]["sentry_mode"] is True


def test_sentry_cars_report_awake_at_night_over_http() -> None:
    night = MONDAY + timedelta(days=1, hours=3)
    with running_simulator(vehicles=2, sentry_share=1.0, now=lambda: night) as sim:
        for vin in sim.vins:
            r = httpx.get(f"{sim.base_url}/{vin}/status", params={"access_token": sim.token})
            assert r.json() == {"status": SleepStatus.AWAKE.value}


class TestHistoryMatchesLiveState:
    """Four weeks of history, checked against what ``/state`` showed while it happened."""

    WEEKS = 4

    def _history(
        self, client: httpx.Client, vin: str, kind: str, unit: str = "km"
    ) -> list[dict[str, Any]]:
        params = {
            "from": int(MONDAY.timestamp()),
            "to": int((MONDAY + timedelta(weeks=self.WEEKS)).timestamp()),
            "distance_format": unit,
        }
        response = client.get(f"/{vin}/{kind}", params=params)
        assert response.status_code == 200
        results: list[dict[str, Any]] = response.json()["results"]
        return results

    def _state_at(self, client: httpx.Client, clock: MovableClock, vin: str, t_s: int) -> Any:
        clock.set(t_s)
        return client.get(f"/{vin}/state").json()

    def test_every_charge_in_history_is_what_the_live_state_showed(
        self, client: httpx.Client, sim: RunningSimulator, clock: MovableClock
    ) -> None:
        clock.set(MONDAY + timedelta(weeks=self.WEEKS, days=1))
        vin = sim.vins[1]
        charges = self._history(client, vin, "charges")
        assert len(charges) >= self.WEEKS * 2

        for c in charges:
            during = self._state_at(client, clock, vin, (c["started_at"] + c["ended_at"]) // 2)
            after = self._state_at(client, clock, vin, c["ended_at"] + 20)
            assert during["charge_state"]["charging_state"] == "Charging"
            assert during["charge_state"]["charger_power"] > 0
            level = during["charge_state"]["battery_level"]
            assert c["starting_battery"] <= level <= c["ending_battery"]
            assert after["charge_state"]["charge_energy_added"] == c["energy_added"]
            assert abs(after["charge_state"]["battery_level"] - c["ending_battery"]) <= 1
            assert c["energy_used"] > c["energy_added"] > 0
            odometer_km = after["vehicle_state"]["odometer"] * KM_PER_MILE
            assert odometer_km == pytest.approx(c["odometer"], abs=0.5)

    def test_every_drive_in_history_is_what_the_live_state_showed(
        self, client: httpx.Client, sim: RunningSimulator, clock: MovableClock
    ) -> None:
        clock.set(MONDAY + timedelta(weeks=self.WEEKS, days=1))
        vin = sim.vins[0]
        drives = self._history(client, vin, "drives")[:20]

        for d in drives:
            during = self._state_at(client, clock, vin, (d["started_at"] + d["ended_at"]) // 2)
            after = self._state_at(client, clock, vin, d["ended_at"] + 20)
            assert during["drive_state"]["shift_state"] == "D"
            assert during["drive_state"]["speed"] is not None
            odometer_km = after["vehicle_state"]["odometer"] * KM_PER_MILE
            assert odometer_km == pytest.approx(d["ending_odometer"], abs=0.05)
            assert abs(after["charge_state"]["battery_level"] - d["ending_battery"]) <= 1

    def test_weeks_of_history_follow_a_commuter_rhythm(
        self, client: httpx.Client, sim: RunningSimulator, clock: MovableClock
    ) -> None:
        clock.set(MONDAY + timedelta(weeks=self.WEEKS, days=1))
        for vin in sim.vins:
            drives = self._history(client, vin, "drives")
            charges = self._history(client, vin, "charges")
            starts = [datetime.fromtimestamp(d["started_at"], OSLO) for d in drives]
            first_by_day: dict[Any, datetime] = {}
            for start in sorted(starts):
                first_by_day.setdefault(start.date(), start)
            weekday_firsts = [s for s in first_by_day.values() if s.weekday() < 5]

            # Out on most weekdays, in the morning, to work and back.
            assert len(weekday_firsts) >= 0.8 * 5 * self.WEEKS
            assert all(5 <= s.hour < 10 for s in weekday_firsts)
            assert {d["ending_saved_location"] for d in drives} == {"Work", "Home", None}
            # Plugged in at home after some days out: at most one session a day.
            charge_days = {datetime.fromtimestamp(c["started_at"], OSLO).date() for c in charges}
            assert self.WEEKS * 2 <= len(charge_days) == len(charges) <= len(first_by_day)
            assert {c["saved_location"] for c in charges} == {"Home"}

    def test_records_have_unique_ids_and_the_asked_distance_unit(
        self, client: httpx.Client, sim: RunningSimulator, clock: MovableClock
    ) -> None:
        clock.set(MONDAY + timedelta(weeks=self.WEEKS, days=1))
        vin = sim.vins[2]
        km = self._history(client, vin, "charges", "km")
        miles = self._history(client, vin, "charges", "mi")

        assert [c["id"] for c in km] == [c["id"] for c in miles]
        assert len({c["id"] for c in km}) == len(km)
        assert all(isinstance(c["id"], int) for c in km)
        for k, m in zip(km, miles, strict=True):
            assert k["odometer"] == pytest.approx(m["odometer"] * KM_PER_MILE, abs=0.02)
            assert k["miles_added"] == pytest.approx(m["miles_added"] * KM_PER_MILE, abs=0.02)
            assert k["energy_added"] == m["energy_added"]


class TestAccounts:
    OTHER = "other-token-98765432"

    def test_each_token_lists_only_its_own_fleet(
        self, sim: RunningSimulator, client: httpx.Client
    ) -> None:
        other_vins = sim.add_account("acme", self.OTHER, vehicles=2, seed=7)
        mine = {v["vin"] for v in client.get("/vehicles").json()["results"]}
        theirs = httpx.get(
            f"{sim.base_url}/vehicles", headers={"Authorization": f"Bearer {self.OTHER}"}
        ).json()["results"]
        assert mine == set(sim.vins)
        assert {v["vin"] for v in theirs} == set(other_vins)
        assert not mine & set(other_vins)

    def test_another_accounts_car_is_404(self, sim: RunningSimulator, client: httpx.Client) -> None:
        other_vins = sim.add_account("acme", self.OTHER, vehicles=1, seed=7)
        assert client.get(f"/{other_vins[0]}/status").status_code == 404

    def test_requests_are_counted_per_account_and_car(
        self, sim: RunningSimulator, client: httpx.Client
    ) -> None:
        other_vins = sim.add_account("acme", self.OTHER, vehicles=1, seed=7)
        client.get(f"/{sim.vins[0]}/status")
        httpx.get(
            f"{sim.base_url}/{other_vins[0]}/state",
            headers={"Authorization": f"Bearer {self.OTHER}"},
        )
        assert sim.requests_by_account() == {
            "default": {sim.vins[0]: 1},
            "acme": {other_vins[0]: 1},
        }

    def test_an_invalidated_token_is_refused_until_restored(
        self, sim: RunningSimulator, client: httpx.Client
    ) -> None:
        sim.add_account("acme", self.OTHER, vehicles=1, seed=7)
        r = httpx.post(f"{sim.base_url}/_sim/accounts/acme/token", json={"valid": False})
        assert r.status_code == 200
        other = {"Authorization": f"Bearer {self.OTHER}"}
        assert httpx.get(f"{sim.base_url}/vehicles", headers=other).status_code == 401
        assert client.get("/vehicles").status_code == 200
        sim.restore_token("acme")
        assert httpx.get(f"{sim.base_url}/vehicles", headers=other).status_code == 200

    def test_a_token_cannot_serve_two_accounts(self, sim: RunningSimulator) -> None:
        with pytest.raises(ValueError, match="token of its own"):
            sim.add_account("acme", TOKEN, vehicles=1, seed=7)

    def test_an_unknown_account_cannot_be_invalidated(self, sim: RunningSimulator) -> None:
        r = httpx.post(f"{sim.base_url}/_sim/accounts/nobody/token", json={"valid": False})
        assert r.status_code == 404
