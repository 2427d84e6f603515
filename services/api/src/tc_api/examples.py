"""Example answers of the routes, shown in the OpenAPI document.

Each is validated by its response model when this module is imported, so an example cannot
drift from the schema it illustrates. ``ok(example)`` is a route's ``responses`` entry.
"""

from typing import Any

from pydantic import BaseModel, TypeAdapter

from tc_api.account_schemas import AccountOut, ErasureAccepted, TessieTokenOut
from tc_api.device_schemas import DeviceOut, DeviceRequestAccepted
from tc_api.schemas import (
    Alive,
    BehaviourProfileOut,
    ChargePlanOut,
    ChargePlansPage,
    ChargesPage,
    DrivesPage,
    ExchangeRatesPage,
    Health,
    LatestSample,
    PriceAnomaliesPage,
    PriceForecastOut,
    PricesPage,
    TelemetryPage,
    VehicleOut,
    WeatherForecastOut,
)

VIN = "5YJ3E7EB0KF000001"


def _checked(model: type[BaseModel], value: dict[str, Any]) -> dict[str, Any]:
    dumped: dict[str, Any] = model.model_validate(value).model_dump(mode="json", by_alias=True)
    return dumped


def ok(example: Any) -> dict[int | str, dict[str, Any]]:
    """The 200 entry of a route's ``responses``: FastAPI merges it with the response model."""
    return {200: {"content": {"application/json": {"example": example}}}}


ALIVE = _checked(Alive, {"status": "ok"})
HEALTH = _checked(Health, {"status": "ok", "database": "ok"})

_ACTIVITY = {
    "state": "asleep",
    "since": "2026-11-25T01:12:00Z",
    "last_seen_at": "2026-11-25T11:58:00Z",
}
VEHICLES = TypeAdapter(list[VehicleOut]).dump_python(
    TypeAdapter(list[VehicleOut]).validate_python(
        [
            {
                "vehicle_id": VIN,
                "first_sampled_at": "2026-09-01T08:00:00Z",
                "last_sampled_at": "2026-11-25T01:10:00Z",
                "activity": _ACTIVITY,
            }
        ]
    ),
    mode="json",
)
_SAMPLE = {
    "vehicle_id": VIN,
    "sampled_at": "2026-11-25T01:10:00Z",
    "fetched_at": "2026-11-25T01:10:04Z",
    "online_state": "online",
    "battery_level_pct": 64.0,
    "usable_battery_level_pct": 63.0,
    "battery_range_km": 301.5,
    "charge_limit_pct": 80.0,
    "charging_state": "Disconnected",
    "charger_power_kw": 0.0,
    "charge_energy_added_kwh": 12.4,
    "latitude_deg": 63.4305,
    "longitude_deg": 10.3951,
    "heading_deg": 270.0,
    "speed_kmh": None,
    "power_kw": 0.0,
    "shift_state": "P",
    "odometer_km": 48210.3,
    "inside_temp_c": 12.5,
    "outside_temp_c": -3.0,
    "is_climate_on": False,
    "sentry_mode": False,
    "locked": True,
    "scheduled_departure_at": "2026-11-25T06:30:00Z",
}
LATEST = _checked(LatestSample, {**_SAMPLE, "activity": _ACTIVITY})
TELEMETRY = _checked(
    TelemetryPage,
    {
        "vehicle_id": VIN,
        "from": "2026-11-24T01:00:00Z",
        "to": "2026-11-25T01:00:00Z",
        "order": "asc",
        "limit": 1000,
        "count": 1,
        "samples": [{**_SAMPLE, "sampled_at": "2026-11-24T18:00:00Z"}],
    },
)

