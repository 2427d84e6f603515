"""The VPN's certificate authority as the provisioner uses it: pure, time passed in.

Creating the authority, issuing a device its certificate and tls-crypt-v2 key, rendering its
profile, and signing the CRL from what the tables list. ``tc_vpn`` does the cryptography and
the configuration text; this module decides what goes in (names, lifetimes, reasons).
"""

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from uuid import UUID

from cryptography import x509

from tc_common.events.vpn import RevocationReason
from tc_vpn import config, pki, tls_crypt_v2
from tc_vpn.pki import Issued
from tc_vpn.tls_crypt_v2 import ServerKey

# The vault binds each ciphertext to an (account id, record id) pair. The authority's keys
# belong to no account: they are bound to this fixed id and to ids derived from the
# authority's, so that no sealed key can stand in for another.
AUTHORITY_ACCOUNT = UUID("6f1c1e0e-3b9a-5d0c-9a57-7c6e0f1a7e01")

# X.509 reasons, as OpenVPN and anyone reading the CRL see them.
_CRL_REASONS: dict[RevocationReason, x509.ReasonFlags] = {
    "customer_request": x509.ReasonFlags.cessation_of_operation,
    "operator": x509.ReasonFlags.unspecified,
    "account_suspended": x509.ReasonFlags.certificate_hold,
    "account_erased": x509.ReasonFlags.cessation_of_operation,
    "superseded": x509.ReasonFlags.superseded,
}


def server_key_id(authority_id: UUID) -> UUID:
    return uuid.uuid5(authority_id, "server-key")


def tls_crypt_v2_key_id(authority_id: UUID) -> UUID:
    return uuid.uuid5(authority_id, "tls-crypt-v2-server-key")


def profile_id(serial: int) -> UUID:
    """A device profile's record id: its 128-bit serial is exactly a UUID's size."""
    return UUID(int=serial)


@dataclass(frozen=True)
class OpenAuthority:
    """The authority with its private keys opened: in memory only, never logged."""

    authority_id: UUID
    ca: Issued = field(repr=False)
    server: Issued = field(repr=False)
    tls_crypt_v2: ServerKey = field(repr=False)


@dataclass(frozen=True)
class IssuedDevice:
    """A device's new certificate and its whole inline profile (which holds its keys)."""

    certificate: Issued = field(repr=False)
    profile: str = field(repr=False)

    @property
    def serial_hex(self) -> str:
        return f"{self.certificate.serial:x}"


@dataclass(frozen=True)
class Listed:
    """A certificate the CRL lists: since when and why."""

    serial_hex: str
    since: datetime
    reason: RevocationReason


def new_authority(server_name: str, now: datetime) -> OpenAuthority:
    ca = pki.create_ca("teslaconnectivity VPN CA", now)
    return OpenAuthority(
        authority_id=uuid.uuid4(),
        ca=ca,
        server=pki.issue_server_certificate(ca, server_name, now),
        tls_crypt_v2=tls_crypt_v2.generate_server_key(),
    )


def issue_device(
    authority: OpenAuthority,
    *,
    account_id: UUID,
    device_name: str,
    now: datetime,
    lifetime: timedelta,
    profile: config.ProfileSettings,
) -> IssuedDevice:
    common_name = pki.device_common_name(str(account_id), device_name)
    certificate = pki.issue_device_certificate(authority.ca, common_name, now, lifetime=lifetime)
    client_key = tls_crypt_v2.wrap_client_key(
        authority.tls_crypt_v2, tls_crypt_v2.device_metadata(common_name, certificate.serial)
    )
    text = config.render_device_profile(
        profile,
        config.DeviceCredentials(
            ca_pem=authority.ca.cert_pem,
            cert_pem=certificate.cert_pem,
            key_pem=certificate.key_pem,
            tls_crypt_v2_key_pem=client_key,
        ),
    )
    return IssuedDevice(certificate=certificate, profile=text)


def sign_crl(
    authority: OpenAuthority, listed: Iterable[Listed], now: datetime, lifetime: timedelta
) -> pki.Crl:
    return pki.create_crl(
        authority.ca,
        [
            pki.RevokedCertificate(
                serial=int(entry.serial_hex, 16),
                revoked_at=min(entry.since, now),
                reason=_CRL_REASONS[entry.reason],
            )
            for entry in listed
        ],
        now,
        lifetime=lifetime,
    )
