"""Response bodies of the HTTP API: metric units in field names, aware UTC datetimes.

A sample carries the same field names as the ``TelemetrySampled`` event, so a dashboard can
treat a stored sample and a streamed one alike. The models are declared here rather than
reused from the event: the HTTP contract changes only when we change it here.
"""

from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from tc_api.domain import (
    Activity,
    ForecastSlot,
    PriceForecast,
    SortOrder,
    SpotPrice,
    TelemetryQuery,
    Vehicle,
    WeatherForecast,
)
from tc_api.paging import NEXT_CURSOR_DESCRIPTION
from tc_common.events import (
    BehaviourProfileUpdated,
    ChargePlanPublished,
    ChargeRecorded,
    DriveRecorded,
    TelemetrySampled,
)
from tc_common.events.activity import VehicleActivity
from tc_common.events.behaviour import PlanTrigger, WeekdayRhythm
from tc_common.events.telemetry import ChargingState, VehicleOnlineState


class ResponseModel(BaseModel):
    """What every answer's body is: immutable once built."""

    model_config = ConfigDict(frozen=True)


class ActivityOut(ResponseModel):
    """What the car is doing, as last seen. An asleep car sends no telemetry until it wakes:
    its samples stop growing while ``state`` is ``asleep``, and that is expected."""

    state: VehicleActivity = Field(
        description="asleep: sleeping, no telemetry until it wakes; awake: online and parked, "
        "not charging; driving: in gear or moving; charging: energy flowing in; offline: not "
        "answering.",
        examples=["asleep"],
    )
    since: AwareDatetime = Field(
        description="When the car began this activity, as far as ingest saw it (UTC)."
    )
    last_seen_at: AwareDatetime = Field(
        description="When ingest last checked the car (UTC); refreshed every few minutes "
        "while the system runs."
    )

    @classmethod
    def from_activity(cls, activity: Activity | None) -> "ActivityOut | None":
        if activity is None:
            return None
        return cls(
            state=activity.state,  # validated: the table's CHECK allows only the five
            since=activity.since,
            last_seen_at=activity.last_seen_at,
        )


class VehicleOut(ResponseModel):
    vehicle_id: str = Field(description="The vehicle's VIN.", examples=["5YJ3E7EB0KF000001"])
    first_sampled_at: AwareDatetime = Field(description="Time of the oldest stored sample (UTC).")
    last_sampled_at: AwareDatetime = Field(description="Time of the newest stored sample (UTC).")
    activity: ActivityOut | None = Field(
        description="What the car is doing as last seen, and since when; null until ingest has "
        "checked it."
    )

    @classmethod
    def from_vehicle(cls, vehicle: Vehicle) -> "VehicleOut":
        return cls(
            vehicle_id=vehicle.vehicle_id,
            first_sampled_at=vehicle.first_sampled_at,
            last_sampled_at=vehicle.last_sampled_at,
            activity=ActivityOut.from_activity(vehicle.activity),
        )


class TelemetrySample(ResponseModel):
    """One telemetry snapshot of one vehicle; ``null`` means the car did not report the value."""

    vehicle_id: str = Field(description="The vehicle's VIN.")
    sampled_at: AwareDatetime = Field(description="When the vehicle produced the snapshot (UTC).")
    fetched_at: AwareDatetime = Field(description="When it was fetched from Tessie (UTC).")
    online_state: VehicleOnlineState = Field(description="Connectivity of the car.")
    battery_level_pct: float | None = Field(description="State of charge, percent.")
    usable_battery_level_pct: float | None = Field(description="Usable state of charge, percent.")
    battery_range_km: float | None = Field(description="Rated range left, km.")
    charge_limit_pct: float | None = Field(description="Charge limit set in the car, percent.")
    charging_state: ChargingState | None = Field(description="Tesla's charging state.")
    charger_power_kw: float | None = Field(description="Power the charger delivers, kW.")
    charge_energy_added_kwh: float | None = Field(
        description="Energy added in the current or last charging session, kWh."
    )
    latitude_deg: float | None = Field(description="WGS84 latitude, degrees.")
    longitude_deg: float | None = Field(description="WGS84 longitude, degrees.")
    heading_deg: float | None = Field(description="Heading, degrees.")
    speed_kmh: float | None = Field(description="Speed, km/h; null when parked.")
    power_kw: float | None = Field(
        description="Drive-train power, kW; negative while regenerating or charging."
    )
    shift_state: Literal["P", "D", "R", "N"] | None = Field(description="Gear.")
    odometer_km: float | None = Field(description="Odometer, km.")
    inside_temp_c: float | None = Field(description="Cabin temperature, °C.")
    outside_temp_c: float | None = Field(description="Outside temperature, °C.")
    is_climate_on: bool | None = Field(description="Climate control running.")
    sentry_mode: bool | None = Field(description="Sentry mode on.")
    locked: bool | None = Field(description="Doors locked.")
    scheduled_departure_at: AwareDatetime | None = Field(
        description="The next departure the owner scheduled in the car (UTC); null when none "
        "is scheduled or the sample predates it being recorded."
    )

    # Read back from PostgreSQL in the session's time zone; the API answers in UTC.
    @field_validator("scheduled_departure_at")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        return None if value is None else value.astimezone(UTC)

    @classmethod
    def from_event(cls, sample: TelemetrySampled) -> "TelemetrySample":
        return cls.model_validate(sample.model_dump(exclude={"schema_version"}))


