from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tc_ingest.domain import (
    KM_PER_MILE,
    VehicleState,
    backoff_s,
    epoch_ms_to_utc,
    epoch_s_to_utc,
    is_new,
    is_transient,
    parse_retry_after,
    retry_delay_s,
    should_fetch_state,
    to_sample,
)

VIN = "5YJ3E7EB0KF000001"
FETCHED_AT = datetime(2024, 6, 3, 16, 0, 30, tzinfo=UTC)
SNAPSHOT_MS = 1717430400123  # 2024-06-03T16:00:00.123Z
SNAPSHOT_AT = datetime(2024, 6, 3, 16, 0, 0, 123000, tzinfo=UTC)

AWAKE = VehicleState(
    vin=VIN,
    state="online",
    charge_state_timestamp_ms=SNAPSHOT_MS,
    drive_state_timestamp_ms=SNAPSHOT_MS,
    climate_state_timestamp_ms=SNAPSHOT_MS,
    vehicle_state_timestamp_ms=SNAPSHOT_MS,
    gps_as_of_s=SNAPSHOT_MS // 1000 - 9,
    battery_level_pct=76,
    usable_battery_level_pct=75,
    battery_range_mi=231.4,
    charge_limit_soc_pct=80,
    charging_state="Charging",
    charger_power_kw=11,
    charge_energy_added_kwh=12.43,
    latitude_deg=52.370216,
    longitude_deg=4.895168,
    heading_deg=212,
    speed_mph=None,
    power_kw=-11,
    shift_state=None,
    odometer_mi=18342.71,
    inside_temp_c=21.4,
    outside_temp_c=14.0,
    is_climate_on=False,
    sentry_mode=False,
    locked=True,
)


class TestUnitConversion:
    @pytest.mark.parametrize(
        ("raw", "field", "expected"),
        [
            ({"battery_range_mi": 231.4}, "battery_range_km", 372.4022),
            ({"battery_range_mi": 0.0}, "battery_range_km", 0.0),
            ({"odometer_mi": 18342.71}, "odometer_km", 29519.7303),
            ({"odometer_mi": 1.0}, "odometer_km", 1.609344),
            ({"speed_mph": 60.0}, "speed_kmh", 96.56064),
            ({"speed_mph": 0.0}, "speed_kmh", 0.0),
            ({"battery_level_pct": 76.0}, "battery_level_pct", 76.0),
            ({"charger_power_kw": 11.0}, "charger_power_kw", 11.0),
            ({"charge_energy_added_kwh": 12.43}, "charge_energy_added_kwh", 12.43),
            ({"power_kw": -11.0}, "power_kw", -11.0),
            ({"inside_temp_c": 21.4}, "inside_temp_c", 21.4),
            ({"outside_temp_c": -7.5}, "outside_temp_c", -7.5),
        ],
        ids=[
            "range-mi-km",
            "range-zero",
            "odometer",
            "one-mile",
            "60mph",
            "standing",
            "soc-unchanged",
            "kw-unchanged",
            "kwh-unchanged",
            "regen-negative",
            "celsius",
            "frost",
        ],
    )
    def test_raw_tessie_units_become_metric(
        self, raw: dict[str, Any], field: str, expected: float
    ) -> None:
        sample = to_sample(replace(AWAKE, **raw), FETCHED_AT)

        assert sample is not None
        assert getattr(sample, field) == pytest.approx(expected, abs=1e-3)

    def test_a_mile_is_exactly_1_609344_km(self) -> None:
        assert KM_PER_MILE == 1.609344

    def test_the_reference_snapshot_is_fully_mapped(self) -> None:
        sample = to_sample(AWAKE, FETCHED_AT)

        assert sample is not None
        assert sample.vehicle_id == VIN
        assert sample.online_state == "online"
        assert sample.charging_state == "Charging"
        assert sample.charge_limit_pct == 80
        assert sample.usable_battery_level_pct == 75
        assert (sample.latitude_deg, sample.longitude_deg, sample.heading_deg) == (
            52.370216,
            4.895168,
            212,
        )
        assert (sample.is_climate_on, sample.sentry_mode, sample.locked) == (False, False, True)
        assert sample.fetched_at == FETCHED_AT


