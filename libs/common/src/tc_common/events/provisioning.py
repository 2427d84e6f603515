"""Invitation-only onboarding: a request for a VPN profile and the provisioner's answer.

An invitation code is a secret: whoever holds it takes a seat. So it never rides the bus: the
edge that takes the code from a person (the onboarding front end, an operator's script) sends
its SHA-256 digest, ``invitation_sha256(code)``, which is also the only form in which the
provisioner is configured with and keeps codes. A digest is only as hard to reverse as the code
is to guess: codes are random, 128 bits or more (``new_invitation_code``).
"""

import hashlib
import secrets
from typing import Literal
from uuid import UUID

from pydantic import AwareDatetime, Field

from tc_common.events.base import Event

INVITATION_SHA256_PATTERN = r"^[0-9a-f]{64}$"


def invitation_sha256(code: str) -> str:
    """The lower-case hex SHA-256 digest of an invitation code, as it is configured and sent."""
    return hashlib.sha256(code.encode()).hexdigest()


def new_invitation_code() -> str:
    """A fresh invitation code: 128 random bits, URL-safe (22 characters)."""
    return secrets.token_urlsafe(16)


class ProvisioningRequested(Event):
    """Someone asked for a per-device VPN profile, with an invitation (by its digest).

    Version 2: version 1 carried the invitation code itself (``invitation_code``), in clear on
    a topic every broker admin and backup could read; it was on ``provisioning.requested.v1``,
    which nothing reads any more.
    """

    schema_version: Literal[2] = 2
    request_id: UUID = Field(description="Idempotency key of the request.")
    requested_at: AwareDatetime = Field(description="When the request was made (UTC).")
    email: str = Field(
        min_length=3,
        max_length=254,
        # One @ between non-blank parts (blanks around are trimmed where it is kept): the
        # account is opened for this address.
        pattern=r"^\s*[^@\s]+@[^@\s]+\s*$",
        description="Where the profile will be sent; the account is opened for it.",
    )
    device_name: str = Field(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$",
        description="A short name for the device; becomes part of the certificate name.",
        examples=["pixel-8"],
    )
    invitation_sha256: str = Field(
        pattern=INVITATION_SHA256_PATTERN,
        description="The SHA-256 hex digest (lower case) of the invitation code, computed where "
        "the code was typed; the code itself never travels.",
        examples=["9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"],
    )

    def kafka_key(self) -> bytes:
        return str(self.request_id).encode()


class ProvisioningAcknowledged(Event):
    """The provisioner's answer to one ``ProvisioningRequested``."""

    schema_version: Literal[1] = 1
    request_id: UUID = Field(description="The request this answers.")
    decided_at: AwareDatetime = Field(description="When the decision was made (UTC).")
    outcome: Literal["accepted", "rejected"] = Field(description="What was decided.")
    reason: str = Field(
        description="Why, in words a person can act on.",
        examples=["accepted: seat 12 of 100", "rejected: the private beta is full (100 of 100)"],
    )
    seats_taken: int = Field(ge=0, description="Accepted devices after this decision.")
    seats_total: int = Field(ge=0, description="The private-beta cap.")

    def kafka_key(self) -> bytes:
        return str(self.request_id).encode()
