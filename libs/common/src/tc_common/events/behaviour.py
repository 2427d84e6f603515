"""Vehicle history episodes (drives, charges), learned behaviour profiles and charge plans.

Drives and charges come from Tessie's history endpoints (ingest backfills them on first start
and keeps them current); profiles and plans are the forecast service's output. Every event is
keyed by the vehicle id so a vehicle's messages stay in order.
"""

from typing import Literal, TypeVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from tc_common.events.base import Event
from tc_common.slots import Slot

VinField = Field(min_length=1, max_length=32, description="The vehicle's VIN.")
# What the store's columns hold (bigint, integer): the schema refuses what they would.
BIGINT_MAX = 2**63 - 1
INT_MAX = 2**31 - 1

_Episode = TypeVar("_Episode", bound="DriveRecorded | ChargeRecorded")


def _ends_after_it_starts(episode: _Episode) -> _Episode:
    # The drives and charges tables CHECK (ended_at >= started_at).
    if episode.ended_at < episode.started_at:
        raise ValueError("ended_at must not be before started_at")
    return episode


class DriveRecorded(Event):
    """One finished drive, from Tessie's ``/{vin}/drives`` (km, UTC). Idempotent by
    ``(vehicle_id, drive_id)``: a drive may be re-published when it is re-fetched."""

    schema_version: Literal[1] = 1
    vehicle_id: str = VinField
    drive_id: int = Field(ge=0, le=BIGINT_MAX, description="Tessie's drive id.")
    started_at: AwareDatetime
    ended_at: AwareDatetime
    starting_latitude_deg: float | None = Field(default=None, ge=-90, le=90)
    starting_longitude_deg: float | None = Field(default=None, ge=-180, le=180)
    ending_latitude_deg: float | None = Field(default=None, ge=-90, le=90)
    ending_longitude_deg: float | None = Field(default=None, ge=-180, le=180)
    starting_battery_pct: float | None = Field(default=None, ge=0, le=100)
    ending_battery_pct: float | None = Field(default=None, ge=0, le=100)
    distance_km: float = Field(ge=0, description="Odometer distance of the drive, km.")
    energy_used_kwh: float | None = Field(default=None, description="Pack energy used, kWh.")

    _ordered = model_validator(mode="after")(_ends_after_it_starts)

    def kafka_key(self) -> bytes:
        return self.vehicle_id.encode()


class ChargeRecorded(Event):
    """One finished (or ongoing, re-published when it ends) charging session, from Tessie's
    ``/{vin}/charges``. Idempotent by ``(vehicle_id, charge_id)``."""

    schema_version: Literal[1] = 1
    vehicle_id: str = VinField
    charge_id: int = Field(ge=0, le=BIGINT_MAX, description="Tessie's charge id.")
    started_at: AwareDatetime
    ended_at: AwareDatetime
    latitude_deg: float | None = Field(default=None, ge=-90, le=90)
    longitude_deg: float | None = Field(default=None, ge=-180, le=180)
    is_supercharger: bool = False
    starting_battery_pct: float | None = Field(default=None, ge=0, le=100)
    ending_battery_pct: float | None = Field(default=None, ge=0, le=100)
    energy_added_kwh: float = Field(ge=0, description="Energy added to the pack, kWh.")
    energy_used_kwh: float | None = Field(
        default=None, ge=0, description="Energy drawn from the grid incl. losses, kWh."
    )
    odometer_km: float | None = Field(default=None, ge=0)

    _ordered = model_validator(mode="after")(_ends_after_it_starts)

    def kafka_key(self) -> bytes:
        return self.vehicle_id.encode()


LearningState = Literal["learning", "ready", "fully_trained"]


class _Part(BaseModel):
    """A frozen, tolerant part of an event (not an event of its own)."""

    model_config = ConfigDict(frozen=True, extra="ignore")


class WeekdayRhythm(_Part):
    """One weekday (0 = Monday, local time of the vehicle's home) of the learned rhythm.

    Times are minutes after local midnight; a quantile is null when there is no data yet.
    """

    weekday: int = Field(ge=0, le=6)
    drive_probability: float = Field(ge=0, le=1, description="Share of such days with a drive.")
    first_departure_p10_min: float | None = None
    first_departure_p50_min: float | None = None
    first_departure_p90_min: float | None = None
    last_return_p10_min: float | None = None
    last_return_p50_min: float | None = None
    last_return_p90_min: float | None = None
    distance_p50_km: float | None = Field(default=None, ge=0)
    distance_p90_km: float | None = Field(default=None, ge=0)
    energy_p50_kwh: float | None = Field(default=None, ge=0)
    energy_p90_kwh: float | None = Field(default=None, ge=0)


