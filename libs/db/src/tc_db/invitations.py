"""The one writer of the invitations table (migration 0012): codes an operator hands out.

A code is 128 random bits, shown once by ``issue_invitation`` and stored only as its SHA-256
digest, the form a provisioning request carries. Time is the caller's (``at``), never read
here. An invitation is found by its digest or by a prefix of it (at least 8 hex digits), which
is what ``list_invitations`` shows: enough to tell them apart, useless to guess a code.
"""

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from psycopg import AsyncConnection

from tc_common.events.provisioning import invitation_sha256, new_invitation_code
from tc_db.accounts import AccountError, InvalidInputError

LABEL_MAX = 64
MIN_PREFIX = 8
MAX_VALIDITY = timedelta(days=365)
_PREFIX = re.compile(r"^[0-9a-f]{8,64}$")

InvitationState = Literal["open", "used", "expired", "withdrawn"]


class InvitationNotFoundError(AccountError):
    pass


@dataclass(frozen=True)
class IssuedInvitation:
    """A fresh invitation: ``code`` exists only here and in what the operator hands over."""

    code: str
    digest: str
    expires_at: datetime


@dataclass(frozen=True)
class InvitationRow:
    digest: str
    label: str
    issued_at: datetime
    expires_at: datetime
    withdrawn_at: datetime | None
    used: bool

    def state(self, now: datetime) -> InvitationState:
        if self.used:
            return "used"
        if self.withdrawn_at is not None:
            return "withdrawn"
        return "expired" if self.expires_at <= now else "open"


async def issue_invitation(
    conn: AsyncConnection, *, at: datetime, valid_for: timedelta, label: str = ""
) -> IssuedInvitation:
    if not timedelta(0) < valid_for <= MAX_VALIDITY:
        raise InvalidInputError(f"an invitation is valid for 1 s to {MAX_VALIDITY.days} days")
    if len(label) > LABEL_MAX:
        raise InvalidInputError(f"the label is longer than {LABEL_MAX} characters")
    code = new_invitation_code()
    digest = invitation_sha256(code)
    expires_at = at + valid_for
    await conn.execute(
        "INSERT INTO invitations (invitation_sha256, label, issued_at, expires_at)"
        " VALUES (%s, %s, %s, %s)",
        (digest, label, at, expires_at),
    )
    return IssuedInvitation(code=code, digest=digest, expires_at=expires_at)


_ROWS = """
    SELECT i.invitation_sha256, i.label, i.issued_at, i.expires_at, i.withdrawn_at,
        EXISTS (
            SELECT 1 FROM provisioning_decisions d
            WHERE d.outcome = 'accepted' AND d.invitation_sha256 = i.invitation_sha256
        )
    FROM invitations i
"""


async def list_invitations(conn: AsyncConnection) -> list[InvitationRow]:
    cur = await conn.execute(_ROWS + " ORDER BY i.issued_at, i.invitation_sha256")
    return [InvitationRow(*row) for row in await cur.fetchall()]


async def withdraw_invitation(conn: AsyncConnection, prefix: str, *, at: datetime) -> InvitationRow:
    """Withdraw the one invitation whose digest starts with ``prefix``; idempotent (a
    withdrawn one keeps its first time). A used invitation has done its work: refused."""
    prefix = prefix.strip().lower()
    if not _PREFIX.match(prefix):
        raise InvalidInputError(
            f"an invitation is named by {MIN_PREFIX} to 64 hex digits of its digest"
        )
    async with conn.transaction():
        cur = await conn.execute(
            _ROWS + " WHERE i.invitation_sha256 LIKE %s FOR UPDATE OF i", (prefix + "%",)
        )
        found = [InvitationRow(*row) for row in await cur.fetchall()]
        if not found:
            raise InvitationNotFoundError(f"no invitation's digest starts with {prefix}")
        if len(found) > 1:
            raise InvalidInputError(f"{len(found)} invitations start with {prefix}: give more")
        row = found[0]
        if row.used:
            raise InvalidInputError(f"invitation {prefix} was used already; nothing to withdraw")
        if row.withdrawn_at is not None:
            return row
        await conn.execute(
            "UPDATE invitations SET withdrawn_at = %s WHERE invitation_sha256 = %s",
            (at, row.digest),
        )
    return InvitationRow(
        digest=row.digest,
        label=row.label,
        issued_at=row.issued_at,
        expires_at=row.expires_at,
        withdrawn_at=at,
        used=False,
    )


@dataclass(frozen=True)
class Seat:
    """A device admitted to the beta: one accepted provisioning request."""

    decided_at: datetime
    device: str
    account_id: str | None  # None: its account is erased (the seat stays counted)


async def list_seats(conn: AsyncConnection) -> list[Seat]:
    """Every seat taken, oldest first, with the account it belongs to."""
    cur = await conn.execute(
        "SELECT d.decided_at, d.device_casefold, a.account_id::text "
        "FROM provisioning_decisions d "
        "LEFT JOIN accounts a ON a.email_casefold = d.email_casefold AND a.state <> 'erased' "
        "WHERE d.outcome = 'accepted' ORDER BY d.decided_at, d.request_id"
    )
    return [Seat(*row) for row in await cur.fetchall()]
