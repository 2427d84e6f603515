"""Telemetry samples, built one way in every package's tests.

Each suite used to write its own ``sample(...)`` with its own VIN, instant and fetch delay, so a
change to the contract meant editing ten builders. ``telemetry_sample`` is the one builder: a
valid sample with nothing but the required fields, and every other field a keyword away. Time
never comes from the wall clock: a test passes ``sampled_at`` or gets the fixed ``AT``.
"""

from datetime import UTC, datetime, timedelta
from typing import Any

from tc_common.events import TelemetrySampled

VIN = "5YJ3E7EB0KF000001"
OTHER_VIN = "5YJ3E7EB0KF000002"
# A Wednesday, 07:30 in Oslo: the instant a sample is taken at unless a test says otherwise.
AT = datetime(2026, 11, 25, 6, 30, tzinfo=UTC)
# Ingest fetches a snapshot from Tessie's cache a few seconds after the car produced it.
FETCH_DELAY = timedelta(seconds=3)


def telemetry_sample(
    vehicle_id: str = VIN, sampled_at: datetime = AT, **fields: Any
) -> TelemetrySampled:
    """A valid sample of ``vehicle_id`` taken at ``sampled_at``, online, fetched ``FETCH_DELAY``
    later; ``fields`` set or replace any other field (``fetched_at`` too).

    It goes through validation like a message off the wire, so a test can also hand it what the
    contract must refuse or ignore (a naive time, an unknown field).
    """
    values: dict[str, Any] = {
        "vehicle_id": vehicle_id,
        "sampled_at": sampled_at,
        "fetched_at": sampled_at + FETCH_DELAY,
        "online_state": "online",
        **fields,
    }
    return TelemetrySampled.model_validate(values)
