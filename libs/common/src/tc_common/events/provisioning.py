"""Invitation-only onboarding: a request for a VPN profile and the provisioner's answer."""

from typing import Literal
from uuid import UUID

from pydantic import AwareDatetime, Field

from tc_common.events.base import Event


class ProvisioningRequested(Event):
    """Someone asked for a per-device VPN profile, with an invitation code."""

    schema_version: Literal[1] = 1
    request_id: UUID = Field(description="Idempotency key of the request.")
    requested_at: AwareDatetime = Field(description="When the request was made (UTC).")
    email: str = Field(min_length=3, max_length=254, description="Where the profile will be sent.")
    device_name: str = Field(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$",
        description="A short name for the device; becomes part of the certificate name.",
        examples=["pixel-8"],
    )
    invitation_code: str = Field(min_length=1, max_length=128, description="The invitation.")

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
