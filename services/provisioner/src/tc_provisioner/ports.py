"""What the provisioner needs from the outside world, as Protocols."""

from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from tc_common.events import AccountChanged, ProvisioningRequested
from tc_provisioner.domain import Decision, Snapshot

Policy = Callable[[Snapshot], Decision]
"""Decides one request from what was decided before it (``domain.decide`` with its settings)."""


class ProvisioningDecisions(Protocol):
    """Where decisions are taken and kept: the single arbiter of every provisioner process.

    ``decide`` reads the ``Snapshot`` for ``request``, asks ``policy`` and stores a new decision
    (with the seat and invitation an acceptance takes) in ONE transaction that no other
    ``decide``, in this process or another, interleaves with; it returns only once that has
    committed. A request id decided before gets its stored first answer (``repeated``), however
    long ago and by whichever process. An unreachable store raises (the consumer retries).
    """

    async def start(self) -> None:
        """Prepare the store (connect, migrate), waiting for it as long as it takes."""
        ...

    async def close(self) -> None: ...

    async def decide(self, request: ProvisioningRequested, policy: Policy) -> Decision: ...

    async def open_account(self, email: str, *, at: datetime) -> AccountChanged:
        """The account of ``email``, created at ``at`` unless it has one that is not erased
        (idempotent: a repeated request finds the same account). An unreachable store raises."""
        ...

    async def ping(self) -> bool:
        """True when the store answers now (no retries)."""
        ...