class LatestSample(TelemetrySample):
    """The newest telemetry snapshot, and what the car is doing now as last seen: the snapshot
    of an asleep car is the one from before it fell asleep."""

    activity: ActivityOut | None = Field(
        description="What the car is doing as last seen, and since when; null until ingest has "
        "checked it."
    )

    @classmethod
    def build(cls, sample: TelemetrySampled, vehicle: Vehicle | None) -> "LatestSample":
        return cls.model_validate(
            {
                **sample.model_dump(exclude={"schema_version"}),
                "activity": ActivityOut.from_activity(vehicle.activity if vehicle else None),
            }
        )


class TelemetryPage(ResponseModel):
    """Samples of one vehicle in ``[from, to)``; when more remain, ``next_cursor`` pages on."""

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    vehicle_id: str = Field(description="The vehicle's VIN.", examples=["5YJ3E7EB0KF000001"])
    from_: datetime = Field(alias="from", description="Inclusive start of the window (UTC).")
    to: datetime = Field(description="Exclusive end of the window (UTC).")
    order: SortOrder = Field(description="Sort order of the samples by sampled_at.")
    limit: int = Field(description="The most samples this page may hold (a count of samples).")
    count: int = Field(description="Number of samples in this page.")
    samples: list[TelemetrySample] = Field(description="The samples, in the requested order.")
    next_cursor: str | None = Field(default=None, description=NEXT_CURSOR_DESCRIPTION)

    @classmethod
    def build(
        cls,
        vehicle_id: str,
        query: TelemetryQuery,
        samples: list[TelemetrySampled],
        next_cursor: str | None = None,
    ) -> "TelemetryPage":
        return cls(
            vehicle_id=vehicle_id,
            from_=query.from_at,
            to=query.to_at,
            order=query.order,
            limit=query.limit,
            count=len(samples),
            samples=[TelemetrySample.from_event(s) for s in samples],
            next_cursor=next_cursor,
        )


class Health(ResponseModel):
    status: Literal["ok", "unavailable"] = Field(
        description="ok while the api can serve requests, unavailable while it cannot."
    )
    database: Literal["ok", "unavailable"] = Field(
        description="ok while the database answers, unavailable while it does not."
    )


class Alive(ResponseModel):
    status: Literal["ok"] = Field(default="ok", description="Always ok: the process serves HTTP.")


class ErrorBody(ResponseModel):
    detail: str = Field(description="What went wrong and what to change.")


class UnavailableBody(ErrorBody):
    retry_after_s: int = Field(description="Seconds to wait before retrying.")


class SpotPriceOut(ResponseModel):
    """One market time unit's day-ahead price."""

    start_at: AwareDatetime = Field(description="Start of the slot (UTC, inclusive).")
    end_at: AwareDatetime = Field(description="End of the slot (UTC, exclusive).")
    resolution_min: int = Field(description="Length of the slot, 15 or 60 minutes.")
    price_eur_per_mwh: float = Field(description="Spot price, EUR/MWh (may be negative).")
    price_nok_ore_per_kwh: float | None = Field(
        description="The same price in NOK øre/kWh ex VAT; null when no rate was known."
    )

    @classmethod
    def from_price(cls, price: SpotPrice) -> "SpotPriceOut":
        return cls.model_validate(price, from_attributes=True)


