"""The account's VPN devices as a customer sees them: one entry per device name, its
certificates newest first, and which certificate (if any) a profile can still be sent for.

Pure: the rows come from the provisioner's table (``tc_db.vpn``) through the ``DeviceDirectory``
port, and the moment is passed in.
"""

from dataclasses import dataclass
from datetime import datetime

from tc_common.events.vpn import CertificateState, RevocationReason

DEVICE_NAME_MAX_LENGTH = 64


@dataclass(frozen=True)
class DeviceCertificate:
    serial_hex: str
    device_name: str
    state: CertificateState
    reason: RevocationReason | None
    issued_at: datetime
    not_after: datetime

    def valid_at(self, now: datetime) -> bool:
        """Whether a profile of it still connects: issued (not on hold, not revoked), unexpired."""
        return self.state == "issued" and self.not_after > now


@dataclass(frozen=True)
class Device:
    """A device name and its certificates, newest first (a re-issue or a renewal adds one)."""

    name: str
    certificates: tuple[DeviceCertificate, ...]

    def newest_valid(self, now: datetime) -> DeviceCertificate | None:
        return next((c for c in self.certificates if c.valid_at(now)), None)


def group_devices(certificates: list[DeviceCertificate]) -> list[Device]:
    """Certificates grouped by device name, which is case-insensitive (the provisioner treats
    "Laptop" and "laptop" as one device). A group is named as its newest certificate names it;
    groups are sorted by name, certificates newest first. Blank names (an erased account's)
    are nobody's to see."""
    groups: dict[str, list[DeviceCertificate]] = {}
    for certificate in certificates:
        if certificate.device_name:
            groups.setdefault(certificate.device_name.lower(), []).append(certificate)
    devices = []
    for group in groups.values():
        newest_first = sorted(group, key=lambda c: (c.issued_at, c.serial_hex), reverse=True)
        devices.append(Device(name=newest_first[0].device_name, certificates=tuple(newest_first)))
    return sorted(devices, key=lambda d: (d.name.lower(), d.name))


def find_device(devices: list[Device], name: str) -> Device | None:
    """The device called ``name``, in any case."""
    return next((d for d in devices if d.name.lower() == name.lower()), None)
