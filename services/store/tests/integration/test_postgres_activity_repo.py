"""Vehicle activity on a real database: the newest observation wins, a stretch keeps its start."""

from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from tc_store.adapters.postgres import PostgresDatabase
from tc_store.adapters.postgres_history import PostgresVehicleHistoryRepo
from tc_store.domain import ActivityRow, WriteResult

pytestmark = pytest.mark.integration

VIN = "5YJ3E7EB0KF000001"
T0 = datetime(2026, 12, 10, 6, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)


@pytest.fixture
def repo(database: PostgresDatabase) -> PostgresVehicleHistoryRepo:
    return PostgresVehicleHistoryRepo(database)


def stored(database_url: str) -> tuple[str, datetime, datetime]:
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT activity, since, observed_at FROM vehicle_activity WHERE vehicle_id = %s",
            (VIN,),
        ).fetchone()
    assert row is not None
    return row[0], row[1], row[2]


async def test_a_heartbeat_refreshes_when_it_was_seen_and_keeps_the_start(
    repo: PostgresVehicleHistoryRepo, database_url: str
) -> None:
    first = await repo.save_activity(ActivityRow(VIN, "asleep", T0, T0 + MIN))
    beat = await repo.save_activity(ActivityRow(VIN, "asleep", T0, T0 + 6 * MIN))

    assert first == beat == WriteResult(written=1, unchanged=0)
    assert stored(database_url) == ("asleep", T0, T0 + 6 * MIN)


async def test_an_older_observation_arriving_late_changes_nothing(
    repo: PostgresVehicleHistoryRepo, database_url: str
) -> None:
    await repo.save_activity(ActivityRow(VIN, "driving", T0 + 5 * MIN, T0 + 6 * MIN))

    late = await repo.save_activity(ActivityRow(VIN, "awake", T0, T0 + MIN))

    assert late == WriteResult(written=0, unchanged=1)
    assert stored(database_url) == ("driving", T0 + 5 * MIN, T0 + 6 * MIN)


async def test_a_restarted_ingest_that_can_only_say_since_now_keeps_the_known_start(
    repo: PostgresVehicleHistoryRepo, database_url: str
) -> None:
    await repo.save_activity(ActivityRow(VIN, "awake", T0, T0 + 10 * MIN))

    # Ingest restarted at T0+9: it saw the car awake "since" then, before our last observation.
    await repo.save_activity(ActivityRow(VIN, "awake", T0 + 9 * MIN, T0 + 11 * MIN))

    assert stored(database_url) == ("awake", T0, T0 + 11 * MIN)


async def test_the_same_activity_after_a_gap_in_observation_is_a_new_stretch(
    repo: PostgresVehicleHistoryRepo, database_url: str
) -> None:
    await repo.save_activity(ActivityRow(VIN, "asleep", T0, T0 + 10 * MIN))

    # Unobserved meanwhile, the car woke, drove and fell asleep again at T0+60.
    await repo.save_activity(ActivityRow(VIN, "asleep", T0 + 60 * MIN, T0 + 70 * MIN))

    assert stored(database_url) == ("asleep", T0 + 60 * MIN, T0 + 70 * MIN)


async def test_a_new_activity_replaces_the_old_one_with_its_own_start(
    repo: PostgresVehicleHistoryRepo, database_url: str
) -> None:
    await repo.save_activity(ActivityRow(VIN, "awake", T0, T0 + 2 * MIN))

    await repo.save_activity(ActivityRow(VIN, "charging", T0 + 3 * MIN, T0 + 3 * MIN))

    assert stored(database_url) == ("charging", T0 + 3 * MIN, T0 + 3 * MIN)
