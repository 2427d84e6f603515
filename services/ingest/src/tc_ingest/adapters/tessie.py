"""Tessie REST client: cached reads only, bounded retries, tolerant parsing.

It never calls ``/wake`` and always sends ``use_cache=true`` on ``/state``: a live read keeps
legacy Model S/X awake and drains the battery (home-assistant/core#107982). ``/drives`` and
``/charges`` are Tessie's own records and never reach the car.
"""

import asyncio
import logging
import math
import random
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated, Any, Final, TypeVar

import httpx
from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError

from tc_common.clock import Clock, SystemClock
from tc_common.logging import redact, register_secret
from tc_ingest.domain import VehicleState, is_transient, parse_retry_after, retry_delay_s
from tc_ingest.domain.history import ChargeRecord, DriveRecord, HistoryKind
from tc_ingest.errors import (
    TessieAuthError,
    TessieError,
    TessieUnavailableError,
    TessieVehicleNotFoundError,
)
from tc_ingest.settings import TessieSettings

log = logging.getLogger(__name__)

_M = TypeVar("_M", bound=BaseModel)

TokenProvider = Callable[[], str]
"""Returns the Tessie token to send with the next request; raises ``TessieError`` if none."""
_R = TypeVar("_R", DriveRecord, ChargeRecord)

# Far more pages than a window of a few days can fill; a bound so a misbehaving server can
# never keep a sync in a loop.
MAX_HISTORY_PAGES: Final = 50
DEFAULT_HISTORY_PAGE_LIMIT: Final = 500


def _loose_float(value: Any) -> float | None:
    # Tessie's documented types are loose: numbers arrive as int, float or numeric strings.
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def _loose_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value != 0
    if isinstance(value, str):
        text = value.strip().lower()
        if text in ("true", "1", "yes", "on"):
            return True
        if text in ("false", "0", "no", "off"):
            return False
    return None


def _loose_str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _loose_int(value: Any) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


_Num = Annotated[float | None, BeforeValidator(_loose_float)]
_Bool = Annotated[bool | None, BeforeValidator(_loose_bool)]
_Str = Annotated[str | None, BeforeValidator(_loose_str)]
_Int = Annotated[int | None, BeforeValidator(_loose_int)]


def _tolerant_part(value: Any) -> Any:
    return value if isinstance(value, dict) else None


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class _ChargeState(_Wire):
    timestamp: _Num = None
    battery_level: _Num = None
    usable_battery_level: _Num = None
    battery_range: _Num = None
    charge_limit_soc: _Num = None
    charging_state: _Str = None
    charger_power: _Num = None
    charge_energy_added: _Num = None
    scheduled_departure_time: _Num = None
    preconditioning_enabled: _Bool = None
    off_peak_charging_enabled: _Bool = None
    scheduled_charging_mode: _Str = None


class _DriveState(_Wire):
    timestamp: _Num = None
    gps_as_of: _Num = None
    latitude: _Num = None
    longitude: _Num = None
    heading: _Num = None
    speed: _Num = None
    power: _Num = None
    shift_state: _Str = None


class _ClimateState(_Wire):
    timestamp: _Num = None
    inside_temp: _Num = None
    outside_temp: _Num = None
    is_climate_on: _Bool = None


class _VehicleStatePart(_Wire):
    timestamp: _Num = None
    odometer: _Num = None
    locked: _Bool = None
    sentry_mode: _Bool = None


_Part = BeforeValidator(_tolerant_part)


