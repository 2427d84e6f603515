"""Draw a vehicle's learnt weekly rhythm and its current charge plan from the running API.

    python -m tc_devstack.plot_vehicle --api-url http://127.0.0.1:8000 \\
        --api-key-file .run/api-key [--vin VIN ...] [--zone NO1] --out .run/plots/

Writes ``<out>/<VIN>/profile.png`` and ``<out>/<VIN>/plan.png`` and prints their paths. Without
``--vin`` it draws every vehicle ``/v1/vehicles`` lists. It lives in the dev stack (not in the
forecast service) because it is an HTTP client of the API, and the service has no HTTP client.
Exit status: 0 when every chart was written, 1 when some had no data yet (404), 2 when the API
cannot be used at all (unreachable, key refused).
"""

import argparse
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from tc_common.events.behaviour import BehaviourProfileUpdated, ChargePlanPublished
from tc_forecast.plots import ForecastPrice, PriceCurve, PublishedPrice, plot_plan, plot_profile

API_KEY_HEADER = "X-API-Key"
PRICE_LOOKBACK = timedelta(hours=12)
PRICE_LOOKAHEAD = timedelta(hours=36)
MAX_PRICE_WINDOW = timedelta(days=7)


class UnusableApiError(Exception):
    """The API cannot serve this run at all; the message says what to do."""


class NotYetError(Exception):
    """The API has no such data yet (404); the message carries the API's explanation."""


def main(
    argv: Sequence[str] | None = None,
    *,
    transport: httpx.BaseTransport | None = None,
    now: datetime | None = None,
) -> int:
    args = _parser().parse_args(argv)
    try:
        key = _read_key(Path(args.api_key_file))
        with httpx.Client(
            base_url=args.api_url.rstrip("/"),
            headers={API_KEY_HEADER: key},
            transport=transport,
            timeout=15.0,
        ) as client:
            api = _Api(client, args.api_key_file)
            vins = args.vin or api.vehicle_ids()
            if not vins:
                raise UnusableApiError(
                    "the API lists no vehicles yet; wait for ingest's first poll and try again"
                )
            complete = True
            for vin in vins:
                complete &= _plot_vehicle(api, vin, args.zone, Path(args.out) / vin, now)
    except UnusableApiError as error:
        sys.stderr.write(f"error: {error}\n")
        return 2
    return 0 if complete else 1


def _plot_vehicle(api: "_Api", vin: str, zone: str, out: Path, now: datetime | None) -> bool:
    """``now`` None: the plan is drawn as of its issue time, the system's clock (which may
    play another moment than the wall clock: ``SIM_START_AT``)."""
    complete = True
    timezone = "Europe/Oslo"
    try:
        profile = api.profile(vin)
    except NotYetError as missing:
        sys.stderr.write(f"{vin}: no profile.png: {missing}\n")
        complete = False
    else:
        timezone = profile.timezone
        sys.stdout.write(f"{plot_profile(profile, out / 'profile.png')}\n")
    try:
        plan = api.plan(vin)
    except NotYetError as missing:
        sys.stderr.write(f"{vin}: no plan.png: {missing}\n")
        return False
    at = plan.issued_at if now is None else now
    prices = api.prices(zone, _price_window(plan, at))
    path = plot_plan(plan, prices, out / "plan.png", now=at, timezone=timezone)
    sys.stdout.write(f"{path}\n")
    return complete


def _price_window(plan: ChargePlanPublished, now: datetime) -> tuple[datetime, datetime]:
    start = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0) - PRICE_LOOKBACK
    instants = [now + PRICE_LOOKAHEAD]
    instants += [s.end_at for s in plan.slots]
    instants += [
        at + timedelta(hours=3)
        for at in (plan.departure_p90_at, plan.ready_by_at)
        if at is not None
    ]
    return start, min(max(instants), start + MAX_PRICE_WINDOW)


class _Api:
    def __init__(self, client: httpx.Client, key_file: str) -> None:
        self._client = client
        self._key_file = key_file

    def vehicle_ids(self) -> list[str]:
        return [str(v["vehicle_id"]) for v in self._get("/v1/vehicles")]

    def profile(self, vin: str) -> BehaviourProfileUpdated:
        return BehaviourProfileUpdated.model_validate(self._get(f"/v1/vehicles/{vin}/profile"))

    def plan(self, vin: str) -> ChargePlanPublished:
        return ChargePlanPublished.model_validate(self._get(f"/v1/vehicles/{vin}/plan"))

    def prices(self, zone: str, window: tuple[datetime, datetime]) -> PriceCurve:
        page = self._get(
            f"/v1/prices/{zone}",
            params={
                "from": window[0].isoformat(),
                "to": window[1].isoformat(),
                "include_forecast": "true",
            },
        )
        forecast = page.get("forecast") or {}
        return PriceCurve(
            zone=str(page.get("zone", zone)),
            published=tuple(PublishedPrice.model_validate(s) for s in page["slots"]),
            forecast=tuple(ForecastPrice.model_validate(s) for s in forecast.get("slots", [])),
        )

    def _get(self, path: str, params: dict[str, str] | None = None) -> Any:
        try:
            response = self._client.get(path, params=params)
        except httpx.TransportError as error:
            raise UnusableApiError(
                f"cannot reach the API at {self._client.base_url} ({type(error).__name__}); "
                "is `make run` running?"
            ) from error
        if response.status_code == httpx.codes.UNAUTHORIZED:
            raise UnusableApiError(
                f"the API refused the key in {self._key_file} ({_detail(response)}); use the "
                "key the running `make run` printed (it writes it to .run/api-key)"
            )
        if response.status_code == httpx.codes.NOT_FOUND:
            raise NotYetError(_detail(response))
        if response.is_error:
            raise UnusableApiError(f"GET {path} failed: {response.status_code} {_detail(response)}")
        return response.json()


def _detail(response: httpx.Response) -> str:
    try:
        detail = response.json().get("detail")
    except ValueError:
        detail = None
    return str(detail) if detail else f"HTTP {response.status_code}"


def _read_key(path: Path) -> str:
    try:
        key = path.read_text().strip()
    except OSError as error:
        raise UnusableApiError(
            f"cannot read the API key from {path} ({error.strerror}); `make run` writes it there"
        ) from error
    if not key:
        raise UnusableApiError(f"the API key file {path} is empty")
    return key


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m tc_devstack.plot_vehicle",
        description="Draw each vehicle's learnt weekly rhythm and current charge plan as PNGs.",
    )
    parser.add_argument("--api-url", default="http://127.0.0.1:8000")
    parser.add_argument("--api-key-file", default=".run/api-key")
    parser.add_argument(
        "--vin", action="append", help="a vehicle (repeatable; default: every listed vehicle)"
    )
    parser.add_argument("--zone", default="NO1", help="bidding zone of the price curve")
    parser.add_argument("--out", default=".run/plots", help="directory; one folder per VIN")
    return parser


if __name__ == "__main__":
    sys.exit(main())