_DRIVE = {
    "drive_id": 101,
    "started_at": "2026-11-24T07:40:00Z",
    "ended_at": "2026-11-24T08:05:00Z",
    "starting_latitude_deg": 63.4305,
    "starting_longitude_deg": 10.3951,
    "ending_latitude_deg": 63.4180,
    "ending_longitude_deg": 10.4030,
    "starting_battery_pct": 80.0,
    "ending_battery_pct": 76.0,
    "distance_km": 18.2,
    "energy_used_kwh": 3.1,
}
DRIVES = _checked(
    DrivesPage,
    {
        "vehicle_id": VIN,
        "from": "2026-11-18T12:00:00Z",
        "to": "2026-11-25T12:00:00Z",
        "count": 1,
        "distance_km": 18.2,
        "drives": [_DRIVE],
    },
)
_CHARGE = {
    "charge_id": 201,
    "started_at": "2026-11-24T18:00:00Z",
    "ended_at": "2026-11-24T21:10:00Z",
    "latitude_deg": 63.4305,
    "longitude_deg": 10.3951,
    "is_supercharger": False,
    "starting_battery_pct": 52.0,
    "ending_battery_pct": 80.0,
    "energy_added_kwh": 21.0,
    "energy_used_kwh": 23.3,
    "odometer_km": 48192.1,
}
CHARGES = _checked(
    ChargesPage,
    {
        "vehicle_id": VIN,
        "from": "2026-11-18T12:00:00Z",
        "to": "2026-11-25T12:00:00Z",
        "count": 1,
        "energy_added_kwh": 21.0,
        "charges": [_CHARGE],
    },
)

_WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
PROFILE = _checked(
    BehaviourProfileOut,
    {
        "vehicle_id": VIN,
        "computed_at": "2026-11-25T11:00:00Z",
        "learning_state": "ready",
        "days_observed": 21,
        "days_until_ready": 0,
        "days_until_fully_trained": 9,
        "timezone": "Europe/Oslo",
        "weekdays": [
            {
                "weekday": day,
                "name": name,
                "drive_probability": 0.9 if day < 5 else 0.5,
                "first_departure_p10_min": 445.0,
                "first_departure_p50_min": 460.0,
                "first_departure_p90_min": 480.0,
                "last_return_p10_min": 980.0,
                "last_return_p50_min": 1010.0,
                "last_return_p90_min": 1060.0,
                "distance_p50_km": 36.0,
                "distance_p90_km": 61.0,
                "energy_p50_kwh": 6.1,
                "energy_p90_kwh": 10.4,
            }
            for day, name in enumerate(_WEEKDAY_NAMES)
        ],
        "daily_distance_p50_km": 34.0,
        "daily_energy_p50_kwh": 5.8,
        "locations": [
            {
                "kind": "home",
                "latitude_deg": 63.4305,
                "longitude_deg": 10.3951,
                "sessions": 9,
                "share_of_sessions": 0.9,
                "effective_power_kw": 10.5,
                "efficiency": 0.9,
                "energy_per_session_p50_kwh": 20.0,
                "plug_in_probability_per_day": 0.43,
            }
        ],
        "summary": "Usually leaves at 07:40 on weekdays and charges at home.",
    },
)
_PLAN = {
    "vehicle_id": VIN,
    "issued_at": "2026-11-25T11:00:00Z",
    "trigger": "prices_published",
    "status": "planned",
    "battery_level_pct": 52.0,
    "target_pct": 80.0,
    "target_source": "charge_limit",
    "energy_to_add_kwh": 21.0,
    "charger_power_kw": 11.0,
    "efficiency": 0.9,
    "departure_p10_at": "2026-11-26T06:25:00Z",
    "departure_p50_at": "2026-11-26T06:40:00Z",
    "departure_p90_at": "2026-11-26T07:00:00Z",
    "ready_by_at": "2026-11-26T06:25:00Z",
    "risk_target": 0.95,
    "probability_ready": 0.99,
    "currency": "NOK",
    "expected_cost": 18.4,
    "cost_p10": 15.9,
    "cost_p90": 21.7,
    "cost_if_charged_now": 31.2,
    "expected_saving": 12.8,
    "slots": [
        {
            "start_at": "2026-11-26T01:00:00Z",
            "end_at": "2026-11-26T02:00:00Z",
            "energy_kwh": 9.9,
            "power_kw": 11.0,
            "price_per_kwh": 0.86,
            "price_is_forecast": False,
        },
        {
            "start_at": "2026-11-26T02:00:00Z",
            "end_at": "2026-11-26T03:00:00Z",
            "energy_kwh": 11.1,
            "power_kw": 11.0,
            "price_per_kwh": 0.89,
            "price_is_forecast": False,
        },
    ],
    "reason": "Charges 21 kWh in the two cheapest night hours before 07:25 Oslo time.",
}
PLAN = _checked(ChargePlanOut, _PLAN)
PLANS = _checked(
    ChargePlansPage,
    {
        "vehicle_id": VIN,
        "from": "2026-11-18T12:00:00Z",
        "to": "2026-11-25T12:00:00Z",
        "limit": 100,
        "count": 1,
        "plans": [_PLAN],
    },
)