class _State(_Wire):
    vin: _Str = None
    state: _Str = None
    charge_state: Annotated[_ChargeState | None, _Part] = None
    drive_state: Annotated[_DriveState | None, _Part] = None
    climate_state: Annotated[_ClimateState | None, _Part] = None
    vehicle_state: Annotated[_VehicleStatePart | None, _Part] = None

    def to_domain(self, vin: str) -> VehicleState:
        charge = self.charge_state or _ChargeState()
        drive = self.drive_state or _DriveState()
        climate = self.climate_state or _ClimateState()
        vehicle = self.vehicle_state or _VehicleStatePart()
        return VehicleState(
            vin=vin,
            state=self.state,
            charge_state_timestamp_ms=charge.timestamp,
            drive_state_timestamp_ms=drive.timestamp,
            climate_state_timestamp_ms=climate.timestamp,
            vehicle_state_timestamp_ms=vehicle.timestamp,
            gps_as_of_s=drive.gps_as_of,
            battery_level_pct=charge.battery_level,
            usable_battery_level_pct=charge.usable_battery_level,
            battery_range_mi=charge.battery_range,
            charge_limit_soc_pct=charge.charge_limit_soc,
            charging_state=charge.charging_state,
            charger_power_kw=charge.charger_power,
            charge_energy_added_kwh=charge.charge_energy_added,
            latitude_deg=drive.latitude,
            longitude_deg=drive.longitude,
            heading_deg=drive.heading,
            speed_mph=drive.speed,
            power_kw=drive.power,
            shift_state=drive.shift_state,
            odometer_mi=vehicle.odometer,
            inside_temp_c=climate.inside_temp,
            outside_temp_c=climate.outside_temp,
            is_climate_on=climate.is_climate_on,
            sentry_mode=vehicle.sentry_mode,
            locked=vehicle.locked,
            scheduled_departure_time_s=charge.scheduled_departure_time,
            preconditioning_enabled=charge.preconditioning_enabled,
            off_peak_charging_enabled=charge.off_peak_charging_enabled,
            scheduled_charging_mode=charge.scheduled_charging_mode,
        )


class _VehicleEntry(_Wire):
    vin: _Str = None
    is_active: _Bool = None
    last_state: dict[str, Any] | None = None


class _Vehicles(_Wire):
    results: list[_VehicleEntry] = []


class _Status(_Wire):
    status: _Str = None


def _record(value: Any) -> Any:
    # A record that is not an object still counts, as one without an id: the poller skips it
    # with a reason instead of the whole page failing.
    return value if isinstance(value, dict) else {}


def _results(value: Any) -> Any:
    return [] if value is None else value


class _DriveWire(_Wire):
    id: _Int = None
    started_at: _Num = None
    ended_at: _Num = None
    starting_latitude: _Num = None
    starting_longitude: _Num = None
    ending_latitude: _Num = None
    ending_longitude: _Num = None
    starting_battery: _Num = None
    ending_battery: _Num = None
    odometer_distance: _Num = None
    energy_used: _Num = None

    def to_domain(self) -> DriveRecord:
        return DriveRecord(
            id=self.id,
            started_at_s=self.started_at,
            ended_at_s=self.ended_at,
            starting_latitude=self.starting_latitude,
            starting_longitude=self.starting_longitude,
            ending_latitude=self.ending_latitude,
            ending_longitude=self.ending_longitude,
            starting_battery=self.starting_battery,
            ending_battery=self.ending_battery,
            odometer_distance_km=self.odometer_distance,
            energy_used_kwh=self.energy_used,
        )


class _ChargeWire(_Wire):
    id: _Int = None
    started_at: _Num = None
    ended_at: _Num = None
    latitude: _Num = None
    longitude: _Num = None
    is_supercharger: _Bool = None
    starting_battery: _Num = None
    ending_battery: _Num = None
    energy_added: _Num = None
    energy_used: _Num = None
    odometer: _Num = None

    def to_domain(self) -> ChargeRecord:
        return ChargeRecord(
            id=self.id,
            started_at_s=self.started_at,
            ended_at_s=self.ended_at,
            latitude=self.latitude,
            longitude=self.longitude,
            is_supercharger=self.is_supercharger,
            starting_battery=self.starting_battery,
            ending_battery=self.ending_battery,
            energy_added_kwh=self.energy_added,
            energy_used_kwh=self.energy_used,
            odometer_km=self.odometer,
        )


class _Drives(_Wire):
    results: Annotated[
        list[Annotated[_DriveWire, BeforeValidator(_record)]], BeforeValidator(_results)
    ] = []


