"""Process-local state: fast, and gone when the process stops (see the README)."""

from tc_forecast.domain import SocState


class InMemorySocStateRepo:
    """A ``SocStateRepo`` in a dict; the only store the forecast service has for now."""

    def __init__(self) -> None:
        self._states: dict[str, SocState] = {}

    async def get(self, vehicle_id: str) -> SocState | None:
        return self._states.get(vehicle_id)

    async def put(self, state: SocState) -> None:
        self._states[state.vehicle_id] = state

    async def forget(self, vehicle_id: str) -> bool:
        return self._states.pop(vehicle_id, None) is not None