class ForecastSlotOut(ResponseModel):
    start_at: AwareDatetime = Field(description="Start of the slot (UTC, inclusive).")
    end_at: AwareDatetime = Field(description="End of the slot (UTC, exclusive).")
    p10_eur_per_mwh: float = Field(description="10 % quantile, EUR/MWh.")
    p50_eur_per_mwh: float = Field(description="Median, EUR/MWh.")
    p90_eur_per_mwh: float = Field(description="90 % quantile, EUR/MWh.")


class PriceForecastOut(ResponseModel):
    """A zone's price forecast as issued; its slots start after the prices known then."""

    zone: str = Field(description="The bidding zone, upper case.", examples=["NO3"])
    issued_at: AwareDatetime = Field(description="When the forecast was made (UTC).")
    model: str = Field(description="Model name and version.")
    known_until: AwareDatetime = Field(description="End of the prices known when issued (UTC).")
    slots: list[ForecastSlotOut] = Field(description="Forecast slots, oldest first.")

    @classmethod
    def build(
        cls, forecast: PriceForecast, slots: Sequence[ForecastSlot] | None = None
    ) -> "PriceForecastOut":
        return cls(
            zone=forecast.zone,
            issued_at=forecast.issued_at,
            model=forecast.model,
            known_until=forecast.known_until,
            slots=[
                ForecastSlotOut.model_validate(s, from_attributes=True)
                for s in (forecast.slots if slots is None else slots)
            ],
        )


class PricesPage(ResponseModel):
    """Spot prices of one zone for slots starting in ``[from, to)``, one price per instant."""

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    zone: str = Field(description="The bidding zone, upper case.", examples=["NO3"])
    from_: datetime = Field(alias="from", description="Inclusive start of the window (UTC).")
    to: datetime = Field(description="Exclusive end of the window (UTC).")
    count: int = Field(description="Number of spot slots.")
    slots: list[SpotPriceOut] = Field(description="Published spot prices, oldest first.")
    forecast: PriceForecastOut | None = Field(
        default=None,
        description="With include_forecast=true: the latest forecast's slots in the window "
        "after the last published price (null when there is no forecast).",
    )


class PriceAnomalyOut(ResponseModel):
    kind: Literal["spike", "negative", "regime_shift"] = Field(
        description="spike: far above the recent median; negative: below zero; regime_shift: "
        "realised prices outside the forecast's p10-p90 band for several slots in a row."
    )
    start_at: AwareDatetime = Field(description="Start of the anomaly (UTC, inclusive).")
    end_at: AwareDatetime = Field(description="End of the anomaly (UTC, exclusive).")
    price_eur_per_mwh: float = Field(description="The realised (or mean realised) price, EUR/MWh.")
    expected_eur_per_mwh: float | None = Field(
        description="The forecast's p50, EUR/MWh; null without a forecast."
    )
    detected_at: AwareDatetime = Field(description="When it was flagged (UTC).")
    detail: str = Field(description="Why it was flagged.")


class PriceAnomaliesPage(ResponseModel):
    """Anomalies of one zone that overlap ``[from, to)``."""

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    zone: str = Field(description="The bidding zone, upper case.", examples=["NO3"])
    from_: datetime = Field(alias="from", description="Inclusive start of the window (UTC).")
    to: datetime = Field(description="Exclusive end of the window (UTC).")
    count: int = Field(description="Number of anomalies.")
    anomalies: list[PriceAnomalyOut] = Field(description="The anomalies, oldest first.")


class ExchangeRateOut(ResponseModel):
    rate_date: date = Field(description="The business day of the rate.")
    currency: str = Field(description="ISO 4217 currency code.", examples=["NOK"])
    per_eur: float = Field(description="Units of the currency per 1 EUR.")
    source: str = Field(description="Who published the rate.", examples=["norges-bank"])
    fetched_at: AwareDatetime = Field(description="When it was fetched (UTC).")


class ExchangeRatesPage(ResponseModel):
    """Rates for the days ``[from, to)``; business days only."""

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    from_: date = Field(alias="from", description="First day (inclusive).")
    to: date = Field(description="Last day (exclusive).")
    count: int = Field(description="Number of rates.")
    rates: list[ExchangeRateOut] = Field(description="The rates, oldest day first.")


class WeatherSlotOut(ResponseModel):
    start_at: AwareDatetime = Field(description="Start of the slot (UTC, inclusive).")
    end_at: AwareDatetime = Field(description="End of the slot (UTC, exclusive).")
    air_temperature_c: float | None = Field(description="Air temperature, °C.")
    wind_speed_m_per_s: float | None = Field(description="Wind speed, m/s.")
    cloud_area_fraction_pct: float | None = Field(description="Cloud cover, percent.")
    precipitation_mm: float | None = Field(description="Precipitation over the slot, mm.")


