"""The simulator's HTTP face: Tessie's vehicle endpoints plus loopback-only test controls.

Vehicle endpoints need a token (``Authorization: Bearer`` or ``?access_token=``). The
``/_sim/*`` endpoints do not, but answer only loopback clients; they expose request counts and
let tests make the next N vehicle requests fail.

Several Tessie accounts can be served at once (``Simulator.add_account``): each has its own
token and fleet, sees only its own cars (another account's VIN is a 404, as on Tessie) and
its requests are counted per car (``requests_by_account`` in the stats), so a test can tell
which token read which car. A test can make an account's token invalid (Tessie then answers
401) and valid again. The token given at construction is the account ``default``.
"""

from __future__ import annotations

import bisect
import hmac
import math
import threading
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import uvicorn
from fastapi import FastAPI, HTTPException, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from tc_common.clock import Clock, NowFn, as_now_fn
from tc_devstack.http_server import serving_in_thread
from tc_tessie_sim import wire
from tc_tessie_sim.fleet import (
    EPOCH_DAY,
    OSLO,
    SimulatedCar,
    SleepStatus,
    VehicleProfile,
    build_fleet,
)

LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})
MAX_STATES_SAMPLES = 10_000
_EPOCH_S = int(datetime(EPOCH_DAY.year, EPOCH_DAY.month, EPOCH_DAY.day, tzinfo=OSLO).timestamp())


@dataclass
class _Fault:
    status: int
    remaining: int
    retry_after_s: float | None


DEFAULT_ACCOUNT = "default"


@dataclass
class SimAccount:
    """One simulated Tessie account: its token, its cars, and whether the token still works."""

    name: str
    token: str
    vins: frozenset[str]
    token_valid: bool = True

    def __repr__(self) -> str:
        return f"SimAccount({self.name!r}, {len(self.vins)} cars, valid={self.token_valid})"