class TestTimestamps:
    def test_state_timestamps_are_read_as_milliseconds(self) -> None:
        assert epoch_ms_to_utc(SNAPSHOT_MS) == SNAPSHOT_AT

    def test_gps_as_of_is_read_as_seconds(self) -> None:
        assert epoch_s_to_utc(1717430391) == datetime(2024, 6, 3, 15, 59, 51, tzinfo=UTC)

    def test_a_seconds_value_in_a_milliseconds_field_is_not_dated_1970(self) -> None:
        assert epoch_ms_to_utc(1717430400) == datetime(2024, 6, 3, 16, 0, tzinfo=UTC)

    def test_a_milliseconds_value_in_a_seconds_field_is_not_dated_year_56000(self) -> None:
        assert epoch_s_to_utc(SNAPSHOT_MS) == SNAPSHOT_AT

    @pytest.mark.parametrize("value", [None, 0, -5])
    def test_missing_or_nonpositive_timestamps_are_none(self, value: float | None) -> None:
        assert epoch_ms_to_utc(value) is None
        assert epoch_s_to_utc(value) is None

    @pytest.mark.parametrize("value", [float("nan"), float("inf"), 1e300])
    def test_garbage_timestamps_are_none_not_an_exception(self, value: float) -> None:
        assert epoch_ms_to_utc(value) is None
        assert epoch_s_to_utc(value) is None

    def test_sampled_at_is_the_freshest_nested_timestamp(self) -> None:
        state = replace(
            AWAKE,
            charge_state_timestamp_ms=SNAPSHOT_MS - 20_000,
            drive_state_timestamp_ms=SNAPSHOT_MS + 5_000,
            climate_state_timestamp_ms=SNAPSHOT_MS,
            vehicle_state_timestamp_ms=None,
        )

        sample = to_sample(state, FETCHED_AT)

        assert sample is not None
        assert sample.sampled_at == SNAPSHOT_AT + timedelta(seconds=5)

    def test_a_gps_fix_counts_when_it_is_the_only_timestamp(self) -> None:
        state = VehicleState(vin=VIN, state="online", gps_as_of_s=1717430391)

        sample = to_sample(state, FETCHED_AT)

        assert sample is not None
        assert sample.sampled_at == datetime(2024, 6, 3, 15, 59, 51, tzinfo=UTC)

    def test_timestamps_from_far_in_the_future_are_ignored(self) -> None:
        tomorrow_ms = SNAPSHOT_MS + 86_400_000
        state = replace(AWAKE, drive_state_timestamp_ms=tomorrow_ms)

        sample = to_sample(state, FETCHED_AT)

        assert sample is not None
        assert sample.sampled_at == SNAPSHOT_AT

    def test_sampled_at_is_utc(self) -> None:
        sample = to_sample(AWAKE, FETCHED_AT)

        assert sample is not None
        assert sample.sampled_at.utcoffset() == timedelta(0)


