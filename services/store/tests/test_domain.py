from datetime import UTC, datetime, timedelta
from itertools import islice

import pytest

from tc_common.events import TelemetrySampled
from tc_common.tables import TELEMETRY_COLUMNS
from tc_db.pool import backoff_delays_s
from tc_store.domain import (
    TelemetryRow,
    dedupe_rows,
    telemetry_row,
    unstorable_reason,
    vehicle_spans,
)
from tc_testkit.events import telemetry_sample

T0 = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)


def row(vin: str, minute: int, marker: object = None) -> TelemetryRow:
    at = T0 + timedelta(minutes=minute)
    return TelemetryRow(vehicle_id=vin, sampled_at=at, values=(vin, at, marker))


class TestTelemetryRow:
    def test_columns_are_the_event_fields_without_schema_version(self) -> None:
        assert set(TELEMETRY_COLUMNS) == set(TelemetrySampled.model_fields) - {"schema_version"}
        assert len(TELEMETRY_COLUMNS) == len(set(TELEMETRY_COLUMNS))

    def test_values_follow_the_column_order(self) -> None:
        departure_at = T0 + timedelta(hours=20)
        event = telemetry_sample(
            sampled_at=T0 + timedelta(minutes=3),
            speed_kmh=42.5,
            shift_state="D",
            scheduled_departure_at=departure_at,
        )
        result = telemetry_row(event)
        by_column = dict(zip(TELEMETRY_COLUMNS, result.values, strict=True))
        assert result.key == (event.vehicle_id, event.sampled_at)
        assert by_column["sampled_at"] == event.sampled_at
        assert by_column["speed_kmh"] == 42.5
        assert by_column["shift_state"] == "D"
        assert by_column["online_state"] == "online"
        assert by_column["sentry_mode"] is None
        assert by_column["scheduled_departure_at"] == departure_at


class TestUnstorableReason:
    def test_ordinary_sample_is_storable(self) -> None:
        assert unstorable_reason(telemetry_sample()) is None

    def test_nul_character_in_text_can_never_be_stored(self) -> None:
        assert unstorable_reason(telemetry_sample("5YJ3\x00BAD")) == (
            "vehicle_id contains a NUL character"
        )


class TestDedupeRows:
    @pytest.mark.parametrize(
        ("rows", "expected_markers"),
        [
            ([], []),
            ([row("A", 0, 1), row("A", 1, 2)], [1, 2]),
            ([row("A", 0, 1), row("A", 0, 2)], [1]),
            ([row("A", 0, 1), row("B", 0, 2), row("A", 0, 3), row("B", 1, 4)], [1, 2, 4]),
        ],
        ids=["empty", "distinct-times", "same-key-keeps-first", "interleaved-vehicles"],
    )
    def test_keeps_the_first_row_of_each_vehicle_and_time(self, rows, expected_markers) -> None:
        assert [r.values[2] for r in dedupe_rows(rows)] == expected_markers


class TestVehicleSpans:
    def test_span_covers_earliest_to_latest_sample_per_vehicle_sorted_by_vin(self) -> None:
        spans = vehicle_spans([row("B", 5), row("A", 3), row("B", -2), row("A", 3)])
        assert [(s.vehicle_id, s.first_sampled_at, s.last_sampled_at) for s in spans] == [
            ("A", T0 + timedelta(minutes=3), T0 + timedelta(minutes=3)),
            ("B", T0 - timedelta(minutes=2), T0 + timedelta(minutes=5)),
        ]


class TestBackoff:
    @pytest.mark.parametrize(
        ("initial_s", "maximum_s", "expected"),
        [
            (0.5, 15.0, [0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 15.0]),
            (1.0, 1.0, [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]),
            (20.0, 15.0, [15.0] * 7),
        ],
        ids=["doubles-then-caps", "constant", "initial-above-cap"],
    )
    def test_delays_double_until_the_cap(self, initial_s, maximum_s, expected) -> None:
        assert list(islice(backoff_delays_s(initial_s, maximum_s), 7)) == expected