class ChargingLocation(_Part):
    """Where the vehicle is usually plugged in, with what it achieves there."""

    kind: Literal["home", "other"]
    latitude_deg: float = Field(ge=-90, le=90)
    longitude_deg: float = Field(ge=-180, le=180)
    sessions: int = Field(ge=0)
    share_of_sessions: float = Field(ge=0, le=1)
    effective_power_kw: float | None = Field(
        default=None, ge=0, description="Median energy added per hour of charging, kW."
    )
    efficiency: float | None = Field(
        default=None, gt=0, le=1, description="Energy added / energy drawn (losses)."
    )
    energy_per_session_p50_kwh: float | None = Field(default=None, ge=0)
    plug_in_probability_per_day: float | None = Field(
        default=None, ge=0, le=1, description="Share of days the car is plugged in here."
    )


class BehaviourProfileUpdated(Event):
    """A vehicle's learned weekly rhythm and charging habits, published whenever it changes."""

    schema_version: Literal[1] = 1
    vehicle_id: str = VinField
    computed_at: AwareDatetime
    learning_state: LearningState
    days_observed: int = Field(
        ge=0, le=INT_MAX, description="Days of history the profile is built on."
    )
    days_until_ready: int = Field(ge=0, le=INT_MAX, description="0 once ready (14 days).")
    days_until_fully_trained: int = Field(
        ge=0, le=INT_MAX, description="0 once fully trained (30 days)."
    )
    timezone: str = Field(default="Europe/Oslo", description="Local time of the rhythm.")
    weekdays: tuple[WeekdayRhythm, ...] = ()
    daily_distance_p50_km: float | None = Field(default=None, ge=0)
    daily_energy_p50_kwh: float | None = Field(default=None, ge=0)
    locations: tuple[ChargingLocation, ...] = ()
    summary: str = Field(default="", description="One plain-language sentence.")

    def kafka_key(self) -> bytes:
        return self.vehicle_id.encode()


class PlanSlot(Slot):
    """One slot of a charge plan: charge at ``power_kw`` for the slot's duration."""

    energy_kwh: float = Field(ge=0, description="Energy into the pack in this slot, kWh.")
    power_kw: float = Field(ge=0)
    price_per_kwh: float = Field(description="Expected consumer price in the plan's currency.")
    price_is_forecast: bool = Field(description="False when the price is published.")


# What made the forecast service plan, what the plan says, where its target came from: one
# definition for the event, the planner that fills it and the api that serves it.
PlanTrigger = Literal[
    "plugged_in",
    "prices_published",
    "forecast_updated",
    "state_changed",
    "profile_updated",
    "scheduled",
]
PlanStatus = Literal["planned", "charging_now", "not_needed", "not_plugged_in", "learning"]
TargetSource = Literal["customer", "learned_need", "charge_limit"]


class ChargePlanPublished(Event):
    """When to charge, how much, what it will cost and how sure we are to be ready in time."""

    schema_version: Literal[1] = 1
    vehicle_id: str = VinField
    issued_at: AwareDatetime
    trigger: PlanTrigger
    status: PlanStatus
    battery_level_pct: float = Field(ge=0, le=100)
    target_pct: float = Field(ge=0, le=100)
    target_source: TargetSource
    energy_to_add_kwh: float = Field(ge=0)
    charger_power_kw: float = Field(ge=0)
    efficiency: float = Field(gt=0, le=1)
    departure_p10_at: AwareDatetime | None = None
    departure_p50_at: AwareDatetime | None = None
    departure_p90_at: AwareDatetime | None = None
    ready_by_at: AwareDatetime | None = Field(
        default=None, description="The deadline the plan charges before."
    )
    risk_target: float = Field(gt=0, lt=1, description="Wanted probability of being ready.")
    probability_ready: float = Field(ge=0, le=1)
    currency: str = Field(default="NOK", description="Currency of every cost and price field.")
    expected_cost: float
    cost_p10: float
    cost_p90: float
    cost_if_charged_now: float
    expected_saving: float
    slots: tuple[PlanSlot, ...] = ()
    reason: str = Field(description="A short plain-language explanation.")

    def kafka_key(self) -> bytes:
        return self.vehicle_id.encode()
