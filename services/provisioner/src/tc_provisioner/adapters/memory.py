"""Process-local state, rebuilt from the topics at every start (see the README)."""

from tc_provisioner.domain import ProvisioningState


class InMemoryProvisioningStateRepo:
    """A ``ProvisioningStateRepo`` holding one immutable state object."""

    def __init__(self, state: ProvisioningState | None = None) -> None:
        self._state = state or ProvisioningState()

    async def load(self) -> ProvisioningState:
        return self._state

    async def save(self, state: ProvisioningState) -> None:
        self._state = state