_FORECAST = {
    "zone": "NO3",
    "issued_at": "2026-11-25T12:30:00Z",
    "model": "quantile-gbm-v3",
    "known_until": "2026-11-26T23:00:00Z",
    "slots": [
        {
            "start_at": "2026-11-26T23:00:00Z",
            "end_at": "2026-11-27T00:00:00Z",
            "p10_eur_per_mwh": 38.0,
            "p50_eur_per_mwh": 52.5,
            "p90_eur_per_mwh": 71.0,
        }
    ],
}
PRICE_FORECAST = _checked(PriceForecastOut, _FORECAST)
PRICES = _checked(
    PricesPage,
    {
        "zone": "NO3",
        "from": "2026-11-26T22:00:00Z",
        "to": "2026-11-27T00:00:00Z",
        "count": 1,
        "slots": [
            {
                "start_at": "2026-11-26T22:00:00Z",
                "end_at": "2026-11-26T23:00:00Z",
                "resolution_min": 60,
                "price_eur_per_mwh": 48.3,
                "price_nok_ore_per_kwh": 56.9,
            }
        ],
        "forecast": _FORECAST,
    },
)
ANOMALIES = _checked(
    PriceAnomaliesPage,
    {
        "zone": "NO3",
        "from": "2026-11-24T00:00:00Z",
        "to": "2026-11-27T00:00:00Z",
        "count": 1,
        "anomalies": [
            {
                "kind": "spike",
                "start_at": "2026-11-25T16:00:00Z",
                "end_at": "2026-11-25T17:00:00Z",
                "price_eur_per_mwh": 412.0,
                "expected_eur_per_mwh": 95.0,
                "detected_at": "2026-11-24T12:45:00Z",
                "detail": "412.0 EUR/MWh is above median + 6 MAD of the last 28 days",
            }
        ],
    },
)
EXCHANGE_RATES = _checked(
    ExchangeRatesPage,
    {
        "from": "2026-11-24",
        "to": "2026-11-26",
        "count": 1,
        "rates": [
            {
                "rate_date": "2026-11-24",
                "currency": "NOK",
                "per_eur": 11.78,
                "source": "norges-bank",
                "fetched_at": "2026-11-24T15:05:00Z",
            }
        ],
    },
)
WEATHER = _checked(
    WeatherForecastOut,
    {
        "location_id": "zone:NO3",
        "latitude_deg": 63.43,
        "longitude_deg": 10.4,
        "updated_at": "2026-11-25T09:00:00Z",
        "fetched_at": "2026-11-25T09:12:00Z",
        "source": "met",
        "slots": [
            {
                "start_at": "2026-11-25T12:00:00Z",
                "end_at": "2026-11-25T13:00:00Z",
                "air_temperature_c": -3.2,
                "wind_speed_m_per_s": 4.1,
                "cloud_area_fraction_pct": 87.5,
                "precipitation_mm": 0.3,
            }
        ],
    },
)


