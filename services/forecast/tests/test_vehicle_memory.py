"""The forecast service's memory of each vehicle: written on what a restart would act on,
restored without undoing what is newer."""

from datetime import timedelta

from tc_forecast.adapters.memory import InMemorySocStateRepo
from tc_forecast.domain import SocState
from tc_forecast.vehicle_memory import VehicleMemory, VehicleRemembered
from tc_testkit.events import AT, VIN


def soc(level_pct: float, reported_pct: float, minutes: int = 0) -> SocState:
    return SocState(
        vehicle_id=VIN,
        as_of=AT + timedelta(minutes=minutes),
        battery_level_pct=level_pct,
        charging_state="Charging",
        reported_battery_level_pct=reported_pct,
    )


async def test_a_new_sample_is_written_only_when_the_reported_level_or_plug_changed() -> None:
    repo = InMemorySocStateRepo()
    written: list[VehicleRemembered] = []

    async def write(record: VehicleRemembered) -> None:
        written.append(record)

    memory = VehicleMemory(repo, None, write)
    await repo.put(soc(50.0, 50.0))
    await memory.remember(VIN)
    await repo.put(soc(50.4, 50.0, minutes=1))  # drifted, not yet reported: nothing to redo
    await memory.remember(VIN)
    await repo.put(soc(51.0, 51.0, minutes=2))  # reported: a restart must know it
    await memory.remember(VIN)

    assert [r.soc.reported_battery_level_pct for r in written if r.soc] == [50.0, 51.0]


async def test_a_restored_state_older_than_what_is_known_is_not_taken() -> None:
    repo = InMemorySocStateRepo()

    async def write(record: VehicleRemembered) -> None:
        pass

    memory = VehicleMemory(repo, None, write)
    await repo.put(soc(60.0, 60.0, minutes=10))
    old = VehicleRemembered.model_validate(
        {
            "vehicle_id": VIN,
            "soc": {k: v for k, v in vars(soc(40.0, 40.0)).items() if k != "vehicle_id"},
        }
    )
    await memory.restore(old)
    known = await repo.get(VIN)
    assert known is not None
    assert known.battery_level_pct == 60.0

    empty = InMemorySocStateRepo()
    await VehicleMemory(empty, None, write).restore(old)
    restored = await empty.get(VIN)
    assert restored is not None
    assert restored.reported_battery_level_pct == 40.0
