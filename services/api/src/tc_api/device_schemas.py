"""Answers of the account's VPN device routes: each device and its certificates, and a request
(revocation, profile re-send) handed to the provisioner."""

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import AwareDatetime, Field

from tc_api.devices import Device, DeviceCertificate
from tc_api.schemas import ResponseModel
from tc_common.events.vpn import RevocationReason


class DeviceCertificateOut(ResponseModel):
    serial_hex: str = Field(
        description="The certificate's serial number, lower-case hex (1 to 40 digits; OpenVPN "
        "logs it in decimal)."
    )
    state: Literal["issued", "on_hold", "revoked"] = Field(
        description="issued: the device may connect (until not_after); on_hold: refused while "
        "the account is suspended, released when it resumes; revoked: refused for good."
    )
    reason: RevocationReason | None = Field(
        description="Why it is on hold or revoked; null while issued. customer_request: "
        "revoked through this API; operator: by support; account_suspended; account_erased; "
        "superseded: a newer certificate of the same device replaced it."
    )
    valid: bool = Field(
        description="True if a profile of this certificate connects now: issued and not "
        "expired (not_after in the future)."
    )
    issued_at: AwareDatetime = Field(description="When it was issued (UTC).")
    not_after: AwareDatetime = Field(description="When it expires (UTC).")

    @classmethod
    def from_certificate(cls, c: DeviceCertificate, now: datetime) -> "DeviceCertificateOut":
        # The table never says "expired" (only the events' type allows it): an expired
        # certificate stays "issued" there, and ``valid`` tells.
        state: Literal["issued", "on_hold", "revoked"] = (
            "issued" if c.state == "expired" else c.state
        )
        return cls(
            serial_hex=c.serial_hex,
            state=state,
            reason=c.reason,
            valid=c.valid_at(now),
            issued_at=c.issued_at,
            not_after=c.not_after,
        )


class DeviceOut(ResponseModel):
    device_name: str = Field(
        description="The device's name (case-insensitive: one device, whatever the case), as "
        "its newest certificate spells it; 1 to 64 characters."
    )
    certificates: tuple[DeviceCertificateOut, ...] = Field(
        description="Its certificates, newest first: a renewal or a re-issue adds one. The "
        "newest valid one's profile is the one emailed on request."
    )

    @classmethod
    def from_device(cls, device: Device, now: datetime) -> "DeviceOut":
        return cls(
            device_name=device.name,
            certificates=tuple(
                DeviceCertificateOut.from_certificate(c, now) for c in device.certificates
            ),
        )


class DeviceRequestAccepted(ResponseModel):
    """A request handed to the provisioner (acknowledged by the broker): it acts at once."""

    request_id: UUID = Field(description="The request's id, as the provisioner records it.")
    device_name: str = Field(description="The device, as the account's certificates name it.")
    kind: Literal["revoke", "resend_profile"] = Field(
        description="revoke: every certificate of the device is revoked (its sessions end); "
        "resend_profile: the newest valid profile is emailed to the account's address again."
    )
    requested_at: AwareDatetime = Field(description="When it was requested (UTC).")
