"""Pure history rules: Tessie records to events, fetch windows, the published log."""

import math
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from tc_common.events import ChargeRecorded, DriveRecorded
from tc_ingest.domain.history import (
    ChargeRecord,
    DriveRecord,
    PublishedLog,
    Skipped,
    backfill_start,
    charge_event,
    drive_event,
    fetch_windows,
)

VIN = "5YJ3E7EB0KF000001"
# The drive of tessie-api.md §4.1, in km.
DRIVE = DriveRecord(
    id=4711,
    started_at_s=1717401600,
    ended_at_s=1717403400,
    starting_latitude=52.3765,
    starting_longitude=4.8980,
    ending_latitude=52.3874,
    ending_longitude=4.6385,
    starting_battery=82,
    ending_battery=76,
    odometer_distance_km=32.5,
    energy_used_kwh=7.9,
)
# The charge of tessie-api.md §4.2.
CHARGE = ChargeRecord(
    id=90210,
    started_at_s=1717372800,
    ended_at_s=1717394400,
    latitude=52.3770,
    longitude=4.8860,
    is_supercharger=False,
    starting_battery=41,
    ending_battery=80,
    energy_added_kwh=29.6,
    energy_used_kwh=32.8,
    odometer_km=18310.2,
)
T0 = datetime(2026, 11, 1, tzinfo=UTC)


class TestDrives:
    def test_a_drive_becomes_an_event_in_utc_with_its_units(self) -> None:
        event = drive_event(VIN, DRIVE)

        assert event == DriveRecorded(
            vehicle_id=VIN,
            drive_id=4711,
            started_at=datetime(2024, 6, 3, 8, 0, tzinfo=UTC),
            ended_at=datetime(2024, 6, 3, 8, 30, tzinfo=UTC),
            starting_latitude_deg=52.3765,
            starting_longitude_deg=4.8980,
            ending_latitude_deg=52.3874,
            ending_longitude_deg=4.6385,
            starting_battery_pct=82,
            ending_battery_pct=76,
            distance_km=32.5,
            energy_used_kwh=7.9,
        )

    def test_epoch_milliseconds_in_a_seconds_field_are_read_as_milliseconds(self) -> None:
        event = drive_event(VIN, replace(DRIVE, started_at_s=1717401600_000))

        assert isinstance(event, DriveRecorded)
        assert event.started_at == datetime(2024, 6, 3, 8, 0, tzinfo=UTC)

    def test_out_of_range_values_become_unknown_rather_than_losing_the_drive(self) -> None:
        event = drive_event(
            VIN,
            replace(DRIVE, starting_latitude=123.0, ending_battery=140.0, energy_used_kwh=math.nan),
        )

        assert isinstance(event, DriveRecorded)
        assert (event.starting_latitude_deg, event.ending_battery_pct) == (None, None)
        assert event.energy_used_kwh is None
        assert event.distance_km == 32.5

    @pytest.mark.parametrize(
        ("change", "reason"),
        [
            ({"id": None}, "no id"),
            ({"started_at_s": None}, "no started_at"),
            ({"ended_at_s": 1717400000}, "ended_at is before started_at"),
            ({"odometer_distance_km": None}, "no or negative odometer_distance"),
            ({"odometer_distance_km": -3.0}, "no or negative odometer_distance"),
        ],
    )
    def test_a_malformed_drive_is_skipped_with_the_reason(
        self, change: dict[str, object], reason: str
    ) -> None:
        skipped = drive_event(VIN, replace(DRIVE, **change))  # type: ignore[arg-type]

        assert isinstance(skipped, Skipped)
        assert skipped.reason == reason
        assert not skipped.unfinished

    def test_a_drive_without_an_end_is_unfinished_not_malformed(self) -> None:
        skipped = drive_event(VIN, replace(DRIVE, ended_at_s=None))

        assert skipped == Skipped(4711, "not finished yet (no ended_at)", unfinished=True)


class TestCharges:
    def test_a_charge_becomes_an_event_with_energy_added_and_drawn(self) -> None:
        event = charge_event(VIN, CHARGE)

        assert isinstance(event, ChargeRecorded)
        assert (event.charge_id, event.energy_added_kwh, event.energy_used_kwh) == (
            90210,
            29.6,
            32.8,
        )
        assert (event.starting_battery_pct, event.ending_battery_pct) == (41, 80)
        assert event.ended_at - event.started_at == timedelta(hours=6)
        assert event.odometer_km == 18310.2
        assert event.is_supercharger is False

    def test_an_unknown_supercharger_flag_counts_as_not_a_supercharger(self) -> None:
        event = charge_event(VIN, replace(CHARGE, is_supercharger=None, energy_used_kwh=-1.0))

        assert isinstance(event, ChargeRecorded)
        assert event.is_supercharger is False
        assert event.energy_used_kwh is None

    def test_a_charge_without_energy_added_is_skipped(self) -> None:
        skipped = charge_event(VIN, replace(CHARGE, energy_added_kwh=None))

        assert skipped == Skipped(90210, "no or negative energy_added")


class TestWindows:
    def test_the_backfill_is_fetched_in_chunks_oldest_first_each_reaching_back(self) -> None:
        now = T0 + timedelta(days=30)
        windows = fetch_windows(
            backfill_start(now, 30), now, chunk=timedelta(days=7), overlap=timedelta(days=1)
        )

        assert [(lo - T0, hi - T0) for lo, hi, _ in windows] == [
            (timedelta(days=-1), timedelta(days=7)),
            (timedelta(days=6), timedelta(days=14)),
            (timedelta(days=13), timedelta(days=21)),
            (timedelta(days=20), timedelta(days=28)),
            (timedelta(days=27), timedelta(days=30)),
        ]
        assert [after for _, _, after in windows] == [hi for _, hi, _ in windows]

    def test_an_up_to_date_history_needs_no_request_and_a_short_gap_one(self) -> None:
        overlap = timedelta(hours=24)

        assert fetch_windows(T0, T0, chunk=timedelta(days=7), overlap=overlap) == []
        assert fetch_windows(
            T0, T0 + timedelta(minutes=5), chunk=timedelta(days=7), overlap=overlap
        ) == [(T0 - overlap, T0 + timedelta(minutes=5), T0 + timedelta(minutes=5))]


class TestPublishedLog:
    def test_a_record_is_new_until_published_and_again_when_it_changed(self) -> None:
        log = PublishedLog()

        assert log.is_new(1, T0, "a")
        log.mark(1, T0, "a")
        assert not log.is_new(1, T0, "a")
        assert log.is_new(1, T0, "a, edited")

    def test_records_older_than_any_window_to_come_are_forgotten(self) -> None:
        log = PublishedLog()
        log.mark(1, T0, "a")
        log.mark(2, T0 + timedelta(days=2), "b")

        log.forget_before(T0 + timedelta(days=1))

        assert len(log) == 1
        assert not log.is_new(2, T0 + timedelta(days=2), "b")