class TestAsleepAndNulls:
    def test_a_bare_asleep_body_is_not_a_sample(self) -> None:
        assert to_sample(VehicleState(vin=VIN, state="asleep"), FETCHED_AT) is None

    def test_an_asleep_snapshot_with_timestamps_is_a_sample_marked_asleep(self) -> None:
        sample = to_sample(replace(AWAKE, state="asleep"), FETCHED_AT)

        assert sample is not None
        assert sample.online_state == "asleep"

    @pytest.mark.parametrize(
        ("raw", "expected"),
        [
            ("online", "online"),
            ("asleep", "asleep"),
            ("offline", "offline"),
            ("ONLINE", "online"),
            ("driving", "unknown"),
            (None, "unknown"),
        ],
    )
    def test_online_state_is_mapped_tolerantly(self, raw: str | None, expected: str) -> None:
        sample = to_sample(replace(AWAKE, state=raw), FETCHED_AT)

        assert sample is not None
        assert sample.online_state == expected

    def test_a_parked_car_has_no_speed_and_no_gear(self) -> None:
        sample = to_sample(replace(AWAKE, speed_mph=None, shift_state=None), FETCHED_AT)

        assert sample is not None
        assert sample.speed_kmh is None
        assert sample.shift_state is None

    def test_a_driving_car_has_a_gear(self) -> None:
        sample = to_sample(replace(AWAKE, speed_mph=30.0, shift_state="D"), FETCHED_AT)

        assert sample is not None
        assert sample.shift_state == "D"

    def test_a_snapshot_with_only_timestamps_has_every_value_none(self) -> None:
        state = VehicleState(vin=VIN, charge_state_timestamp_ms=SNAPSHOT_MS)

        sample = to_sample(state, FETCHED_AT)

        assert sample is not None
        assert sample.battery_level_pct is None
        assert sample.battery_range_km is None
        assert sample.odometer_km is None
        assert sample.locked is None
        assert sample.online_state == "unknown"

    @pytest.mark.parametrize(
        ("raw", "field"),
        [
            ({"battery_level_pct": 101.0}, "battery_level_pct"),
            ({"battery_level_pct": -1.0}, "battery_level_pct"),
            ({"heading_deg": 400.0}, "heading_deg"),
            ({"latitude_deg": 95.0}, "latitude_deg"),
            ({"charger_power_kw": -3.0}, "charger_power_kw"),
            ({"charging_state": "Exploding"}, "charging_state"),
            ({"shift_state": "X"}, "shift_state"),
            ({"speed_mph": -4.0}, "speed_kmh"),
        ],
    )
    def test_an_impossible_value_is_dropped_not_the_whole_sample(
        self, raw: dict[str, object], field: str
    ) -> None:
        sample = to_sample(replace(AWAKE, **raw), FETCHED_AT)  # type: ignore[arg-type]

        assert sample is not None
        assert getattr(sample, field) is None
        assert sample.battery_range_km is not None

    @pytest.mark.parametrize("garbage", [float("nan"), float("inf"), float("-inf")])
    @pytest.mark.parametrize(
        ("raw", "field"),
        [
            ("battery_level_pct", "battery_level_pct"),
            ("usable_battery_level_pct", "usable_battery_level_pct"),
            ("battery_range_mi", "battery_range_km"),
            ("charge_limit_soc_pct", "charge_limit_pct"),
            ("charger_power_kw", "charger_power_kw"),
            ("charge_energy_added_kwh", "charge_energy_added_kwh"),
            ("latitude_deg", "latitude_deg"),
            ("longitude_deg", "longitude_deg"),
            ("heading_deg", "heading_deg"),
            ("speed_mph", "speed_kmh"),
            ("power_kw", "power_kw"),
            ("odometer_mi", "odometer_km"),
            ("inside_temp_c", "inside_temp_c"),
            ("outside_temp_c", "outside_temp_c"),
        ],
    )
    def test_a_non_finite_number_becomes_none_and_the_rest_of_the_sample_is_kept(
        self, raw: str, field: str, garbage: float
    ) -> None:
        driving = replace(AWAKE, speed_mph=30.0)  # every value field set
        reference = to_sample(driving, FETCHED_AT)
        sample = to_sample(replace(driving, **{raw: garbage}), FETCHED_AT)  # type: ignore[arg-type]

        assert reference is not None
        assert sample is not None
        assert getattr(sample, field) is None
        assert sample.model_dump(exclude={field}) == reference.model_dump(exclude={field})


# 2024-06-04T06:00:00Z, the reference snapshot's scheduled_departure_time (tessie-api.md §3.1)
DEPARTURE_S = 1717480800
DEPARTURE_AT = datetime(2024, 6, 4, 6, 0, tzinfo=UTC)
SCHEDULED_OFF: dict[str, Any] = {
    "scheduled_departure_time_s": DEPARTURE_S,
    "preconditioning_enabled": False,
    "off_peak_charging_enabled": False,
    "scheduled_charging_mode": "Off",
}


class TestScheduledDeparture:
    @pytest.mark.parametrize(
        ("raw", "expected"),
        [
            ({"preconditioning_enabled": True}, DEPARTURE_AT),
            ({"off_peak_charging_enabled": True}, DEPARTURE_AT),
            ({"scheduled_charging_mode": "DepartBy"}, DEPARTURE_AT),
            ({"scheduled_charging_mode": " departby "}, DEPARTURE_AT),
            (
                {"preconditioning_enabled": True, "off_peak_charging_enabled": True},
                DEPARTURE_AT,
            ),
            ({}, None),
            ({"scheduled_charging_mode": "StartAt"}, None),
            ({"preconditioning_enabled": None, "off_peak_charging_enabled": None}, None),
            (
                {
                    "preconditioning_enabled": None,
                    "off_peak_charging_enabled": None,
                    "scheduled_charging_mode": None,
                },
                None,
            ),
        ],
        ids=[
            "preconditioning-on",
            "off-peak-charging-on",
            "depart-by-mode",
            "depart-by-mode-loosely-spelled",
            "both-flags-on",
            "feature-off-keeps-a-stale-time",
            "start-at-mode-is-not-a-departure",
            "flags-unknown",
            "nothing-known",
        ],
    )
    def test_the_departure_time_counts_only_while_scheduled_departure_is_on(
        self, raw: dict[str, Any], expected: datetime | None
    ) -> None:
        sample = to_sample(replace(AWAKE, **{**SCHEDULED_OFF, **raw}), FETCHED_AT)

        assert sample is not None
        assert sample.scheduled_departure_at == expected

    @pytest.mark.parametrize(
        ("departure_s", "expected"),
        [
            (DEPARTURE_S, DEPARTURE_AT),
            (DEPARTURE_S * 1000, DEPARTURE_AT),
            (None, None),
            (0, None),
            (-60, None),
            (float("nan"), None),
            (float("inf"), None),
            (1e300, None),
        ],
        ids=[
            "epoch-seconds",
            "milliseconds-by-mistake",
            "missing",
            "zero",
            "negative",
            "nan",
            "infinite",
            "past-year-9999",
        ],
    )
    def test_a_missing_or_garbage_departure_time_is_none_and_the_sample_survives(
        self, departure_s: float | None, expected: datetime | None
    ) -> None:
        state = replace(
            AWAKE,
            scheduled_departure_time_s=departure_s,
            preconditioning_enabled=True,
        )

        sample = to_sample(state, FETCHED_AT)

        assert sample is not None
        assert sample.scheduled_departure_at == expected
        assert sample.battery_level_pct == 76

    def test_the_departure_is_utc(self) -> None:
        sample = to_sample(
            replace(AWAKE, scheduled_departure_time_s=DEPARTURE_S, preconditioning_enabled=True),
            FETCHED_AT,
        )

        assert sample is not None
        assert sample.scheduled_departure_at is not None
        assert sample.scheduled_departure_at.utcoffset() == timedelta(0)


