"""Charts of the learnt rhythm and of charge plans, and the CLI that draws them from the API."""

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from matplotlib.image import imread

from tc_common.events.behaviour import (
    BehaviourProfileUpdated,
    ChargePlanPublished,
    WeekdayRhythm,
)
from tc_devstack import plot_vehicle
from tc_forecast.plots import ForecastPrice, PriceCurve, PublishedPrice, plot_plan, plot_profile
from tc_testkit import history

VIN = "5YJ3E7EB0KF000001"
NOW = datetime(2026, 11, 25, 18, 0, tzinfo=UTC)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _profile(state: str = "ready", days: int = 7) -> BehaviourProfileUpdated:
    """A profile with every part of the week chart filled in (the rhythm of ``days`` days)."""
    weekdays = tuple(
        WeekdayRhythm(
            weekday=d,
            drive_probability=0.9 if d < 5 else 0.4,
            first_departure_p10_min=7 * 60 + 10,
            first_departure_p50_min=7 * 60 + 40,
            first_departure_p90_min=8 * 60 + 20,
            last_return_p10_min=16 * 60,
            last_return_p50_min=17 * 60,
            last_return_p90_min=18 * 60 + 30,
            distance_p50_km=42.0,
            distance_p90_km=80.0,
            energy_p50_kwh=7.5,
            energy_p90_kwh=14.0,
        )
        for d in range(days)
    )
    return history.profile(
        NOW,
        vehicle_id=VIN,
        days_observed=31 if state != "learning" else 6,
        weekdays=weekdays,
        daily_energy_p50_kwh=6.9,
        summary="Leaves around 07:40 on weekdays and is back by 17:00; drives 38 km a day.",
    )


def _plan(status: str = "planned", with_slots: bool = True) -> ChargePlanPublished:
    if with_slots:
        return history.plan(NOW, vehicle_id=VIN, status=status, slots=8)
    return history.plan(
        NOW,
        vehicle_id=VIN,
        status=status,
        slots=0,
        energy_to_add_kwh=0.0,
        ready_by_at=None,
        reason="The car is not plugged in.",
    )


def _prices() -> PriceCurve:
    start = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)
    hours = [start + timedelta(hours=h) for h in range(48)]
    published = tuple(
        PublishedPrice(start_at=h, end_at=h + timedelta(hours=1), price_eur_per_mwh=60 + 20 * i % 7)
        for i, h in enumerate(hours[:22])
    )
    forecast = tuple(
        ForecastPrice(
            start_at=h,
            end_at=h + timedelta(hours=1),
            p10_eur_per_mwh=40 + i % 5,
            p50_eur_per_mwh=55 + i % 5,
            p90_eur_per_mwh=80 + i % 5,
        )
        for i, h in enumerate(hours[22:])
    )
    return PriceCurve(zone="NO1", published=published, forecast=forecast)


def _assert_drawn_png(path: Path) -> None:
    assert path.read_bytes().startswith(PNG_SIGNATURE)
    pixels = imread(path)
    assert pixels.shape[0] > 400
    assert pixels.shape[1] > 600
    # A chart, not a blank canvas: many distinct pixel values.
    assert len(np.unique(pixels.reshape(-1, pixels.shape[-1]), axis=0)) > 50


def test_ready_profile_is_drawn_as_a_week_chart(tmp_path: Path) -> None:
    path = plot_profile(_profile("ready"), tmp_path / "profile.png")

    assert path == tmp_path / "profile.png"
    _assert_drawn_png(path)


def test_learning_profile_with_empty_weekdays_is_still_drawn(tmp_path: Path) -> None:
    profile = _profile("learning", days=3).model_copy(
        update={
            "weekdays": (
                *_profile("learning", days=3).weekdays,
                WeekdayRhythm(weekday=4, drive_probability=0.0),
            ),
            "summary": "",
            "locations": (),
            "daily_distance_p50_km": None,
        }
    )

    _assert_drawn_png(plot_profile(profile, tmp_path / "nested" / "profile.png"))


