"""What the provisioner's tests share: one way to build a provisioning request, and an
in-memory stand-in for its database."""

import asyncio
import uuid
from datetime import UTC, datetime

from tc_common.events import (
    AccountChanged,
    ProvisioningAcknowledged,
    ProvisioningRequested,
    invitation_sha256,
)
from tc_provisioner.domain import Decision, SeatKey, Snapshot, seat_key
from tc_provisioner.ports import Policy

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)

# Any URL: settings need one, and tests that inject InMemoryDecisions never connect.
UNUSED_DATABASE_URL = "postgresql://tests@127.0.0.1:1/never-connected"


def request(
    code: str = "INVITE-000",
    *,
    email: str = "ada@example.org",
    device: str = "pixel-8",
    request_id: uuid.UUID | None = None,
    requested_at: datetime = NOW,
) -> ProvisioningRequested:
    """A request with invitation ``code`` (sent as its digest, as the edge does) from
    ``email``'s ``device``, with a new id unless ``request_id`` is given (a redelivery)."""
    return ProvisioningRequested(
        request_id=request_id or uuid.uuid4(),
        requested_at=requested_at,
        email=email,
        device_name=device,
        invitation_sha256=invitation_sha256(code),
    )


class DecisionBook:
    """Decisions kept in memory, applied the way the database applies them (one at a time)."""

    def __init__(self) -> None:
        self.answers: dict[uuid.UUID, ProvisioningAcknowledged] = {}
        self.seats: set[SeatKey] = set()
        self.used_invitations: set[str] = set()

    def snapshot(self, r: ProvisioningRequested) -> Snapshot:
        return Snapshot(
            earlier=self.answers.get(r.request_id),
            seats_taken=len(self.seats),
            seat_taken=seat_key(r) in self.seats,
            invitation_used=r.invitation_sha256 in self.used_invitations,
        )

    def record(self, decision: Decision) -> None:
        if decision.repeated:
            return
        self.answers[decision.answer.request_id] = decision.answer
        if decision.claim is not None:
            self.seats.add(decision.claim.seat)
            self.used_invitations.add(decision.claim.invitation_digest)


class InMemoryDecisions:
    """A `ProvisioningDecisions` for handler tests: one process, no database."""

    def __init__(self, book: DecisionBook | None = None) -> None:
        self.book = book or DecisionBook()
        self._lock = asyncio.Lock()
        self.accounts: dict[str, AccountChanged] = {}

    async def start(self) -> None:
        pass

    async def close(self) -> None:
        pass

    async def ping(self) -> bool:
        return True

    async def decide(self, request: ProvisioningRequested, policy: Policy) -> Decision:
        async with self._lock:
            decision = policy(self.book.snapshot(request))
            self.book.record(decision)
            return decision

    async def open_account(self, email: str, *, at: datetime) -> AccountChanged:
        # One account per case-folded email, as tc_db.accounts keeps it (tested there).
        key = email.strip().casefold()
        if key not in self.accounts:
            self.accounts[key] = AccountChanged(
                account_id=uuid.uuid4(),
                email=email.strip(),
                state="active",
                created_at=at,
                changed_at=at,
                reason="created by a provisioning request",
            )
        return self.accounts[key]