class WeatherForecastOut(ResponseModel):
    """The newest weather model run stored for a place."""

    location_id: str = Field(
        description="The place: 'zone:<zone>' or 'home:<vehicle_id>'.", examples=["zone:NO3"]
    )
    latitude_deg: float = Field(description="WGS84 latitude of the place, degrees.")
    longitude_deg: float = Field(description="WGS84 longitude of the place, degrees.")
    updated_at: AwareDatetime = Field(description="The model run's update time (UTC).")
    fetched_at: AwareDatetime = Field(description="When it was fetched (UTC).")
    source: str = Field(description="The weather service.", examples=["met"])
    slots: list[WeatherSlotOut] = Field(description="Forecast slots, oldest first.")

    @classmethod
    def from_forecast(cls, forecast: WeatherForecast) -> "WeatherForecastOut":
        return cls(
            location_id=forecast.location_id,
            latitude_deg=forecast.latitude_deg,
            longitude_deg=forecast.longitude_deg,
            updated_at=forecast.updated_at,
            fetched_at=forecast.fetched_at,
            source=forecast.source,
            slots=[WeatherSlotOut.model_validate(s, from_attributes=True) for s in forecast.slots],
        )


# --- Drive and charge history, behaviour profiles and charge plans ----------------------------


class DriveOut(ResponseModel):
    """One finished drive, as Tessie recorded it (km, UTC)."""

    drive_id: int = Field(description="Tessie's drive id.")
    started_at: AwareDatetime = Field(description="When the drive started (UTC).")
    ended_at: AwareDatetime = Field(description="When the drive ended (UTC).")
    starting_latitude_deg: float | None = Field(description="WGS84 latitude at the start, degrees.")
    starting_longitude_deg: float | None = Field(
        description="WGS84 longitude at the start, degrees."
    )
    ending_latitude_deg: float | None = Field(description="WGS84 latitude at the end, degrees.")
    ending_longitude_deg: float | None = Field(description="WGS84 longitude at the end, degrees.")
    starting_battery_pct: float | None = Field(description="State of charge at the start, %.")
    ending_battery_pct: float | None = Field(description="State of charge at the end, %.")
    distance_km: float = Field(description="Odometer distance of the drive, km.")
    energy_used_kwh: float | None = Field(description="Pack energy used, kWh.")

    @classmethod
    def from_event(cls, event: DriveRecorded) -> "DriveOut":
        return cls.model_validate(event.model_dump(exclude={"schema_version", "vehicle_id"}))


class ChargeOut(ResponseModel):
    """One charging session, as Tessie recorded it (km, UTC)."""

    charge_id: int = Field(description="Tessie's charge id.")
    started_at: AwareDatetime = Field(description="When the session started (UTC).")
    ended_at: AwareDatetime = Field(description="When the session ended (UTC).")
    latitude_deg: float | None = Field(description="WGS84 latitude of the charger, degrees.")
    longitude_deg: float | None = Field(description="WGS84 longitude of the charger, degrees.")
    is_supercharger: bool = Field(description="Charged at a Tesla Supercharger.")
    starting_battery_pct: float | None = Field(description="State of charge at the start, %.")
    ending_battery_pct: float | None = Field(description="State of charge at the end, %.")
    energy_added_kwh: float = Field(description="Energy added to the pack, kWh.")
    energy_used_kwh: float | None = Field(
        description="Energy drawn from the grid including losses, kWh."
    )
    odometer_km: float | None = Field(description="Odometer at the session, km.")

    @classmethod
    def from_event(cls, event: ChargeRecorded) -> "ChargeOut":
        return cls.model_validate(event.model_dump(exclude={"schema_version", "vehicle_id"}))


class DrivesPage(ResponseModel):
    """Drives of one vehicle that started in ``[from, to)``, oldest first."""

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    vehicle_id: str = Field(description="The vehicle's VIN.", examples=["5YJ3E7EB0KF000001"])
    from_: datetime = Field(alias="from", description="Inclusive start of the window (UTC).")
    to: datetime = Field(description="Exclusive end of the window (UTC).")
    count: int = Field(description="Number of drives.")
    distance_km: float = Field(description="Total distance of the listed drives, km.")
    drives: list[DriveOut] = Field(description="The drives, oldest first.")


