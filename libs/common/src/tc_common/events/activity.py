"""What a vehicle is doing, as ingest last saw it: the answer to "why is this car not growing?"."""

from typing import Literal

from pydantic import AwareDatetime, Field, field_validator, model_validator

from tc_common.events.base import Event
from tc_common.events.telemetry import _to_utc

VehicleActivity = Literal["asleep", "awake", "driving", "charging", "offline"]


class VehicleActivityObserved(Event):
    """A vehicle's activity, as last seen, and since when.

    Ingest publishes one when the activity changes and again at least every few minutes while
    it does not (a heartbeat), so ``observed_at`` tells how fresh the answer is. An asleep car
    sends no telemetry at all: this is how a consumer tells a sleeping car from a broken feed.

    ``since`` is as far as ingest can tell: the sample that first showed the activity, or the
    poll that first saw it. For a car found asleep when ingest starts it is the time of the
    car's last snapshot (Tessie keeps the snapshot from the moment the car fell asleep).
    """

    schema_version: Literal[1] = 1
    vehicle_id: str = Field(min_length=1, max_length=32, description="The vehicle's VIN.")
    activity: VehicleActivity = Field(
        description="asleep: the car sleeps (no telemetry until it wakes); awake: online and "
        "parked, not charging; driving: in gear or moving; charging: energy flowing in; "
        "offline: the car does not answer its connectivity checks.",
        examples=["asleep"],
    )
    since: AwareDatetime = Field(description="When the car began this activity (UTC).")
    observed_at: AwareDatetime = Field(description="When ingest last saw it so (UTC).")

    _utc = field_validator("since", "observed_at")(_to_utc)

    @model_validator(mode="after")
    def _since_not_after_observed(self) -> "VehicleActivityObserved":
        if self.since > self.observed_at:
            raise ValueError("since must not be after observed_at")
        return self

    def kafka_key(self) -> bytes:
        return self.vehicle_id.encode()
