"""One HTTP server for four fake providers, each under its own path prefix.

| prefix | stands for |
|---|---|
| ``/entsoe/api`` | ``https://web-api.tp.entsoe.eu/api`` |
| ``/hvakosterstrommen`` | ``https://www.hvakosterstrommen.no`` |
| ``/norgesbank`` | ``https://data.norges-bank.no`` |
| ``/met`` | ``https://api.met.no`` |

``/_fake/*`` are test controls: no token, loopback clients only.
"""

from __future__ import annotations

import asyncio
import hmac
import math
import re
import threading
import time as monotonic_time
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any, Literal, get_args

import uvicorn
from fastapi import FastAPI, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse
from pydantic import BaseModel, Field

from tc_common.clock import Clock, NowFn, as_now_fn
from tc_devstack.http_server import serving_in_thread
from tc_market_fakes import wire
from tc_market_fakes.market import (
    CET,
    EIC_ZONE,
    FX_CURRENCIES,
    HISTORY_FROM,
    Currency,
    MarketModel,
    PricePoint,
    delivery_day_of,
)
from tc_market_fakes.weather import ZONES, Forecast, Zone, forecast

Route = Literal["entsoe", "hvakosterstrommen", "norgesbank", "met"]
ROUTES: tuple[Route, ...] = get_args(Route)
LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})
ENTSOE_MAX_RANGE = timedelta(days=366)
MET_EXPIRES_AFTER = timedelta(minutes=30)
# User agents that name a library, not an application: api.met.no answers them with 403.
GENERIC_USER_AGENTS = (
    "python-requests", "python-httpx", "python-urllib", "aiohttp", "httpie", "curl", "wget",
    "okhttp", "dalvik", "java", "go-http-client", "axios", "node-fetch", "undici",
    "libwww-perl", "guzzle", "mozilla/5.0",
)  # fmt: skip
_HVAKOSTER_FILE = re.compile(r"^(\d{2})-(\d{2})_(NO[1-5])\.json$")
_NORGES_BANK_KEY = re.compile(r"^B\.([A-Z+]*)\.NOK\.SP$")


