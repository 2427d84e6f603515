"""PostgresTelemetryRepo against a real database."""

from datetime import UTC, datetime, timedelta

import pytest

from tc_store.adapters.postgres import PostgresTelemetryRepo
from tc_store.domain import SaveResult, telemetry_row
from tc_testkit.events import telemetry_sample

from .support import query

pytestmark = pytest.mark.integration

T0 = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)


def row(vin: str, minute: int):
    at = T0 + timedelta(minutes=minute)
    return telemetry_row(telemetry_sample(vin, at, online_state="asleep"))


async def test_batch_counts_new_rows_and_duplicates_and_widens_vehicle_span(database_url):
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
    spans = await query(
        database_url,
        "SELECT vehicle_id, first_sampled_at, last_sampled_at FROM vehicles ORDER BY vehicle_id",
    )
    assert spans == [
        ("A", T0 + timedelta(minutes=1), T0 + timedelta(minutes=6)),
        ("B", T0, T0),
    ]
    online = await query(database_url, "SELECT DISTINCT online_state FROM telemetry")
    assert online == [("asleep",)]


async def test_the_scheduled_departure_is_stored_with_its_sample(database_url):
    departure_at = datetime(2026, 11, 26, 6, 30, tzinfo=UTC)
    scheduled = telemetry_sample("A", T0, scheduled_departure_at=departure_at)
    repo = PostgresTelemetryRepo(database_url)
    await repo.start()
    try:
        await repo.save_samples([telemetry_row(scheduled), row("B", 0)])
    finally:
        await repo.close()

    stored = await query(
        database_url,
        "SELECT vehicle_id, scheduled_departure_at FROM telemetry ORDER BY vehicle_id",
    )
    assert stored == [("A", departure_at), ("B", None)]


async def test_ping_is_false_before_start(database_url):
    assert await PostgresTelemetryRepo(database_url).ping() is False


async def cluster_runs_timescaledb(url) -> bool:
    """Asked of the cluster itself, not of the schema code whose choice is being relied on."""
    ((available, preload),) = await query(
        url,
        "SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'), "
        "current_setting('shared_preload_libraries')",
    )
    return available and "timescaledb" in {lib.strip() for lib in preload.split(",")}


async def compress_telemetry(url) -> int:
    """Compress every telemetry chunk, as the policy does after two weeks; plain has none."""
    ((hypertables,),) = await query(
        url, "SELECT to_regnamespace('timescaledb_information') IS NOT NULL"
    )
    if not hypertables:
        return 0
    return len(await query(url, "SELECT compress_chunk(c) FROM show_chunks('telemetry') c"))


async def test_a_late_sample_and_a_redelivery_into_compressed_telemetry_are_told_apart(
    database_url,
):
    # After an outage samples can arrive for a week TimescaleDB has already compressed: the
    # new one must be stored and a redelivered one still recognised as a duplicate.
    repo = PostgresTelemetryRepo(database_url)
    await repo.start()
    try:
        await repo.save_samples([row("A", 0), row("A", 10)])
        compressed = await compress_telemetry(database_url)
        late = await repo.save_samples([row("A", 5), row("A", 10)])
    finally:
        await repo.close()

    assert compressed == (1 if await cluster_runs_timescaledb(database_url) else 0)
    assert late == SaveResult(stored=1, duplicates=1)
    stored = await query(database_url, "SELECT sampled_at FROM telemetry ORDER BY 1")
    assert stored == [(T0,), (T0 + timedelta(minutes=5),), (T0 + timedelta(minutes=10),)]
