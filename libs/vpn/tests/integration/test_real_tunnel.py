"""A real OpenVPN 2.6 server and real clients, in two network namespaces, with ``tc_vpn``'s PKI,
keys, configuration, verify hook, revocation files and management client.

The API stand-in is an HTTP server in this process listening on the tunnel address 10.8.0.1
inside the server namespace; requests come from the client namespace. A refused client only
gives up when its hand-window (5 s) ends and then exits 0, so refusals are read in the server's
log, and the client is killed as soon as the server has logged it.

Needs root (namespaces, tun). ``openvpn`` is installed with apt-get if it is missing
(``conftest.openvpn``).
"""

import asyncio
import base64
import errno
import os
import re
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tc_testkit.vpn import (
    CONNECTED,
    DATA_CHANNEL_AES_GCM,
    NETNS_DIR,
    Device,
    OpenVpnProcess,
    VpnDeployment,
    VpnLab,
    http_get_in_netns,
    listening_socket_in_netns,
    peer_echo_app,
    serve_asgi,
)
from tc_vpn import pki, tls_crypt_v2

pytestmark = pytest.mark.integration

# The certificates' validity is checked by OpenSSL against the real clock: issue them "now".
NOW = datetime.now(UTC).replace(microsecond=0)
API_PORT = 8080
REFUSAL_TIMEOUT_S = 10.0
TIMINGS: dict[str, float] = {}


def _require_root() -> None:
    if os.geteuid() != 0:
        pytest.fail("the real-tunnel test needs root (network namespaces, tun devices)")


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory, openvpn: str) -> Iterator[VpnLab]:
    _require_root()
    with VpnLab.open(tmp_path_factory.mktemp("vpn-lab")) as lab:
        yield lab
    (lab.workdir / "timings.txt").write_text(
        "".join(f"{name}\t{seconds * 1000:.0f} ms\n" for name, seconds in TIMINGS.items())
    )


@pytest.fixture(scope="module")
def vpn(lab: VpnLab) -> VpnDeployment:
    deployment = VpnDeployment.create(lab, lab.workdir / "vpn", NOW)
    started = time.monotonic()
    deployment.start_server()
    TIMINGS["server start"] = time.monotonic() - started
    return deployment


@pytest.fixture(scope="module")
def api(lab: VpnLab, vpn: VpnDeployment) -> Iterator[str]:
    """The API stand-in (uvicorn, a tiny ASGI app) on the tunnel address; its answer names the
    peer it saw."""
    address = str(vpn.tunnel_address)
    sock = listening_socket_in_netns(lab.server_ns, address, API_PORT)
    with serve_asgi(sock, peer_echo_app()):
        yield address


def _connect(vpn: VpnDeployment, device: Device) -> OpenVpnProcess:
    """Connect and wait for the tunnel; records the connect time."""
    client = vpn.connect(device)
    client.wait_for_log(CONNECTED)
    TIMINGS[f"connect {device.name}"] = time.monotonic() - client.started_at
    client.wait_for_log(DATA_CHANNEL_AES_GCM)  # logged just after Init Completed
    return client


def _refused(vpn: VpnDeployment, device: Device, server_line: str) -> str:
    """Start ``device``'s client, wait for the server to log ``server_line`` (a regex) for it,
    kill the client; the server's log since the attempt."""
    assert vpn.server is not None
    mark = vpn.server.mark()
    client = vpn.connect(device)
    try:
        vpn.server.wait_for_log(server_line, since=mark, timeout_s=REFUSAL_TIMEOUT_S)
        TIMINGS[f"refusal {device.name}"] = time.monotonic() - client.started_at
    finally:
        client.kill()
    assert not CONNECTED.search(client.log()), client.log()
    return vpn.server.log()[mark:]


def _get(lab: VpnLab, host: str) -> tuple[int, bytes]:
    return http_get_in_netns(lab.client_ns, host, API_PORT, timeout_s=2.0)


def _disconnect(vpn: VpnDeployment, common_name: str) -> int:
    async def disconnect() -> int:
        async with vpn.management() as management:
            return await management.disconnect_common_name(common_name)

    return asyncio.run(disconnect())


def _status_names(vpn: VpnDeployment) -> list[str]:
    async def status() -> list[str]:
        async with vpn.management() as management:
            return [client.common_name for client in await management.status()]

    return asyncio.run(status())


def _revoked_line(device: Device) -> str:
    return (
        r"VERIFY ERROR: depth=0, error=certificate revoked: "
        rf"CN={re.escape(device.common_name)}, serial={device.certificate.serial}"
    )


def _denied_line(device: Device) -> str:
    return rf"tc-vpn-verify: refused: serial {device.certificate.serial:x} is on the deny list"


def test_device_with_an_issued_profile_reaches_the_api_through_the_tunnel(
    lab: VpnLab, vpn: VpnDeployment, api: str
) -> None:
    alice = vpn.issue_device("alice", NOW)
    client = _connect(vpn, alice)
    try:
        log = client.log()
        assert re.search(r"Control Channel: TLSv1\.[23]", log), log
        assert "VERIFY X509NAME OK: CN=vpn.teslaconnectivity.test" in log
        assert "VERIFY EKU OK" in log
        assert "Data Channel: cipher 'AES-256-GCM'" in log
        assert _get(lab, api) == (200, b"hello peer=10.8.0.2")
        assert _status_names(vpn) == [alice.common_name]
    finally:
        client.stop()
    with pytest.raises(OSError, match="unreachable") as unreachable:
        _get(lab, api)
    assert unreachable.value.errno == errno.ENETUNREACH