def parse_cet_time(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


@dataclass
class _Fault:
    status: int | None
    remaining: int
    retry_after_s: float | None
    delay_s: float


@dataclass
class MarketFakes:
    """The models plus what the server counts between requests. Thread-safe."""

    token: str
    model: MarketModel
    now: NowFn
    entsoe_requests_per_minute: int = 400
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _requests: Counter[str] = field(default_factory=Counter)
    _faults: dict[str, _Fault] = field(default_factory=dict)
    _faults_served: Counter[str] = field(default_factory=Counter)
    _not_modified: int = 0
    _unauthorized: int = 0
    _forbidden: int = 0
    _entsoe_recent: deque[float] = field(default_factory=deque)

    def __post_init__(self) -> None:
        if not self.token:
            raise ValueError("the ENTSO-E fake needs a non-empty token")

    def count_request(self, route: str) -> None:
        with self._lock:
            self._requests[route] += 1

    def count(self, what: Literal["not_modified", "unauthorized", "forbidden"]) -> None:
        with self._lock:
            setattr(self, f"_{what}", getattr(self, f"_{what}") + 1)

    def inject_faults(
        self,
        route: Route,
        status: int | None,
        count: int,
        retry_after_s: float | None = None,
        delay_s: float = 0.0,
    ) -> None:
        """The next ``count`` requests on ``route`` fail with ``status`` (after ``delay_s``);
        with ``status=None`` they are only slow."""
        with self._lock:
            self._faults[route] = _Fault(status, count, retry_after_s, delay_s)

    def take_fault(self, route: str) -> _Fault | None:
        with self._lock:
            fault = self._faults.get(route)
            if fault is None or fault.remaining <= 0:
                return None
            fault.remaining -= 1
            self._faults_served[route] += 1
            return fault

    def entsoe_over_limit(self) -> bool:
        """ENTSO-E allows 400 requests a minute per IP and token; beyond that it answers 429."""
        now = monotonic_time.monotonic()
        with self._lock:
            while self._entsoe_recent and self._entsoe_recent[0] <= now - 60:
                self._entsoe_recent.popleft()
            if len(self._entsoe_recent) >= self.entsoe_requests_per_minute:
                return True
            self._entsoe_recent.append(now)
            return False

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {
                "requests": {route: self._requests[route] for route in ROUTES},
                "not_modified": self._not_modified,
                "unauthorized": self._unauthorized,
                "forbidden": self._forbidden,
                "faults_served": {route: self._faults_served[route] for route in ROUTES},
                "faults_pending": {
                    route: (f.remaining if (f := self._faults.get(route)) else 0)
                    for route in ROUTES
                },
            }


class FaultRequest(BaseModel):
    route: Route
    status: int | None = Field(default=None, ge=400, le=599)
    count: int = Field(ge=0)
    retry_after_s: float | None = Field(default=None, ge=0)
    delay_s: float = Field(default=0.0, ge=0, le=120)


def _xml(body: str, status: int = 200) -> Response:
    return Response(body, status_code=status, media_type="text/xml")


def _parse_entsoe_time(text: str | None) -> datetime | None:
    if text is None or not re.fullmatch(r"\d{12}", text):
        return None
    try:
        return datetime.strptime(text, "%Y%m%d%H%M").replace(tzinfo=UTC)
    except ValueError:
        return None


def _fault_response(route: str, fault: _Fault) -> Response:
    assert fault.status is not None
    headers = {}
    if fault.retry_after_s is not None:
        headers["Retry-After"] = str(math.ceil(fault.retry_after_s))
    if route == "entsoe" and fault.status == 429:
        return PlainTextResponse(wire.ENTSOE_RATE_LIMITED_TEXT, 429, headers=headers)
    if route == "norgesbank":
        return PlainTextResponse("Service unavailable", fault.status, headers=headers)
    return HTMLResponse(
        f"<html><body><h1>{fault.status}</h1>Simulated fault</body></html>",
        fault.status,
        headers=headers,
    )


def _route_of(path: str) -> str:
    head = path.strip("/").split("/", 1)[0]
    return head if head in ROUTES else "other"


def _period_bound(text: str | None, end: bool) -> date | None:
    """SDMX periods: ``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD`` (an end is inclusive)."""
    if text is None:
        return None
    parts = [int(p) for p in text.split("-")]
    if len(parts) == 1:
        return date(parts[0], 12, 31) if end else date(parts[0], 1, 1)
    if len(parts) == 2:
        first = date(parts[0], parts[1], 1)
        if not end:
            return first
        return (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    return date(parts[0], parts[1], parts[2])


def create_app(fakes: MarketFakes) -> FastAPI:
    """The ASGI app serving ``fakes``."""
    app = FastAPI(title="Market and weather fakes", docs_url=None, redoc_url=None, openapi_url=None)
    model = fakes.model

    @app.middleware("http")
    async def _gate(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        if request.url.path.startswith("/_fake/"):
            client = request.client.host if request.client else ""
            if client not in LOOPBACK:
                return JSONResponse({"error": "loopback only"}, status_code=403)
            return await call_next(request)
        route = _route_of(request.url.path)
        fakes.count_request(route)
        fault = fakes.take_fault(route)
        if fault is not None:
            if fault.delay_s:
                await asyncio.sleep(fault.delay_s)
            if fault.status is not None:
                return _fault_response(route, fault)
        return await call_next(request)

    @app.get("/_fake/stats")
    async def fake_stats() -> dict[str, Any]:
        return fakes.stats()

    @app.post("/_fake/faults")
    async def fake_faults(body: FaultRequest) -> dict[str, Any]:
        fakes.inject_faults(body.route, body.status, body.count, body.retry_after_s, body.delay_s)
        return {"result": True}

    # --- ENTSO-E ---------------------------------------------------------------------------

    @app.get("/entsoe/api")
    async def entsoe(request: Request) -> Response:
        # Parameter names are case-insensitive on the real platform (evcc sends DocumentType).
        params = {k.lower(): v for k, v in request.query_params.items()}
        now = fakes.now()
        given = params.get("securitytoken", "")
        if not hmac.compare_digest(given.encode(), fakes.token.encode()):
            fakes.count("unauthorized")
            return HTMLResponse(wire.ENTSOE_UNAUTHORIZED_HTML, status_code=401)
        if fakes.entsoe_over_limit():
            return PlainTextResponse(
                wire.ENTSOE_RATE_LIMITED_TEXT, 429, headers={"Retry-After": "60"}
            )

        def bad(text: str) -> Response:
            return _xml(wire.entsoe_acknowledgement(text, now), 400)

        if params.get("documenttype") != "A44":
            return bad("Invalid query attributes or parameters: documentType")
        in_eic, out_eic = params.get("in_domain"), params.get("out_domain")
        if in_eic is None or out_eic is None or in_eic != out_eic:
            return bad("Invalid query attributes or parameters: in_Domain and out_Domain")
        zone = EIC_ZONE.get(in_eic)
        if zone is None:
            return bad(
                f"The value of in_Domain ({in_eic}) is not valid for this area. "
                "Please check you request against dependency tables"
            )
        start = _parse_entsoe_time(params.get("periodstart"))
        end = _parse_entsoe_time(params.get("periodend"))
        if start is None or end is None or end <= start:
            return bad("Invalid query attributes or parameters: periodStart and periodEnd")
        if end - start > ENTSOE_MAX_RANGE:
            return bad(
                "The amount of requested data exceeds allowed limit: "
                "the period of one request can be at most one year"
            )
        contract = params.get("contract_marketagreement.type", "A01")
        sequence = params.get("classificationsequence_attributeinstancecomponent.position", "1")
        days = []
        if contract == "A01" and sequence == "1":
            day, last = delivery_day_of(start), delivery_day_of(end - timedelta(minutes=1))
            while day <= last:
                if model.is_published(day, now):
                    days.append((model.prices(zone, day), model.curve_type(zone, day)))
                day += timedelta(days=1)
        if not days:
            return _xml(
                wire.entsoe_acknowledgement(
                    "No matching data found for Data item ENERGY_PRICES [12.1.D] "
                    f"({in_eic}, {in_eic}) and interval "
                    f"{wire.entsoe_time(start)}/{wire.entsoe_time(end)}.",
                    now,
                )
            )
        return _xml(wire.entsoe_publication(in_eic, days, now))

    # --- hvakosterstrommen ---------------------------------------------------------------

    @app.get("/hvakosterstrommen/api/v1/prices/{year}/{file}")
    async def hvakosterstrommen(year: str, file: str) -> Response:
        match = _HVAKOSTER_FILE.match(file)
        not_found = HTMLResponse("<html><body><h1>404</h1>Not found</body></html>", 404)
        if match is None or not re.fullmatch(r"\d{4}", year):
            return not_found
        month, day_of_month, zone_name = match.groups()
        try:
            day = date(int(year), int(month), int(day_of_month))
        except ValueError:
            return not_found
        zone: Zone = next(z for z in ZONES if z == zone_name)
        if not model.is_published(day, fakes.now()):
            return not_found
        rows = wire.hvakosterstrommen_rows(model.prices(zone, day), model.exr_for_prices(day))
        return JSONResponse(rows)

    # --- Norges Bank --------------------------------------------------------------------

    @app.get("/norgesbank/api/data/EXR/{key}")
    async def norges_bank(request: Request, key: str) -> Response:
        params = request.query_params
        no_results = PlainTextResponse("No Results Found", 404)
        match = _NORGES_BANK_KEY.match(key)
        if match is None:
            return no_results
        wanted = match.group(1)
        currencies: list[Currency] = (
            list(FX_CURRENCIES)
            if wanted == ""
            else [c for c in FX_CURRENCIES if c in wanted.split("+")]
        )
        if not currencies:
            return no_results
        now = fakes.now()
        today = now.astimezone(CET).date()
        try:
            first = _period_bound(params.get("startPeriod"), end=False)
            last = _period_bound(params.get("endPeriod"), end=True)
            last_n = int(params["lastNObservations"]) if "lastNObservations" in params else None
            first_n = int(params["firstNObservations"]) if "firstNObservations" in params else None
        except ValueError:
            return PlainTextResponse("Invalid request parameters", 400)
        last = min(last or today, today)
        first = max(first or (last - timedelta(days=3650)), HISTORY_FROM)
        series: list[tuple[Currency, list[tuple[date, float]]]] = []
        for currency in currencies:
            observations: list[tuple[date, float]] = []
            day = first
            while day <= last:
                quote = model.norges_bank_quote(currency, day, now)
                if quote is not None:
                    observations.append((day, quote))
                day += timedelta(days=1)
            if last_n is not None:
                observations = observations[-last_n:] if last_n > 0 else []
            if first_n is not None:
                observations = observations[:first_n]
            if observations:
                series.append((currency, observations))
        if not series:
            return no_results
        if params.get("format", "sdmx-json") == "csv":
            return PlainTextResponse(wire.norges_bank_csv(series), media_type="text/csv")
        return JSONResponse(
            wire.norges_bank_sdmx_json(series, now),
            media_type="application/vnd.sdmx.data+json; version=1.0",
        )

    # --- MET locationforecast -----------------------------------------------------------

    @app.get("/met/weatherapi/locationforecast/2.0/compact")
    async def met_compact(request: Request) -> Response:
        agent = request.headers.get("user-agent", "").strip()
        if not agent or agent.lower().startswith(GENERIC_USER_AGENTS):
            fakes.count("forbidden")
            return HTMLResponse(
                "<html><body><h1>403 Forbidden</h1>Identify your application in the "
                "User-Agent header (see https://api.met.no/doc/TermsOfService)</body></html>",
                403,
            )
        params = request.query_params
        raw_lat, raw_lon = params.get("lat"), params.get("lon")
        if raw_lat is None or raw_lon is None:
            return HTMLResponse(
                "<html><body><h1>400 Bad Request</h1>lat and lon are required</body></html>", 400
            )
        try:
            lat, lon = float(raw_lat), float(raw_lon)
            altitude = int(params["altitude"]) if "altitude" in params else None
        except ValueError:
            return HTMLResponse(
                "<html><body><h1>400 Bad Request</h1>Invalid parameter</body></html>", 400
            )
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            return HTMLResponse(
                "<html><body><h1>400 Bad Request</h1>Coordinates out of range</body></html>", 400
            )
        if any(len(raw.partition(".")[2]) > 4 for raw in (raw_lat, raw_lon)):
            fakes.count("forbidden")
            return HTMLResponse(
                "<html><body><h1>403 Forbidden</h1>Coordinates with more than 4 decimals"
                "</body></html>",
                403,
            )
        now = fakes.now()
        result: Forecast = forecast(model.seed, lat, lon, now, altitude)
        last_modified = format_datetime(result.updated_at, usegmt=True)
        headers = {
            "Last-Modified": last_modified,
            "Expires": format_datetime(
                (now + MET_EXPIRES_AFTER).replace(microsecond=0).astimezone(UTC), usegmt=True
            ),
        }
        since = request.headers.get("if-modified-since")
        if since is not None:
            try:
                since_at = parsedate_to_datetime(since)
            except (TypeError, ValueError):
                since_at = None
            if since_at is not None and since_at >= result.updated_at.replace(microsecond=0):
                fakes.count("not_modified")
                return Response(status_code=304, headers=headers)
        return JSONResponse(wire.met_compact(result), headers=headers)

    return app


@dataclass
class RunningMarketFakes:
    """Handle on the fakes served from a background thread."""

    base_url: str
    fakes: MarketFakes

    @property
    def entsoe_base_url(self) -> str:
        return f"{self.base_url}/entsoe/api"

    @property
    def hvakosterstrommen_base_url(self) -> str:
        return f"{self.base_url}/hvakosterstrommen"

    @property
    def norgesbank_base_url(self) -> str:
        return f"{self.base_url}/norgesbank"

    @property
    def met_base_url(self) -> str:
        return f"{self.base_url}/met"

    @property
    def token(self) -> str:
        return self.fakes.token

    @property
    def model(self) -> MarketModel:
        return self.fakes.model

    def prices(self, zone: Zone, delivery_date: date) -> list[PricePoint]:
        return self.fakes.model.prices(zone, delivery_date)

    def forecast(self, lat: float, lon: float, altitude_m: int | None = None) -> Forecast:
        """What MET would answer for ``(lat, lon)`` right now."""
        return forecast(self.fakes.model.seed, lat, lon, self.fakes.now(), altitude_m)

    def stats(self) -> dict[str, Any]:
        return self.fakes.stats()

    def inject_faults(
        self,
        route: Route,
        status: int | None,
        count: int,
        retry_after_s: float | None = None,
        delay_s: float = 0.0,
    ) -> None:
        self.fakes.inject_faults(route, status, count, retry_after_s, delay_s)


def server_for(fakes: MarketFakes) -> uvicorn.Server:
    # Access logs would carry `?securityToken=` query strings; keep them off.
    config = uvicorn.Config(create_app(fakes), log_config=None, access_log=False, lifespan="off")
    return uvicorn.Server(config)


def build_fakes(
    token: str,
    seed: int = 1,
    now: NowFn | Clock | None = None,
    publication_cet: str = "12:45",
    publication_jitter_min: int = 15,
) -> MarketFakes:
    model = MarketModel(seed, parse_cet_time(publication_cet), publication_jitter_min)
    return MarketFakes(token, model, as_now_fn(now))


@contextmanager
def running_market_fakes(
    token: str = "entsoe-token-123456",
    seed: int = 1,
    now: NowFn | Clock | None = None,
    publication_cet: str = "12:45",
    publication_jitter_min: int = 15,
    host: str = "127.0.0.1",
) -> Iterator[RunningMarketFakes]:
    """Serve the four fakes on a free loopback port for the duration of the block."""
    fakes = build_fakes(token, seed, now, publication_cet, publication_jitter_min)
    with serving_in_thread(server_for(fakes), host, "market-fakes") as base_url:
        yield RunningMarketFakes(base_url, fakes)
