"""PostgresVehicleHistoryRepo against a real database: the upsert rules of each table."""

from datetime import timedelta

import pytest

from tc_common.events import BehaviourProfileUpdated, ChargePlanPublished
from tc_store import domain
from tc_store.adapters.postgres import PostgresDatabase
from tc_store.adapters.postgres_history import PostgresVehicleHistoryRepo
from tc_store.domain import WriteResult
from tc_testkit import history
from tc_testkit.events import AT

from .support import query

pytestmark = pytest.mark.integration


@pytest.fixture
def repo(database: PostgresDatabase) -> PostgresVehicleHistoryRepo:
    return PostgresVehicleHistoryRepo(database)


async def test_a_drive_fetched_again_unchanged_writes_nothing_and_an_edited_one_replaces_it(
    repo, database_url
) -> None:
    first = [domain.drive_row(history.drive(drive_id=i)) for i in (1, 2)]
    edited = domain.drive_row(history.drive(drive_id=2, distance_km=30.0))

    stored = await repo.save_drives(first)
    again = await repo.save_drives(first)
    replaced = await repo.save_drives([edited])
    rows = await query(
        database_url,
        "SELECT drive_id, distance_km, energy_used_kwh, starting_battery_pct FROM drives "
        "ORDER BY drive_id",
    )

    assert stored == WriteResult(written=2, unchanged=0)
    assert again == WriteResult(written=0, unchanged=2)
    assert replaced == WriteResult(written=1, unchanged=0)
    assert rows == [(1, 21.5, 3.4, 80.0), (2, 30.0, 3.4, 80.0)]


async def test_a_charge_keeps_every_field_and_a_null_that_becomes_a_value_replaces_it(
    repo, database_url
) -> None:
    unknown_odometer = history.charge(odometer_km=None, energy_used_kwh=None)
    known = history.charge()

    await repo.save_charges([domain.charge_row(unknown_odometer)])
    replaced = await repo.save_charges([domain.charge_row(known)])
    same = await repo.save_charges([domain.charge_row(known)])
    rows = await query(
        database_url,
        f"SELECT {', '.join(domain.ChargeRow._fields)} FROM charges",
    )

    assert replaced == WriteResult(written=1, unchanged=0)
    assert same == WriteResult(written=0, unchanged=1)
    assert [domain.ChargeRow(*r) for r in rows] == [domain.charge_row(known)]


async def test_profiles_keep_every_one_in_history_and_only_the_newest_as_latest(
    repo, database_url
) -> None:
    day = timedelta(days=1)
    older = history.profile(computed_at=AT, days_observed=9)
    newer = history.profile(computed_at=AT + day, days_observed=10)

    results = [
        await repo.save_behaviour_profile(domain.profile_row(newer)),
        # Delivered late (or again): kept in the history, but it must not become the latest.
        await repo.save_behaviour_profile(domain.profile_row(older)),
        await repo.save_behaviour_profile(domain.profile_row(older)),
    ]
    latest = await query(
        database_url, "SELECT computed_at, days_observed, event FROM behaviour_profiles"
    )
    kept = await query(
        database_url,
        "SELECT days_observed FROM behaviour_profile_history ORDER BY computed_at",
    )

    assert results == [
        WriteResult(written=1, unchanged=0),
        WriteResult(written=1, unchanged=0),
        WriteResult(written=0, unchanged=1),
    ]
    ((computed_at, days_observed, event),) = latest
    assert (computed_at, days_observed) == (newer.computed_at, 10)
    assert BehaviourProfileUpdated.model_validate(event) == newer
    assert kept == [(9,), (10,)]


async def test_plans_keep_every_one_in_history_and_only_the_newest_as_latest(
    repo, database_url
) -> None:
    first = history.plan(issued_at=AT, slots=2)
    replan = history.plan(
        issued_at=AT + timedelta(hours=6),
        trigger="prices_published",
        slots=3,
        expected_cost=19.0,
    )

    await repo.save_charge_plan(domain.plan_row(first))
    await repo.save_charge_plan(domain.plan_row(replan))
    late = await repo.save_charge_plan(domain.plan_row(first))
    latest = await query(
        database_url,
        "SELECT issued_at, trigger, expected_cost, first_slot_start_at, event FROM charge_plans",
    )
    kept = await query(database_url, "SELECT trigger FROM charge_plan_history ORDER BY issued_at")

    assert late == WriteResult(written=0, unchanged=1)
    ((issued_at, trigger, cost, first_slot, event),) = latest
    assert (issued_at, trigger, cost) == (replan.issued_at, "prices_published", 19.0)
    assert first_slot == replan.slots[0].start_at
    assert ChargePlanPublished.model_validate(event) == replan
    assert kept == [("plugged_in",), ("prices_published",)]