@dataclass
class Simulator:
    """The fleet plus everything the server remembers between requests. Thread-safe."""

    profiles: dict[str, VehicleProfile]
    token: str
    now: NowFn
    cars: dict[str, SimulatedCar] = field(init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _requests: Counter[str] = field(default_factory=Counter)
    _wakes: Counter[str] = field(default_factory=Counter)
    _live_reads: Counter[str] = field(default_factory=Counter)
    _pokes: dict[str, list[int]] = field(default_factory=dict)
    _fault: _Fault | None = None
    _faults_served: int = 0
    _unauthorized: int = 0
    _accounts: dict[str, SimAccount] = field(default_factory=dict, repr=False)
    _requests_by_account: dict[str, Counter[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.token:
            raise ValueError("the simulator needs a non-empty token")
        self.cars = {vin: SimulatedCar(p) for vin, p in self.profiles.items()}
        self._accounts[DEFAULT_ACCOUNT] = SimAccount(
            DEFAULT_ACCOUNT, self.token, frozenset(self.profiles)
        )

    # --- accounts -------------------------------------------------------------------------

    def add_account(
        self,
        name: str,
        token: str,
        vehicles: int = 3,
        seed: int = 1,
        sentry_share: float = 1.0,
        sentry_everywhere: bool = False,
    ) -> list[str]:
        """Serve another account with its own token and fleet; returns its VINs.

        The fleet's VINs come from ``seed`` (``…<seed>0001``): give each account its own seed.
        """
        fleet = build_fleet(vehicles, seed, sentry_share, sentry_everywhere)
        with self._lock:
            if not token or any(a.token == token for a in self._accounts.values()):
                raise ValueError("every account needs a token of its own")
            if name in self._accounts:
                raise ValueError(f"account {name!r} exists already")
            if any(p.vin in self.cars for p in fleet):
                raise ValueError(f"seed {seed} gives VINs another account has")
            # One assignment, so a request reading the cars meanwhile sees old or new.
            self.cars = {**self.cars, **{p.vin: SimulatedCar(p) for p in fleet}}
            self._accounts[name] = SimAccount(name, token, frozenset(p.vin for p in fleet))
        return [p.vin for p in fleet]

    def account_of(self, token: str | None) -> SimAccount | None:
        """The account whose token this is, valid or not; None for no or an unknown token."""
        if token is None:
            return None
        with self._lock:
            accounts = list(self._accounts.values())
        found = None
        for account in accounts:
            # Compared with every account's token, so timing does not tell which matched.
            if hmac.compare_digest(token.encode(), account.token.encode()):
                found = account
        return found

    def set_token_valid(self, name: str, valid: bool) -> None:
        """Make the account's token refused (401) or accepted again."""
        with self._lock:
            if name not in self._accounts:
                raise KeyError(name)
            self._accounts[name].token_valid = valid

    def vins_of(self, name: str) -> list[str]:
        with self._lock:
            return sorted(self._accounts[name].vins)

    @classmethod
    def for_fleet(
        cls,
        token: str,
        vehicles: int = 3,
        seed: int = 1,
        sentry_share: float = 1.0,
        now: NowFn | Clock | None = None,
        sentry_everywhere: bool = False,
    ) -> Simulator:
        fleet = build_fleet(vehicles, seed, sentry_share, sentry_everywhere)
        return cls({p.vin: p for p in fleet}, token, as_now_fn(now))

    def now_s(self) -> int:
        return int(self.now().timestamp())

    # --- bookkeeping ----------------------------------------------------------------------

    def count_request(self, kind: str) -> None:
        with self._lock:
            self._requests[kind] += 1

    def count_account_request(self, name: str, what: str) -> None:
        """``what`` is the VIN asked about, or ``vehicles`` for the list."""
        with self._lock:
            self._requests_by_account.setdefault(name, Counter())[what] += 1

    def count_unauthorized(self) -> None:
        with self._lock:
            self._unauthorized += 1

    def take_fault(self) -> _Fault | None:
        with self._lock:
            fault = self._fault
            if fault is None or fault.remaining <= 0:
                return None
            fault.remaining -= 1
            self._faults_served += 1
            return fault

    def inject_faults(self, status: int, count: int, retry_after_s: float | None = None) -> None:
        with self._lock:
            self._fault = _Fault(status, count, retry_after_s)

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {
                "requests": dict(self._requests),
                "wakes": dict(self._wakes),
                "live_reads": sum(self._live_reads.values()),
                "live_reads_by_vin": dict(self._live_reads),
                "faults_served": self._faults_served,
                "faults_pending": self._fault.remaining if self._fault else 0,
                "unauthorized": self._unauthorized,
                "requests_by_account": {
                    name: dict(counts) for name, counts in self._requests_by_account.items()
                },
            }

    def last_poke(self, vin: str, t_s: int) -> int | None:
        with self._lock:
            pokes = self._pokes.get(vin, [])
            i = bisect.bisect_right(pokes, t_s)
            return pokes[i - 1] if i else None

    def poke(self, vin: str, t_s: int) -> None:
        with self._lock:
            bisect.insort(self._pokes.setdefault(vin, []), t_s)

    def wake(self, vin: str, t_s: int) -> None:
        with self._lock:
            self._wakes[vin] += 1
        self.poke(vin, t_s)

    def count_live_read(self, vin: str) -> None:
        with self._lock:
            self._live_reads[vin] += 1


class TokenValidity(BaseModel):
    valid: bool


class FaultRequest(BaseModel):
    status: int = Field(ge=400, le=599)
    count: int = Field(ge=0)
    retry_after_s: float | None = Field(default=None, ge=0)


def _path_kind(path: str) -> str:
    parts = [p for p in path.split("/") if p]
    if parts == ["vehicles"]:
        return "vehicles"
    if len(parts) == 2:
        return parts[1]
    return "other"


def _vin_of(path: str) -> str | None:
    parts = [p for p in path.split("/") if p]
    return parts[0] if len(parts) == 2 else None


def _token_of(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip()
    return request.query_params.get("access_token")


def create_app(sim: Simulator) -> FastAPI:
    """The ASGI app serving ``sim``."""
    app = FastAPI(title="Tessie simulator", docs_url=None, redoc_url=None, openapi_url=None)

    @app.exception_handler(StarletteHTTPException)
    async def _error_body(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse({"error": str(exc.detail)}, status_code=exc.status_code)

    @app.middleware("http")
    async def _gate(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        if request.url.path.startswith("/_sim/"):
            client = request.client.host if request.client else ""
            if client not in LOOPBACK:
                return JSONResponse({"error": "loopback only"}, status_code=403)
            return await call_next(request)
        sim.count_request(_path_kind(request.url.path))
        account = sim.account_of(_token_of(request))
        if account is None or not account.token_valid:
            sim.count_unauthorized()
            return JSONResponse({"error": "Invalid access token"}, status_code=401)
        vin = _vin_of(request.url.path)
        sim.count_account_request(account.name, vin or _path_kind(request.url.path))
        if vin is not None and vin in sim.cars and vin not in account.vins:
            # Another account's car: Tessie does not know it for this token.
            return JSONResponse({"error": "Vehicle not found"}, status_code=404)
        request.state.sim_account = account
        fault = sim.take_fault()
        if fault is not None:
            headers = {}
            if fault.retry_after_s is not None:
                headers["Retry-After"] = str(math.ceil(fault.retry_after_s))
            return JSONResponse(
                {"error": f"simulated fault {fault.status}"},
                status_code=fault.status,
                headers=headers,
            )
        return await call_next(request)

    def car_of(vin: str) -> SimulatedCar:
        car = sim.cars.get(vin)
        if car is None:
            raise HTTPException(status_code=404, detail="Vehicle not found")
        return car

    def window(from_s: int | None, to_s: int | None, default_span_s: int) -> tuple[int, int]:
        now_s = sim.now_s()
        # History only holds what has already happened.
        hi = min(to_s if to_s is not None else now_s, now_s)
        lo = from_s if from_s is not None else hi - default_span_s
        return max(lo, _EPOCH_S), hi

    @app.get("/_sim/stats")
    async def sim_stats() -> dict[str, Any]:
        return sim.stats()

    @app.post("/_sim/faults")
    async def sim_faults(body: FaultRequest) -> dict[str, Any]:
        sim.inject_faults(body.status, body.count, body.retry_after_s)
        return {"result": True}

    @app.post("/_sim/accounts/{name}/token")
    async def sim_token(name: str, body: TokenValidity) -> dict[str, Any]:
        try:
            sim.set_token_valid(name, body.valid)
        except KeyError:
            raise HTTPException(status_code=404, detail="no such account") from None
        return {"result": True}

    @app.get("/vehicles")
    async def vehicles(request: Request, only_active: bool = False) -> dict[str, Any]:
        now_s = sim.now_s()
        results = []
        mine: frozenset[str] = request.state.sim_account.vins
        for vin, car in sim.cars.items():
            if vin not in mine:
                continue
            is_active = True  # every simulated car is active; none is archived
            if only_active and not is_active:
                continue
            snap = car.snapshot_at(now_s, sim.last_poke(vin, now_s))
            recent_drives = car.drives(max(_EPOCH_S, now_s - 14 * 86_400), now_s)
            recent_charges = car.charges(max(_EPOCH_S, now_s - 14 * 86_400), now_s)
            results.append(
                {
                    "vin": vin,
                    "is_active": is_active,
                    "is_archived_manually": False,
                    "last_state": wire.cached_state(car.profile, snap),
                    "last_drive_created_at": recent_drives[-1].ended_at_s + 30
                    if recent_drives
                    else None,
                    "last_drive_updated_at": recent_drives[-1].ended_at_s + 30
                    if recent_drives
                    else None,
                    "last_charge_created_at": recent_charges[-1].started_at_s + 60
                    if recent_charges
                    else None,
                    "last_charge_updated_at": recent_charges[-1].ended_at_s + 30
                    if recent_charges
                    else None,
                    "last_idle_created_at": None,
                    "last_idle_updated_at": None,
                }
            )
        return {"results": results}

    @app.get("/{vin}/state")
    async def state(vin: str, use_cache: bool = True) -> dict[str, Any]:
        car = car_of(vin)
        now = sim.now()
        now_s = int(now.timestamp())
        poke = sim.last_poke(vin, now_s)
        if use_cache:
            return wire.cached_state(car.profile, car.snapshot_at(now_s, poke))
        sim.count_live_read(vin)
        live = car.state_at(now_s, poke)
        if live.sleep is SleepStatus.ASLEEP:
            return {"state": "asleep"}
        # Talking to an awake car counts as activity: frequent live reads keep it awake.
        sim.poke(vin, now_s)
        live = car.state_at(now_s, now_s)
        return wire.full_state(car.profile, live, "online", int(now.timestamp() * 1000))

    @app.get("/{vin}/status")
    async def status(vin: str) -> dict[str, str]:
        car = car_of(vin)
        now_s = sim.now_s()
        return {"status": car.state_at(now_s, sim.last_poke(vin, now_s)).sleep.value}

    @app.api_route("/{vin}/wake", methods=["GET", "POST"])
    async def wake(vin: str) -> dict[str, bool]:
        car_of(vin)
        sim.wake(vin, sim.now_s())
        return {"result": True}

    @app.get("/{vin}/drives")
    async def drives(
        vin: str,
        from_s: int | None = Query(default=None, alias="from"),
        to_s: int | None = Query(default=None, alias="to"),
        distance_format: Literal["mi", "km"] = "mi",
        limit: int | None = Query(default=None, ge=1),
    ) -> dict[str, Any]:
        car = car_of(vin)
        lo, hi = window(from_s, to_s, 10**10)
        # Newest first, like Tessie's apps; `limit` keeps the most recent.
        found = list(reversed(car.drives(lo, hi))) if lo <= hi else []
        records = [wire.drive_record(d, car.profile, distance_format) for d in found[:limit]]
        return {"results": records}

    @app.get("/{vin}/charges")
    async def charges(
        vin: str,
        from_s: int | None = Query(default=None, alias="from"),
        to_s: int | None = Query(default=None, alias="to"),
        distance_format: Literal["mi", "km"] = "mi",
        limit: int | None = Query(default=None, ge=1),
    ) -> dict[str, Any]:
        car = car_of(vin)
        lo, hi = window(from_s, to_s, 10**10)
        found = list(reversed(car.charges(lo, hi))) if lo <= hi else []
        records = [wire.charge_record(c, car.profile, distance_format) for c in found[:limit]]
        return {"results": records}

    @app.get("/{vin}/states")
    async def states(
        vin: str,
        from_s: int | None = Query(default=None, alias="from"),
        to_s: int | None = Query(default=None, alias="to"),
        interval: int | None = Query(default=None, ge=1),
        distance_format: Literal["mi", "km"] = "mi",
        temperature_format: Literal["c", "f"] = "c",
    ) -> dict[str, Any]:
        car = car_of(vin)
        lo, hi = window(from_s, to_s, 86_400)
        if lo > hi:
            return {"results": []}
        step = interval or max(10, (hi - lo) // 500)
        step = max(step, math.ceil((hi - lo + 1) / MAX_STATES_SAMPLES))
        records: list[dict[str, Any]] = []
        seen: set[int] = set()
        for t in range(lo, hi + 1, step):
            snap = car.snapshot_at(t, sim.last_poke(vin, t))
            # Tessie stores what its cache saw: an asleep car adds no new points.
            if snap.snapshot_at_s in seen or snap.snapshot_at_s < lo:
                continue
            seen.add(snap.snapshot_at_s)
            records.append(
                wire.state_sample(car.profile, snap, distance_format, temperature_format)
            )
        return {"results": records}

    return app


@dataclass
class RunningSimulator:
    """Handle on a simulator served from a background thread."""

    base_url: str
    vins: list[str]
    simulator: Simulator

    @property
    def token(self) -> str:
        return self.simulator.token

    def stats(self) -> dict[str, Any]:
        return self.simulator.stats()

    def inject_faults(
        self, status: int = 500, count: int = 1, retry_after_s: float | None = None
    ) -> None:
        self.simulator.inject_faults(status, count, retry_after_s)

    def add_account(self, name: str, token: str, **fleet: Any) -> list[str]:
        """Another account (``Simulator.add_account``); returns its VINs."""
        return self.simulator.add_account(name, token, **fleet)

    def invalidate_token(self, name: str = DEFAULT_ACCOUNT) -> None:
        self.simulator.set_token_valid(name, False)

    def restore_token(self, name: str = DEFAULT_ACCOUNT) -> None:
        self.simulator.set_token_valid(name, True)

    def requests_by_account(self) -> dict[str, dict[str, int]]:
        result: dict[str, dict[str, int]] = self.stats()["requests_by_account"]
        return result


def server_for(sim: Simulator) -> uvicorn.Server:
    # Access logs would carry `?access_token=` query strings; keep them off.
    config = uvicorn.Config(create_app(sim), log_config=None, access_log=False, lifespan="off")
    return uvicorn.Server(config)


@contextmanager
def running_simulator(
    token: str = "sim-token-123456",
    vehicles: int = 3,
    seed: int = 1,
    sentry_share: float = 1.0,
    now: NowFn | Clock | None = None,
    host: str = "127.0.0.1",
    sentry_everywhere: bool = False,
) -> Iterator[RunningSimulator]:
    """Serve a simulated fleet on a free loopback port for the duration of the block."""
    sim = Simulator.for_fleet(token, vehicles, seed, sentry_share, now, sentry_everywhere)
    with serving_in_thread(server_for(sim), host, "tessie-sim") as base_url:
        yield RunningSimulator(base_url, list(sim.profiles), sim)