def test_planned_plan_with_forecast_slots_is_drawn_over_the_price_curve(tmp_path: Path) -> None:
    path = plot_plan(_plan(), _prices(), tmp_path / "plan.png", now=NOW)

    _assert_drawn_png(path)


def test_not_plugged_in_plan_without_slots_or_prices_is_still_drawn(tmp_path: Path) -> None:
    plan = _plan("not_plugged_in", with_slots=False)

    _assert_drawn_png(plot_plan(plan, PriceCurve(zone="NO1"), tmp_path / "plan.png"))


def _api(
    *, key: str = "right-key", plan: bool = True
) -> tuple[httpx.MockTransport, list[httpx.Request]]:
    seen: list[httpx.Request] = []
    prices = _prices()

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.headers.get("X-API-Key") != key:
            return httpx.Response(401, json={"detail": "invalid X-API-Key"})
        path = request.url.path
        body: Any
        if path == "/v1/vehicles":
            body = [{"vehicle_id": VIN, "first_sampled_at": NOW.isoformat()}]
        elif path == f"/v1/vehicles/{VIN}/profile":
            body = _profile().model_dump(mode="json", exclude={"schema_version"})
        elif path == f"/v1/vehicles/{VIN}/plan" and plan:
            body = _plan().model_dump(mode="json", exclude={"schema_version"})
        elif path == f"/v1/vehicles/{VIN}/plan":
            return httpx.Response(404, json={"detail": f"vehicle {VIN!r} has no charge plan yet"})
        elif path == "/v1/prices/NO1":
            body = {
                "zone": "NO1",
                "slots": [p.model_dump(mode="json") for p in prices.published],
                "forecast": {"slots": [f.model_dump(mode="json") for f in prices.forecast]},
            }
        else:
            return httpx.Response(404, json={"detail": "no such route"})
        return httpx.Response(200, json=body)

    return httpx.MockTransport(handle), seen


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    path = tmp_path / "api-key"
    path.write_text("right-key\n")
    return path


def test_cli_writes_both_charts_of_every_listed_vehicle(
    tmp_path: Path, key_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    transport, seen = _api()
    out = tmp_path / "plots"

    status = plot_vehicle.main(
        ["--api-key-file", str(key_file), "--out", str(out)], transport=transport, now=NOW
    )

    assert status == 0
    written = [out / VIN / "profile.png", out / VIN / "plan.png"]
    for path in written:
        assert path.read_bytes().startswith(PNG_SIGNATURE)
    assert capsys.readouterr().out.split() == [str(p) for p in written]
    price_request = next(r for r in seen if r.url.path == "/v1/prices/NO1")
    assert price_request.url.params["include_forecast"] == "true"
    # The price window covers the plan's ready-by deadline.
    assert datetime.fromisoformat(price_request.url.params["to"]) > _plan().ready_by_at  # type: ignore[operator]


def test_cli_explains_a_missing_plan_and_still_draws_the_profile(
    tmp_path: Path, key_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    transport, _ = _api(plan=False)
    out = tmp_path / "plots"

    status = plot_vehicle.main(
        ["--api-key-file", str(key_file), "--vin", VIN, "--out", str(out)],
        transport=transport,
        now=NOW,
    )

    assert status == 1
    assert (out / VIN / "profile.png").exists()
    assert not (out / VIN / "plan.png").exists()
    assert "has no charge plan yet" in capsys.readouterr().err


def test_cli_names_the_key_file_when_the_key_is_refused(
    tmp_path: Path, key_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    transport, _ = _api(key="another-key")

    status = plot_vehicle.main(
        ["--api-key-file", str(key_file), "--out", str(tmp_path)], transport=transport, now=NOW
    )

    assert status == 2
    error = capsys.readouterr().err
    assert "refused the key" in error
    assert str(key_file) in error
    assert "right-key" not in error