class ChargesPage(ResponseModel):
    """Charging sessions of one vehicle that started in ``[from, to)``, oldest first."""

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    vehicle_id: str = Field(description="The vehicle's VIN.", examples=["5YJ3E7EB0KF000001"])
    from_: datetime = Field(alias="from", description="Inclusive start of the window (UTC).")
    to: datetime = Field(description="Exclusive end of the window (UTC).")
    count: int = Field(description="Number of charging sessions.")
    energy_added_kwh: float = Field(description="Total energy added by the listed sessions, kWh.")
    charges: list[ChargeOut] = Field(description="The sessions, oldest first.")


_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


class WeekdayRhythmOut(ResponseModel):
    """One weekday of the learned rhythm; times are minutes after local midnight."""

    weekday: int = Field(description="Day of the week, 0 = Monday .. 6 = Sunday.")
    name: str = Field(description="English name of the weekday.", examples=["Monday"])
    drive_probability: float = Field(description="Share of such days with a drive, 0..1.")
    first_departure_p10_min: float | None = Field(
        description="First departure, 10 % quantile, minutes after local midnight."
    )
    first_departure_p50_min: float | None = Field(
        description="First departure, median, minutes after local midnight."
    )
    first_departure_p90_min: float | None = Field(
        description="First departure, 90 % quantile, minutes after local midnight."
    )
    last_return_p10_min: float | None = Field(
        description="Last return, 10 % quantile, minutes after local midnight."
    )
    last_return_p50_min: float | None = Field(
        description="Last return, median, minutes after local midnight."
    )
    last_return_p90_min: float | None = Field(
        description="Last return, 90 % quantile, minutes after local midnight."
    )
    distance_p50_km: float | None = Field(description="Distance driven such a day, median, km.")
    distance_p90_km: float | None = Field(
        description="Distance driven such a day, 90 % quantile, km."
    )
    energy_p50_kwh: float | None = Field(description="Energy used such a day, median, kWh.")
    energy_p90_kwh: float | None = Field(description="Energy used such a day, 90 % quantile, kWh.")

    @classmethod
    def from_part(cls, part: WeekdayRhythm) -> "WeekdayRhythmOut":
        return cls.model_validate({**part.model_dump(), "name": _WEEKDAYS[part.weekday]})


class ChargingLocationOut(ResponseModel):
    """Where the vehicle is usually plugged in, and what it achieves there."""

    kind: Literal["home", "other"] = Field(
        description="home: where the car's drives end; other: anywhere else."
    )
    latitude_deg: float = Field(description="WGS84 latitude, degrees.")
    longitude_deg: float = Field(description="WGS84 longitude, degrees.")
    sessions: int = Field(description="Number of charging sessions seen here.")
    share_of_sessions: float = Field(description="Share of all sessions that were here, 0..1.")
    effective_power_kw: float | None = Field(description="Median energy added per hour, kW.")
    efficiency: float | None = Field(description="Energy added / energy drawn, 0..1.")
    energy_per_session_p50_kwh: float | None = Field(
        description="Energy added per session, median, kWh."
    )
    plug_in_probability_per_day: float | None = Field(
        description="Share of days the car is plugged in here, 0..1."
    )


class BehaviourProfileOut(ResponseModel):
    """A vehicle's learned weekly rhythm and charging habits, and how far the learning is."""

    vehicle_id: str = Field(description="The vehicle's VIN.", examples=["5YJ3E7EB0KF000001"])
    computed_at: AwareDatetime = Field(description="When the profile was computed (UTC).")
    learning_state: Literal["learning", "ready", "fully_trained"] = Field(
        description="learning (before 14 days of history), ready, fully_trained (30 days)."
    )
    days_observed: int = Field(description="Days of history the profile is built on.")
    days_until_ready: int = Field(
        description="Days of history still needed to be ready; 0 once ready."
    )
    days_until_fully_trained: int = Field(
        description="Days of history still needed to be fully trained; 0 once fully trained."
    )
    timezone: str = Field(
        description="IANA time zone of the rhythm's minutes.", examples=["Europe/Oslo"]
    )
    weekdays: list[WeekdayRhythmOut] = Field(description="Monday to Sunday.")
    daily_distance_p50_km: float | None = Field(description="Distance driven a day, median, km.")
    daily_energy_p50_kwh: float | None = Field(description="Energy used a day, median, kWh.")
    locations: list[ChargingLocationOut] = Field(description="Where it charges, most used first.")
    summary: str = Field(description="One plain-language sentence.")

    @classmethod
    def from_event(cls, event: BehaviourProfileUpdated) -> "BehaviourProfileOut":
        values = event.model_dump(exclude={"schema_version", "weekdays"})
        return cls.model_validate(
            {**values, "weekdays": [WeekdayRhythmOut.from_part(w) for w in event.weekdays]}
        )


