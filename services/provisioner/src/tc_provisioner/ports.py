"""What the provisioner needs from the outside world, as Protocols."""

from typing import Protocol

from tc_common.events import ProvisioningAcknowledged, ProvisioningRequested
from tc_provisioner.domain import ProvisioningState


class ProvisioningStateRepo(Protocol):
    """The provisioner's decisions so far: seats, answers and used invitations.

    Implementations MUST return what was last ``save``d, or an empty state if nothing was.
    """

    async def load(self) -> ProvisioningState: ...

    async def save(self, state: ProvisioningState) -> None: ...


class ProvisioningHistory(Protocol):
    """Every request and answer published so far, oldest first; read once at startup."""

    async def read_requests(self) -> list[ProvisioningRequested]: ...

    async def read_acknowledgements(self) -> list[ProvisioningAcknowledged]: ...