def test_api_answers_on_the_tunnel_address_only(lab: VpnLab, vpn: VpnDeployment, api: str) -> None:
    client = _connect(vpn, vpn.issue_device("bea", NOW))
    try:
        assert _get(lab, api)[0] == 200
        with pytest.raises(ConnectionRefusedError):
            _get(lab, str(lab.server_address))
    finally:
        client.stop()


def test_device_revoked_in_the_crl_is_refused_at_tls_without_a_server_restart(
    lab: VpnLab, vpn: VpnDeployment, api: str
) -> None:
    bob = vpn.issue_device("bob", NOW)
    _connect(vpn, bob).stop()
    vpn.revoke(bob, NOW, deny=False)  # only the CRL: the TLS check must refuse on its own
    log = _refused(vpn, bob, _revoked_line(bob))
    assert "CRL: loaded 1 CRLs" in log  # re-read on this handshake, not at a restart


def test_device_on_the_deny_list_is_refused_before_tls(
    lab: VpnLab, vpn: VpnDeployment, api: str
) -> None:
    carol = vpn.issue_device("carol", NOW)
    vpn.revoke(carol, NOW, crl=False)  # only the deny list: the hook must refuse on its own
    log = _refused(vpn, carol, "TLS CRYPT V2 VERIFY SCRIPT ERROR")
    assert re.search(_denied_line(carol), log), log
    assert "VERIFY OK: depth=0" not in log  # no certificate was looked at


def test_connected_device_that_is_revoked_is_disconnected_and_cannot_reconnect(
    lab: VpnLab, vpn: VpnDeployment, api: str
) -> None:
    dave = vpn.issue_device("dave", NOW)
    client = _connect(vpn, dave)
    try:
        vpn.revoke(dave, NOW)
        # Revoking alone does not end an established session: its data key stays valid.
        assert _get(lab, api)[0] == 200
        started = time.monotonic()
        assert _disconnect(vpn, dave.common_name) == 1
        client.popen.wait(timeout=5)
        TIMINGS["client exit after client-kill HALT"] = time.monotonic() - started
        assert "Halt command was pushed by server" in client.log()
    finally:
        client.stop()
    with pytest.raises(OSError, match="unreachable"):
        _get(lab, api)
    _refused(vpn, dave, _denied_line(dave))


def test_profile_of_another_ca_is_refused_at_tls(lab: VpnLab, vpn: VpnDeployment) -> None:
    other_ca = pki.create_ca("teslaconnectivity test VPN CA", NOW)  # same name, other key
    mallory = vpn.issue_device("mallory", NOW, ca=other_ca)
    log = _refused(vpn, mallory, r"VERIFY ERROR: depth=0, error=unable to get local issuer")
    assert "Peer Connection Initiated" not in log


def test_profile_with_an_altered_tls_crypt_v2_key_is_refused_before_tls(
    lab: VpnLab, vpn: VpnDeployment
) -> None:
    common_name = pki.device_common_name(vpn.account_id, "tampered")
    pem = tls_crypt_v2.wrap_client_key(vpn.server_key, tls_crypt_v2.device_metadata(common_name, 1))
    body = bytearray(base64.b64decode(b"".join(pem.splitlines()[1:-1])))
    body[256 + 40] ^= 0x01  # inside the wrapped key's ciphertext
    text = base64.b64encode(bytes(body)).decode()
    altered = "\n".join(
        [
            f"-----BEGIN {tls_crypt_v2.CLIENT_PEM_NAME}-----",
            *(text[i : i + 64] for i in range(0, len(text), 64)),
            f"-----END {tls_crypt_v2.CLIENT_PEM_NAME}-----",
            "",
        ]
    ).encode()
    tampered = vpn.issue_device("tampered", NOW, tls_crypt_v2_key=altered)
    log = _refused(vpn, tampered, "client key authentication error")
    assert "tc-vpn-verify" not in log  # dropped before the hook ran
    assert "VERIFY" not in log  # and before TLS


def test_restarted_server_keeps_refusing_revoked_devices_and_admits_others(
    lab: VpnLab, vpn: VpnDeployment, api: str
) -> None:
    erin, frank = vpn.issue_device("erin", NOW), vpn.issue_device("frank", NOW)
    vpn.revoke(erin, NOW)
    started = time.monotonic()
    vpn.restart_server()
    TIMINGS["server restart (stop with explicit-exit-notify + start)"] = time.monotonic() - started
    _refused(vpn, erin, _denied_line(erin))
    client = _connect(vpn, frank)
    try:
        assert _get(lab, api) == (200, b"hello peer=10.8.0.2")
    finally:
        client.stop()


def test_lab_removes_namespaces_of_dead_runs_and_its_own(tmp_path: Path) -> None:
    _require_root()
    dead_pid = next(p for p in range(4_000_000, 4_100_000) if not Path(f"/proc/{p}").exists())
    stale = f"tcvpn-s-{dead_pid}-1"
    subprocess.run(["ip", "netns", "add", stale], check=True)
    try:
        with VpnLab.open(tmp_path) as lab:
            assert not (NETNS_DIR / stale).exists()
            assert (NETNS_DIR / lab.server_ns).exists()
            assert (NETNS_DIR / lab.client_ns).exists()
            assert str(os.getpid()) in lab.server_ns
        assert not (NETNS_DIR / lab.server_ns).exists()
        assert not (NETNS_DIR / lab.client_ns).exists()
    finally:
        if (NETNS_DIR / stale).exists():
            subprocess.run(["ip", "netns", "delete", stale], check=False)
