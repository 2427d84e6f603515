"""PostgresTelemetryRepo against a real database."""

from datetime import UTC, datetime, timedelta

import pytest

from tc_common.events import TelemetrySampled
from tc_store.adapters.postgres import PostgresTelemetryRepo
from tc_store.domain import SaveResult, telemetry_row

pytestmark = pytest.mark.integration

T0 = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)


def row(vin: str, minute: int):
    at = T0 + timedelta(minutes=minute)
    return telemetry_row(
        TelemetrySampled(vehicle_id=vin, sampled_at=at, fetched_at=at, online_state="asleep")
    )


async def test_batch_counts_new_rows_and_duplicates_and_widens_vehicle_span(database_url, helpers):
    repo = PostgresTelemetryRepo(database_url)
    await repo.start()
    try:
        first = await repo.save_samples([row("A", 5), row("A", 6)])
        # Out of order, repeated within the batch and overlapping what is stored.
        second = await repo.save_samples([row("A", 1), row("A", 6), row("A", 1), row("B", 0)])
        empty = await repo.save_samples([])
        healthy = await repo.ping()
    finally:
        await repo.close()

    assert first == SaveResult(stored=2, duplicates=0)
    assert second == SaveResult(stored=2, duplicates=2)
    assert empty == SaveResult(stored=0, duplicates=0)
    assert healthy is True
    spans = await helpers.query(
        database_url,
        "SELECT vehicle_id, first_sampled_at, last_sampled_at FROM vehicles ORDER BY vehicle_id",
    )
    assert spans == [
        ("A", T0 + timedelta(minutes=1), T0 + timedelta(minutes=6)),
        ("B", T0, T0),
    ]
    online = await helpers.query(database_url, "SELECT DISTINCT online_state FROM telemetry")
    assert online == [("asleep",)]


async def test_ping_is_false_before_start(database_url):
    assert await PostgresTelemetryRepo(database_url).ping() is False
