"""Keys made by the installed openvpn binary open with ``tc_vpn.tls_crypt_v2`` (the recorded
keys in ``tests/data`` pin one version; this follows whatever openvpn is installed)."""

import base64
import subprocess
from pathlib import Path

import pytest

from tc_vpn import tls_crypt_v2

pytestmark = pytest.mark.integration


def test_client_key_made_by_openvpn_carries_our_metadata(tmp_path: Path, openvpn: str) -> None:
    metadata = tls_crypt_v2.device_metadata("acct.phone", 0xC0FFEE)
    run = subprocess.run
    run([openvpn, "--genkey", "tls-crypt-v2-server", str(tmp_path / "server.key")], check=True)
    run(
        [
            openvpn,
            "--tls-crypt-v2", str(tmp_path / "server.key"),
            "--genkey", "tls-crypt-v2-client", str(tmp_path / "client.key"),
            base64.b64encode(metadata).decode(),
        ],
        check=True,
    )  # fmt: skip
    server_key = tls_crypt_v2.ServerKey.from_pem((tmp_path / "server.key").read_bytes())
    client_pem = (tmp_path / "client.key").read_bytes()
    assert tls_crypt_v2.read_device_metadata(server_key, client_pem) == ("acct.phone", 0xC0FFEE)
    with pytest.raises(tls_crypt_v2.TlsCryptV2Error):
        tls_crypt_v2.unwrap_client_key(tls_crypt_v2.generate_server_key(), client_pem)
