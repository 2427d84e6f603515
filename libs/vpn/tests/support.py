"""What the VPN library's tests share: a pinned moment, a CA, the openvpn-made key files."""

from datetime import UTC, datetime
from pathlib import Path

from tc_vpn import pki

NOW = datetime(2026, 12, 5, 18, 30, tzinfo=UTC)
ACCOUNT_ID = "0f3c6d2e-4b1a-4c8e-9d7f-2a5b8c1e6f90"
SERVER_NAME = "vpn.teslaconnectivity.test"
DATA = Path(__file__).parent / "data"

# Made by `openvpn --genkey` (2.6.14): a server key, a client key wrapped with user metadata
# (the base64 of OPENVPN_METADATA) and one wrapped with openvpn's default timestamp metadata.
OPENVPN_SERVER_KEY = DATA / "openvpn-2.6.14-server.key"
OPENVPN_CLIENT_KEY = DATA / "openvpn-2.6.14-client-user-metadata.key"
OPENVPN_TIMESTAMP_CLIENT_KEY = DATA / "openvpn-2.6.14-client-timestamp.key"
OPENVPN_METADATA = (
    b"cn=0f3c6d2e-4b1a-4c8e-9d7f-2a5b8c1e6f90.kitchen-tablet;"
    b"serial=9c1e05f2a7b3d4e6f8091a2b3c4d5e6f"
)


def device(ca: pki.Issued, name: str = "kitchen tablet") -> pki.Issued:
    return pki.issue_device_certificate(ca, pki.device_common_name(ACCOUNT_ID, name), NOW)