class _Charges(_Wire):
    results: Annotated[
        list[Annotated[_ChargeWire, BeforeValidator(_record)]], BeforeValidator(_results)
    ] = []


class TessieHttpClient:
    """The ``TelemetrySource`` backed by Tessie's REST API.

    Transient failures (408, 429, 5xx, timeouts, connection errors) are retried up to
    ``max_attempts`` times per call with exponential backoff and jitter, honouring
    ``Retry-After``; then ``TessieUnavailableError`` is raised and the poller tries next cycle.
    401/403 raise ``TessieAuthError`` at once, 404 ``TessieVehicleNotFoundError``.

    The token comes from ``token``, a callable asked right before every request (so a new
    token of an account is used from the next request on, and a sealed one is opened only
    for as long as a request needs it); without one, the settings' token. The client holds
    no token itself: it is not in its headers, its repr or any error it raises.
    """

    def __init__(
        self,
        settings: TessieSettings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        jitter: Callable[[], float] = random.random,
        on_error: Callable[[str], None] | None = None,
        clock: Clock | None = None,
        history_page_limit: int = DEFAULT_HISTORY_PAGE_LIMIT,
        token: TokenProvider | None = None,
    ) -> None:
        self._settings = settings
        self._page_limit = history_page_limit
        if token is None:
            if settings.token is None:
                raise ValueError("a Tessie client needs a token provider or settings.tessie.token")
            register_secret(settings.token.get_secret_value())
            token = settings.token.get_secret_value
        self._token = token
        self._http = httpx.AsyncClient(
            base_url=settings.base_url,
            timeout=settings.timeout_s,
            transport=transport,
            headers={"Accept": "application/json"},
            follow_redirects=False,
        )
        self._sleep = sleep
        self._jitter = jitter
        self._on_error = on_error or (lambda _status: None)
        self._clock = clock or SystemClock()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def list_vehicles(self, only_active: bool = True) -> list[str]:
        body = await self._get("/vehicles", {"only_active": _flag(only_active)}, what="/vehicles")
        vehicles = self._parse(_Vehicles, body, "/vehicles")
        # Tessie lists vehicles it holds no state for with last_state null; skip them like
        # Home Assistant does: there is nothing to poll yet.
        return [v.vin for v in vehicles.results if v.vin and v.last_state is not None]

    async def get_status(self, vin: str) -> str:
        body = await self._get(f"/{vin}/status", None, what="/{vin}/status", vin=vin)
        return self._parse(_Status, body, "/{vin}/status").status or "unknown"

    async def get_state(self, vin: str) -> VehicleState:
        # use_cache=true is Tessie's default, but it is sent explicitly so no default change
        # on their side can ever turn this into a live read.
        body = await self._get(f"/{vin}/state", {"use_cache": "true"}, what="/{vin}/state", vin=vin)
        return self._parse(_State, body, "/{vin}/state").to_domain(vin)

    async def get_drives(self, vin: str, from_at: datetime, to_at: datetime) -> list[DriveRecord]:
        return await self._history(vin, "drives", from_at, to_at, self._drive_page)

    async def get_charges(self, vin: str, from_at: datetime, to_at: datetime) -> list[ChargeRecord]:
        return await self._history(vin, "charges", from_at, to_at, self._charge_page)

    def _drive_page(self, body: Any) -> list[DriveRecord]:
        return [r.to_domain() for r in self._parse(_Drives, body, "/{vin}/drives").results]

    def _charge_page(self, body: Any) -> list[ChargeRecord]:
        return [r.to_domain() for r in self._parse(_Charges, body, "/{vin}/charges").results]

    async def _history(
        self,
        vin: str,
        kind: HistoryKind,
        from_at: datetime,
        to_at: datetime,
        parse: Callable[[Any], list[_R]],
    ) -> list[_R]:
        """Every record of ``[from_at, to_at]``, in as many requests as ``limit`` needs.

        Tessie has no pagination cursor: a full page means records are missing, on the side
        the page's order says (newest first: older ones; oldest first: newer ones), so the
        window is narrowed to that side, up to the page's outermost start, and asked again.
        """
        lo_s, hi_s = math.floor(from_at.timestamp()), math.ceil(to_at.timestamp())
        records: list[_R] = []
        seen: set[int] = set()
        for _ in range(MAX_HISTORY_PAGES):
            params = {
                "from": str(lo_s),
                "to": str(hi_s),
                # Tessie's default is miles (and mph).
                "distance_format": "km",
                "limit": str(self._page_limit),
            }
            body = await self._get(f"/{vin}/{kind}", params, what=f"/{{vin}}/{kind}", vin=vin)
            page = parse(body)
            for record in page:
                if record.id is None or record.id not in seen:
                    records.append(record)
                    if record.id is not None:
                        seen.add(record.id)
            starts = [r.started_at_s for r in page if r.started_at_s is not None]
            if len(page) < self._page_limit or len(starts) < 2:
                return records
            if starts[0] >= starts[-1]:
                older_than = math.floor(min(starts))
                if older_than <= lo_s:
                    return records
                hi_s = older_than
            else:
                newer_than = math.ceil(max(starts))
                if newer_than >= hi_s:
                    return records
                lo_s = newer_than
        log.warning(
            "%s: more than %d pages of %s in one window; older records may be missing",
            vin,
            MAX_HISTORY_PAGES,
            kind,
        )
        return records

    def _parse(self, model: type[_M], body: Any, what: str) -> _M:
        try:
            return model.model_validate(body if isinstance(body, dict) else {})
        except ValidationError as error:
            raise TessieUnavailableError(
                f"unexpected {what} body ({error.error_count()} errors)"
            ) from None

    async def _get(
        self, path: str, params: dict[str, str] | None, *, what: str, vin: str | None = None
    ) -> Any:
        attempts = self._settings.max_attempts
        for attempt in range(1, attempts + 1):
            retry_after_s: float | None = None
            try:
                # Asked for every attempt, and not kept: a token replaced meanwhile is used
                # from now on, and no opened token waits out a backoff in this frame.
                response = await self._http.get(
                    path, params=params, headers={"Authorization": f"Bearer {self._token()}"}
                )
            except httpx.TimeoutException:
                reason = "timeout"
            except httpx.TransportError as error:
                reason = f"connection error ({type(error).__name__})"
            else:
                status = response.status_code
                if status < 400:
                    try:
                        return response.json()
                    except ValueError:
                        self._on_error("bad_body")
                        raise TessieUnavailableError(f"GET {what} returned no JSON") from None
                self._on_error(str(status))
                if status in (401, 403):
                    raise TessieAuthError(status)
                if status == 404 and vin is not None:
                    raise TessieVehicleNotFoundError(vin)
                if not is_transient(status):
                    raise TessieError(f"GET {what} failed with HTTP {status}")
                reason = f"HTTP {status}"
                retry_after_s = parse_retry_after(
                    response.headers.get("Retry-After"), self._clock.now()
                )
            if reason.startswith(("timeout", "connection")):
                self._on_error("timeout" if reason == "timeout" else "connection")
            if retry_after_s is not None and retry_after_s > self._settings.backoff_cap_s:
                # Waiting that long inside one poll would stall it: give up and let the poller
                # come back after Retry-After.
                raise TessieUnavailableError(f"GET {what}: {reason}", retry_after_s=retry_after_s)
            if attempt == attempts:
                break
            delay = retry_delay_s(
                attempt,
                retry_after_s=retry_after_s,
                base_s=self._settings.backoff_base_s,
                cap_s=self._settings.backoff_cap_s,
                jitter=self._jitter(),
            )
            log.info(
                "GET %s: %s; retry %d/%d in %.1fs",
                what,
                # The providers register their tokens as secrets of the redaction.
                redact(reason),
                attempt,
                attempts - 1,
                delay,
            )
            await self._sleep(delay)
        raise TessieUnavailableError(f"GET {what}: {reason} after {attempts} attempts")


def _flag(value: bool) -> str:
    return "true" if value else "false"
