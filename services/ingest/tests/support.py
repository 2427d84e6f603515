"""What ingest's tests share: a Tessie stand-in that answers like tessie-api.md, and the token,
VINs and instant of its reference snapshot.

They lived in conftest.py, and tests imported them from there.
"""

import copy
import json
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx

TOKEN = "test-token-7f3a9c2e"
VIN_A = "5YJ3E7EB0KF000001"
VIN_B = "5YJ3E7EB0KF000002"
# 2024-06-03T16:00:00.123Z: the timestamp of the reference snapshot in tessie-api.md §3.1
SNAPSHOT_MS = 1717430400123
NOW = datetime(2024, 6, 3, 16, 0, 30, tzinfo=UTC)


def state_json(vin: str, timestamp_ms: int = SNAPSHOT_MS, **charge: Any) -> dict[str, Any]:
    """A cached /state body in Tessie's raw units (miles, mph, ms), after §3.1."""
    return {
        "id": 1234567890123456,
        "vin": vin,
        "display_name": "Blue",
        "state": "online",
        "charge_state": {
            "timestamp": timestamp_ms,
            "battery_level": 76,
            "usable_battery_level": 75,
            "battery_range": 231.4,
            "ideal_battery_range": 999,
            "charging_state": "Charging",
            "charge_limit_soc": 80,
            "charger_power": 11,
            "charge_energy_added": 12.43,
            "scheduled_departure_time": 1717480800,
            **charge,
        },
        "drive_state": {
            "timestamp": timestamp_ms,
            "gps_as_of": timestamp_ms // 1000 - 9,
            "latitude": 52.370216,
            "longitude": 4.895168,
            "heading": 212,
            "shift_state": None,
            "speed": None,
            "power": -11,
        },
        "climate_state": {
            "timestamp": timestamp_ms,
            "inside_temp": 21.4,
            "outside_temp": 14.0,
            "is_climate_on": False,
        },
        "vehicle_state": {
            "timestamp": timestamp_ms,
            "odometer": 18342.71,
            "locked": True,
            "sentry_mode": False,
        },
        "vehicle_config": {"timestamp": timestamp_ms, "car_type": "model3"},
        "gui_settings": {"timestamp": timestamp_ms, "gui_distance_units": "km/hr"},
    }


class FakeTessie:
    """Serves /vehicles, /{vin}/status and /{vin}/state; records every request.

    ``faults`` are answered first, one per request, before normal answers resume. A wake or a
    live read is answered (so a regression is visible in ``wakes``/``live_reads``), never
    silently accepted.
    """

    def __init__(self, token: str = TOKEN) -> None:
        self.token = token
        self.states: dict[str, dict[str, Any]] = {}
        self.statuses: dict[str, str] = {}
        self.requests: list[httpx.Request] = []
        self.faults: deque[Callable[[httpx.Request], httpx.Response]] = deque()
        self.wakes = 0
        self.live_reads = 0
        # vin -> "drives"/"charges" -> records as Tessie sends them (anything JSON)
        self.history: dict[str, dict[str, list[Any]]] = {}
        self.oldest_first = False

    def add(self, vin: str, status: str = "awake", **kwargs: Any) -> None:
        self.states[vin] = state_json(vin, **kwargs)
        self.statuses[vin] = status

    def advance(self, vin: str, ms: int) -> None:
        """The car produced a newer snapshot ``ms`` later."""
        state = self.states[vin]
        for part in ("charge_state", "drive_state", "climate_state", "vehicle_state"):
            state[part]["timestamp"] += ms

    def fail_next(self, status: int, count: int = 1, headers: dict[str, str] | None = None) -> None:
        for _ in range(count):
            self.faults.append(
                lambda _req: httpx.Response(status, json={"error": "boom"}, headers=headers)
            )

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def paths(self) -> list[str]:
        return [r.url.path for r in self.requests]

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return httpx.Response(401, json={"error": "Invalid access token"})
        if self.faults:
            return self.faults.popleft()(request)
        parts = request.url.path.strip("/").split("/")
        if parts == ["vehicles"]:
            results = [
                {"vin": vin, "is_active": True, "last_state": copy.deepcopy(state)}
                for vin, state in self.states.items()
            ]
            return httpx.Response(200, json={"results": results})
        vin = parts[0]
        if vin not in self.states:
            return httpx.Response(404, json={"error": "Vehicle not found"})
        if parts[1:] == ["wake"]:
            self.wakes += 1
            return httpx.Response(200, json={"result": True})
        if parts[1:] == ["status"]:
            return httpx.Response(200, json={"status": self.statuses[vin]})
        if parts[1:] == ["state"]:
            if request.url.params.get("use_cache", "true") != "true":
                self.live_reads += 1
            # Encoded by hand: httpx's json= refuses NaN and Infinity, which a lax server sends
            # as the bare literals Python's json module reads back as floats.
            return httpx.Response(
                200,
                content=json.dumps(self.states[vin]).encode(),
                headers={"Content-Type": "application/json"},
            )
        if parts[1:] in (["drives"], ["charges"]):
            return httpx.Response(200, json={"results": self.history_page(vin, parts[1], request)})
        return httpx.Response(404, json={"error": "Not found"})

    def history_page(self, vin: str, kind: str, request: httpx.Request) -> list[Any]:
        """Records started in [from, to] (anything not a dict always), newest first like
        Tessie (or oldest first), cut at ``limit``."""
        params = request.url.params
        lo, hi = int(params.get("from", "0")), int(params.get("to", str(10**12)))
        records = [
            r
            for r in self.history.get(vin, {}).get(kind, [])
            if not isinstance(r, dict) or lo <= r.get("started_at", lo) <= hi
        ]
        records.sort(
            key=lambda r: r.get("started_at", 0) if isinstance(r, dict) else 0,
            reverse=not self.oldest_first,
        )
        limit = int(params["limit"]) if "limit" in params else None
        return copy.deepcopy(records[:limit])
