"""The event contracts are tolerant, frozen, UTC-only and keyed by vehicle."""

import hashlib
from datetime import UTC, datetime, timedelta, timezone
from typing import Literal
from zoneinfo import ZoneInfo

import pytest
from pydantic import AwareDatetime, BaseModel, ValidationError

from tc_common.events import MessageDeadLettered, TelemetrySampled
from tc_common.slots import Slot
from tc_testkit.events import telemetry_sample

NOW = datetime(2026, 11, 25, 6, 30, tzinfo=UTC)


def test_unknown_fields_from_a_newer_producer_are_ignored() -> None:
    event = telemetry_sample(brand_new_field=42)
    assert not hasattr(event, "brand_new_field")


def test_naive_timestamps_are_rejected() -> None:
    with pytest.raises(ValidationError, match="timezone"):
        telemetry_sample(sampled_at=datetime(2026, 11, 25, 6, 30))  # noqa: DTZ001


def test_timestamps_in_other_zones_are_normalised_to_utc() -> None:
    oslo_winter = timezone(timedelta(hours=1))
    event = telemetry_sample(sampled_at=datetime(2026, 11, 25, 7, 30, tzinfo=oslo_winter))
    assert event.sampled_at == NOW
    assert event.sampled_at.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("battery_level_pct", 101),
        ("battery_level_pct", -1),
        ("latitude_deg", 91),
        ("speed_kmh", -5),
    ],
)
def test_physically_impossible_values_are_rejected(field: str, value: float) -> None:
    with pytest.raises(ValidationError):
        telemetry_sample(**{field: value})


def test_events_are_frozen() -> None:
    with pytest.raises(ValidationError):
        telemetry_sample().battery_level_pct = 50  # type: ignore[misc]


def test_vehicle_events_are_keyed_by_vin_and_round_trip_through_json() -> None:
    event = telemetry_sample(battery_level_pct=71.5, odometer_km=12345.6)
    assert event.kafka_key() == b"5YJ3E7EB0KF000001"
    assert TelemetrySampled.model_validate_json(event.model_dump_json()) == event


def test_a_dead_letter_is_keyed_by_the_digest_of_the_source_key_never_by_the_key() -> None:
    digest = hashlib.sha256(b"5YJ3E7EB0KF000001").hexdigest()
    letter = MessageDeadLettered(
        consumer="store",
        source_topic="vehicle.telemetry.v1",
        key_sha256=digest,
        payload="{vehicle_id: string(17)}",
        reason="sampled_at: Field required",
        failed_at=NOW,
    )
    assert letter.kafka_key() == digest.encode()


def test_dead_letters_of_either_kind_of_v1_parse_as_the_other() -> None:
    """Within version 1 the letter gained optional fields and stopped filling ``key``: a letter
    of an earlier release still parses, and a new one parses for a reader of that release."""
    earlier = MessageDeadLettered.model_validate_json(
        '{"schema_version": 1, "consumer": "store", "source_topic": "vehicle.telemetry.v1",'
        ' "source_partition": 0, "source_offset": 7, "key": "VIN1", "payload": "{}",'
        ' "reason": "sampled_at: Field required", "failed_at": "2026-11-25T06:30:00Z"}'
    )
    assert earlier.kafka_key() == b"VIN1"

    class EarlierReader(BaseModel):  # MessageDeadLettered as it was
        schema_version: Literal[1]
        consumer: str
        source_topic: str
        source_partition: int | None = None
        source_offset: int | None = None
        key: str | None = None
        payload: str
        reason: str
        failed_at: AwareDatetime

    now = MessageDeadLettered(
        consumer="store",
        source_topic="vehicle.telemetry.v1",
        key_sha256="0" * 64,
        payload="{}",
        body_sha256="1" * 64,
        body_bytes=2,
        reason="r",
        failed_at=NOW,
    )
    assert EarlierReader.model_validate_json(now.model_dump_json()).key is None


def test_a_slot_given_in_local_time_across_the_clocks_going_back_is_valid_and_utc() -> None:
    # 2026-10-25 in Oslo: 02:30 CEST (00:30 UTC), then an hour later 02:30 CET (01:30 UTC).
    # Compared as wall-clock times the end would not be after the start; in real time it is.
    oslo = ZoneInfo("Europe/Oslo")
    start = datetime(2026, 10, 25, 2, 30, tzinfo=oslo)  # fold=0: CEST
    end = datetime(2026, 10, 25, 2, 15, fold=1, tzinfo=oslo)  # CET, 45 min later

    slot = Slot(start_at=start, end_at=end)

    assert (slot.start_at, slot.end_at) == (
        datetime(2026, 10, 25, 0, 30, tzinfo=UTC),
        datetime(2026, 10, 25, 1, 15, tzinfo=UTC),
    )
    assert slot.duration == timedelta(minutes=45)
