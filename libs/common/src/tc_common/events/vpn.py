"""Private access over OpenVPN: each device's certificate, its profile's delivery, revocations
and the certificate revocation list, as the rest of the system learns them.

The provisioner holds the certificate authority and is the only signer. What it decides is in
its tables (migration 0014) and told here:

- ``DeviceCertificateChanged`` (``vpn.devices.v1``, compacted, key: serial): a device's
  certificate issued, renewed, put on hold (account suspended), released, or revoked.
- ``ProfileDeliveryChanged`` (``vpn.deliveries.v1``): each attempt to email a profile.
- ``VpnCrlPublished`` (``vpn.crl.v1``, compacted, one key): the newest signed CRL and the
  serials it lists, which the agent beside the OpenVPN server writes where the server reads it.
- ``DeviceAccessRequested`` (``vpn.requests.v1``): a customer (through the api) or an operator
  (tc-admin) asks to revoke a device, to send its profile again, or to re-issue it (a new
  certificate for the same device name; the old ones revoked as superseded).

No secret travels: a certificate and a CRL are public by design; a profile (which holds the
device's private key) only ever goes to the customer's mailbox. A device name is personal data
of a kind: an erased account's devices are published once more with the name blanked.
"""

from typing import Literal
from uuid import UUID

from pydantic import AwareDatetime, Field

from tc_common.events.base import Event

SERIAL_HEX_PATTERN = r"^[0-9a-f]{1,40}$"
DEVICE_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"

CertificateState = Literal["issued", "on_hold", "revoked", "expired"]
RevocationReason = Literal[
    "customer_request",
    "operator",
    "account_suspended",
    "account_erased",
    "superseded",
]
DeliveryState = Literal["delivered", "retrying", "failed"]
AccessRequestKind = Literal["revoke", "resend_profile", "reissue"]


class DeviceCertificateChanged(Event):
    """A device certificate's state after a change."""

    schema_version: Literal[1] = 1
    serial_hex: str = Field(
        pattern=SERIAL_HEX_PATTERN,
        description="The certificate's serial number, lower-case hex (OpenVPN logs it decimal).",
    )
    account_id: UUID = Field(description="The tenant the device belongs to.")
    device_name: str = Field(
        max_length=64, description="The device's name; empty once its account is erased."
    )
    common_name: str = Field(max_length=64, description="The certificate's subject CN.")
    state: CertificateState = Field(description="Whether the device may connect.")
    not_after: AwareDatetime = Field(description="When the certificate expires (UTC).")
    changed_at: AwareDatetime = Field(description="When this change was made (UTC).")
    reason: RevocationReason | None = Field(
        default=None, description="Why the device may no longer connect (on hold or revoked)."
    )
    replaces_serial_hex: str | None = Field(
        default=None,
        pattern=SERIAL_HEX_PATTERN,
        description="The certificate this one renews or re-issues, if any.",
    )

    def kafka_key(self) -> bytes:
        return self.serial_hex.encode()


class ProfileDeliveryChanged(Event):
    """What became of one attempt to email a device's profile."""

    schema_version: Literal[1] = 1
    delivery_id: UUID = Field(description="One delivery (a first send or a re-send).")
    serial_hex: str = Field(pattern=SERIAL_HEX_PATTERN, description="The profile's certificate.")
    account_id: UUID = Field(description="The tenant.")
    state: DeliveryState = Field(
        description="delivered; retrying (a transient failure, tried again later); failed "
        "(refused for good, or out of attempts: an operator or the customer can ask again)."
    )
    attempts: int = Field(ge=1, le=2**31 - 1, description="Attempts made so far.")
    at: AwareDatetime = Field(description="When this attempt ended (UTC).")
    next_attempt_at: AwareDatetime | None = Field(
        default=None, description="When it is tried again, while retrying (UTC)."
    )
    reason: str = Field(
        default="",
        max_length=300,
        description="Why it failed, as the mail server said (never the message or a secret).",
    )

    def kafka_key(self) -> bytes:
        return str(self.account_id).encode()


class VpnCrlPublished(Event):
    """The newest certificate revocation list the CA signed, and the serials it lists."""

    schema_version: Literal[1] = 1
    authority_id: UUID = Field(description="The certificate authority that signed it.")
    crl_number: int = Field(ge=1, le=2**63 - 1, description="Increases with every signature.")
    crl_pem: str = Field(max_length=4_000_000, description="The signed CRL, PEM.")
    revoked_serials_hex: tuple[str, ...] = Field(
        description="Every serial the CRL lists (revoked or on hold), lower-case hex: the "
        "deny list of the tls-crypt-v2 check."
    )
    this_update: AwareDatetime = Field(description="The CRL's thisUpdate (UTC).")
    next_update: AwareDatetime = Field(
        description="The CRL's nextUpdate (UTC): after it the server refuses everyone, so it is "
        "signed again long before."
    )

    def kafka_key(self) -> bytes:
        return str(self.authority_id).encode()


class DeviceAccessRequested(Event):
    """Someone with the right to asks the provisioner to revoke a device or resend its profile."""

    schema_version: Literal[1] = 1
    request_id: UUID = Field(description="Idempotency key.")
    account_id: UUID = Field(description="The tenant the device belongs to.")
    device_name: str = Field(
        min_length=1, max_length=64, pattern=DEVICE_NAME_PATTERN, description="Which device."
    )
    kind: AccessRequestKind = Field(
        description="revoke: the device may no longer connect; resend_profile: its newest "
        "valid profile emailed again; reissue: a new certificate and profile, the old ones "
        "revoked."
    )
    requested_by: Literal["customer", "operator"] = Field(description="Who asks.")
    requested_at: AwareDatetime = Field(description="When (UTC).")

    def kafka_key(self) -> bytes:
        return str(self.account_id).encode()