class PlanSlotOut(ResponseModel):
    start_at: AwareDatetime = Field(description="Start of the slot (UTC, inclusive).")
    end_at: AwareDatetime = Field(description="End of the slot (UTC, exclusive).")
    energy_kwh: float = Field(description="Energy into the pack in this slot, kWh.")
    power_kw: float = Field(description="Charging power in this slot, kW.")
    price_per_kwh: float = Field(
        description="Expected consumer price per kWh, in the plan's currency (e.g. NOK/kWh)."
    )
    price_is_forecast: bool = Field(description="False when the price is published.")


class ChargePlanOut(ResponseModel):
    """When to charge, how much, what it will cost (with a range) and why."""

    vehicle_id: str = Field(description="The vehicle's VIN.", examples=["5YJ3E7EB0KF000001"])
    issued_at: AwareDatetime = Field(description="When the plan was made (UTC).")
    trigger: PlanTrigger = Field(
        description="What made the planner plan again.", examples=["prices_published"]
    )
    status: Literal["planned", "charging_now", "not_needed", "not_plugged_in", "learning"] = Field(
        description="planned: slots ahead; charging_now: charge from now on; "
        "not_needed: already at target; not_plugged_in: no charger connected; learning: "
        "too little history to plan."
    )
    battery_level_pct: float = Field(description="State of charge when planned, percent.")
    target_pct: float = Field(description="State of charge to reach, percent.")
    target_source: Literal["customer", "learned_need", "charge_limit"] = Field(
        description="Where the target comes from: the customer's setting, the learned need of "
        "the next day, or the car's charge limit."
    )
    energy_to_add_kwh: float = Field(description="Energy to add to the pack, kWh.")
    charger_power_kw: float = Field(description="Power the charger is expected to deliver, kW.")
    efficiency: float = Field(description="Energy into the pack / energy drawn, 0..1.")
    departure_p10_at: AwareDatetime | None = Field(
        description="Next departure, 10 % quantile (UTC); null when unknown."
    )
    departure_p50_at: AwareDatetime | None = Field(
        description="Next departure, median (UTC); null when unknown."
    )
    departure_p90_at: AwareDatetime | None = Field(
        description="Next departure, 90 % quantile (UTC); null when unknown."
    )
    ready_by_at: AwareDatetime | None = Field(
        description="The deadline the plan charges before (UTC)."
    )
    risk_target: float = Field(description="Wanted probability of being ready, 0..1.")
    probability_ready: float = Field(description="Probability of being ready in time, 0..1.")
    currency: str = Field(
        description="ISO 4217 code of every cost and price of the plan.", examples=["NOK"]
    )
    expected_cost: float = Field(description="Expected cost of the plan, in the plan's currency.")
    cost_p10: float = Field(description="Cost, 10 % quantile, in the plan's currency.")
    cost_p90: float = Field(description="Cost, 90 % quantile, in the plan's currency.")
    cost_if_charged_now: float = Field(
        description="Cost of charging the same energy from now on, in the plan's currency."
    )
    expected_saving: float = Field(
        description="cost_if_charged_now - expected_cost, in the plan's currency."
    )
    slots: list[PlanSlotOut] = Field(description="When to charge, oldest first.")
    reason: str = Field(description="A short plain-language explanation.")

    @classmethod
    def from_event(cls, event: ChargePlanPublished) -> "ChargePlanOut":
        return cls.model_validate(event.model_dump(exclude={"schema_version"}))


class ChargePlansPage(ResponseModel):
    """Plans of one vehicle issued in ``[from, to)``, newest first; when more remain,
    ``next_cursor`` pages on."""

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    vehicle_id: str = Field(description="The vehicle's VIN.", examples=["5YJ3E7EB0KF000001"])
    from_: datetime = Field(alias="from", description="Inclusive start of the window (UTC).")
    to: datetime = Field(description="Exclusive end of the window (UTC).")
    limit: int = Field(description="The most plans this page may hold (a count of plans).")
    count: int = Field(description="Number of plans in this page.")
    plans: list[ChargePlanOut] = Field(description="The plans, newest first.")
    next_cursor: str | None = Field(default=None, description=NEXT_CURSOR_DESCRIPTION)