TESSIE_TOKEN = _checked(
    TessieTokenOut,
    {
        "token_id": "0b7c2f4e-5d1a-4c3b-9e8f-7a6b5c4d3e2f",
        "vehicle_ids": [VIN, "7SAYGDEE2PF010003"],
        "registered_at": "2026-11-25T11:58:00Z",
    },
)
ACCOUNT = _checked(
    AccountOut,
    {
        "account_id": "3f2e1d0c-9b8a-4f6e-8d7c-6b5a4f3e2d1c",
        "email": "ola.nordmann@example.com",
        "state": "active",
        "vehicle_ids": [VIN, "7SAYGDEE2PF010003"],
        "created_at": "2026-10-01T09:00:00Z",
        "tessie_token": {
            "token_id": "0b7c2f4e-5d1a-4c3b-9e8f-7a6b5c4d3e2f",
            "registered": True,
            "registered_at": "2026-11-25T11:58:00Z",
            "revoked_at": None,
            "vehicle_ids": [VIN, "7SAYGDEE2PF010003"],
        },
    },
)

ERASURE = _checked(
    ErasureAccepted,
    {
        "account_id": "3f2e1d0c-9b8a-4f6e-8d7c-6b5a4f3e2d1c",
        "state": "erasure_pending",
        "requested_at": "2026-11-25T11:58:00Z",
    },
)
# A laptop re-issued once (the first certificate superseded) and a phone reported lost.
DEVICES = TypeAdapter(list[DeviceOut]).dump_python(
    TypeAdapter(list[DeviceOut]).validate_python(
        [
            {
                "device_name": "laptop",
                "certificates": [
                    {
                        "serial_hex": "5c1f0a9e3b7d2c4e6f8a0b1c2d3e4f5a6b7c8d9e",
                        "state": "issued",
                        "reason": None,
                        "valid": True,
                        "issued_at": "2026-11-20T09:00:00Z",
                        "not_after": "2027-11-20T09:00:00Z",
                    },
                    {
                        "serial_hex": "1a2b3c4d5e6f708192a3b4c5d6e7f80912a3b4c5",
                        "state": "revoked",
                        "reason": "superseded",
                        "valid": False,
                        "issued_at": "2026-10-01T09:00:00Z",
                        "not_after": "2027-10-01T09:00:00Z",
                    },
                ],
            },
            {
                "device_name": "phone",
                "certificates": [
                    {
                        "serial_hex": "7e6d5c4b3a2918f7e6d5c4b3a2918f7e6d5c4b3a",
                        "state": "revoked",
                        "reason": "customer_request",
                        "valid": False,
                        "issued_at": "2026-10-02T18:30:00Z",
                        "not_after": "2027-10-02T18:30:00Z",
                    }
                ],
            },
        ]
    ),
    mode="json",
)
DEVICE_REVOKE = _checked(
    DeviceRequestAccepted,
    {
        "request_id": "9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a",
        "device_name": "phone",
        "kind": "revoke",
        "requested_at": "2026-11-25T11:58:00Z",
    },
)
DEVICE_RESEND = _checked(
    DeviceRequestAccepted,
    {
        "request_id": "2e3f4a5b-6c7d-4e8f-9a0b-1c2d3e4f5a6b",
        "device_name": "laptop",
        "kind": "resend_profile",
        "requested_at": "2026-11-25T11:58:00Z",
    },
)
# What a zip's manifest.json says: the example a binary answer can show.
EXPORT_MANIFEST = {
    "format_version": 1,
    "account_id": "3f2e1d0c-9b8a-4f6e-8d7c-6b5a4f3e2d1c",
    "generated_at": "2026-11-25T11:58:00+00:00",
    "files": [
        {
            "name": "telemetry.csv",
            "description": "every telemetry sample of the vehicles (metric units, UTC)",
            "columns": ["vehicle_id", "sampled_at", "battery_level_pct", "..."],
            "rows": 20160,
            "bytes": 2883412,
            "sha256": "9f2c5a1e0b7d4c3a8e6f1b2d5c7a9e0f3b4d6c8a1e2f5b7d9c0a3e4f6b8d1c2a",
        }
    ],
}