class TestIsNew:
    def test_the_first_sample_of_a_vehicle_is_new(self) -> None:
        sample = to_sample(AWAKE, FETCHED_AT)

        assert sample is not None
        assert is_new(None, sample)

    def test_the_same_snapshot_again_is_not_new(self) -> None:
        sample = to_sample(AWAKE, FETCHED_AT)

        assert sample is not None
        assert not is_new(SNAPSHOT_AT, sample)

    def test_an_older_snapshot_is_not_new(self) -> None:
        sample = to_sample(AWAKE, FETCHED_AT)

        assert sample is not None
        assert not is_new(SNAPSHOT_AT + timedelta(milliseconds=1), sample)

    def test_a_later_snapshot_is_new(self) -> None:
        sample = to_sample(AWAKE, FETCHED_AT)

        assert sample is not None
        assert is_new(SNAPSHOT_AT - timedelta(milliseconds=1), sample)


class TestPollDecisions:
    @pytest.mark.parametrize(
        ("status", "fetch"),
        [
            ("asleep", False),
            ("ASLEEP", False),
            ("awake", True),
            ("waiting_for_sleep", True),
            ("something_new", True),
            (None, True),
        ],
    )
    def test_cached_state_is_read_unless_the_car_sleeps(
        self, status: str | None, fetch: bool
    ) -> None:
        assert should_fetch_state(status, has_sample=True) is fetch

    def test_a_sleeping_cars_cached_state_is_read_once_when_no_sample_is_known(self) -> None:
        assert should_fetch_state("asleep", has_sample=False)

    @pytest.mark.parametrize(
        ("status", "transient"),
        [
            (408, True),
            (429, True),
            (500, True),
            (502, True),
            (503, True),
            (599, True),
            (400, False),
            (401, False),
            (403, False),
            (404, False),
            (422, False),
        ],
    )
    def test_only_timeouts_throttling_and_server_errors_are_retried(
        self, status: int, transient: bool
    ) -> None:
        assert is_transient(status) is transient

    @pytest.mark.parametrize(
        ("attempt", "jitter", "expected"),
        [
            (1, 0.0, 0.5),
            (1, 0.999, 0.9995),
            (2, 0.0, 1.0),
            (3, 0.5, 3.0),
            (10, 0.0, 10.0),
            (10, 0.999, 19.99),
        ],
    )
    def test_backoff_doubles_with_jitter_up_to_the_cap(
        self, attempt: int, jitter: float, expected: float
    ) -> None:
        assert backoff_s(attempt, base_s=1.0, cap_s=20.0, jitter=jitter) == pytest.approx(expected)

    def test_retry_after_wins_over_backoff(self) -> None:
        assert retry_delay_s(1, retry_after_s=7.0, base_s=1.0, cap_s=20.0, jitter=0.0) == 7.0

    def test_retry_after_is_capped(self) -> None:
        assert retry_delay_s(1, retry_after_s=700.0, base_s=1.0, cap_s=20.0, jitter=0.0) == 20.0

    @pytest.mark.parametrize(
        ("header", "expected"),
        [
            ("7", 7.0),
            (" 2.5 ", 2.5),
            ("-3", 0.0),
            (None, None),
            ("", None),
            ("soon", None),
            ("Mon, 03 Jun 2024 16:01:30 GMT", 60.0),
            ("Mon, 03 Jun 2024 15:00:00 GMT", 0.0),
        ],
    )
    def test_retry_after_accepts_seconds_and_http_dates(
        self, header: str | None, expected: float | None
    ) -> None:
        assert parse_retry_after(header, FETCHED_AT) == expected
