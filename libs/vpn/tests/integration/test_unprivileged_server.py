"""The OpenVPN server as the deployment runs it (the Dockerfile's ``openvpn`` target, compose's
``openvpn`` service, the api pods' ``openvpn`` sidecar): as the services' uid 10001, not root,
with one capability, NET_ADMIN, which the binary carries as a file capability
(``setcap cap_net_admin+ep``) and the container's bounding set allows; its directory (server
files, CRL, management socket) owned by that uid with mode 0700, shared with the VPN agent,
which runs as the same uid.

A copy of the installed openvpn gets the file capability here (the system binary is left
alone), and a tun node of our own with mode 0666 stands in for the host's (udev makes
/dev/net/tun 0666; the container runtime passes it through). Needs root to set this up.
"""

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tc_testkit.vpn import (
    CONNECTED,
    VpnDeployment,
    VpnLab,
    http_get_in_netns,
    listening_socket_in_netns,
    peer_echo_app,
    serve_asgi,
)

pytestmark = pytest.mark.integration

NOW = datetime.now(UTC).replace(microsecond=0)
SERVICE_UID = 10001
API_PORT = 8000
AS_SERVICE_USER = [
    "setpriv",
    f"--reuid={SERVICE_UID}",
    f"--regid={SERVICE_UID}",
    "--clear-groups",
    "--bounding-set=-all,+net_admin",
    "--inh-caps=-all",
]


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is missing (setcap: libcap2-bin, setpriv: util-linux)")
    return path


@pytest.fixture
def server_dir(openvpn: str) -> Iterator[tuple[VpnLab, VpnDeployment, Path]]:
    if os.geteuid() != 0:
        pytest.fail("this test needs root (network namespaces, setcap, a tun node)")
    _tool("setpriv")
    # Not under pytest's tmp_path, whose parents only root may enter.
    base = Path(tempfile.mkdtemp(prefix="tc-vpn-unprivileged-"))
    try:
        os.chmod(base, 0o755)
        binary = base / "openvpn"
        shutil.copy(openvpn, binary)
        subprocess.run([_tool("setcap"), "cap_net_admin+ep", str(binary)], check=True)
        tun = base / "tun"
        os.mknod(tun, 0o20666, os.makedev(10, 200))
        os.chmod(tun, 0o666)
        with VpnLab.open(base / "lab") as lab:
            vpn = VpnDeployment.create(lab, base / "run", NOW, verify_hook=None)
            for path in [vpn.directory, *vpn.directory.rglob("*")]:
                os.chown(path, SERVICE_UID, SERVICE_UID)
            os.chmod(vpn.directory, 0o700)
            yield lab, vpn, base
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_the_server_runs_as_the_service_user_with_only_net_admin_and_tunnels_to_the_api(
    server_dir: tuple[VpnLab, VpnDeployment, Path],
) -> None:
    lab, vpn, base = server_dir
    log = base / "server.log"
    command = [
        "ip", "netns", "exec", lab.server_ns, *AS_SERVICE_USER,
        str(base / "openvpn"), "--config", str(vpn.directory / "server.conf"),
        "--dev-node", str(base / "tun"),
    ]  # fmt: skip
    with log.open("wb") as out:
        server = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=out, stderr=out)
    try:
        deadline = time.monotonic() + 10
        while CONNECTED.search(log.read_text()) is None:
            assert server.poll() is None, log.read_text()[-2000:]
            assert time.monotonic() < deadline, log.read_text()[-2000:]
            time.sleep(0.1)
        # `ip netns exec` and setpriv exec in place: the PID is openvpn's.
        assert Path(f"/proc/{server.pid}/exe").resolve().name == "openvpn"
        proc = dict(
            line.split(":\t", 1)
            for line in Path(f"/proc/{server.pid}/status").read_text().splitlines()
            if ":\t" in line
        )
        tun0 = subprocess.run(
            ["ip", "-n", lab.server_ns, "-o", "-4", "addr", "show", "dev", "tun0"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        socket_owner = (vpn.directory / "management.sock").stat().st_uid

        # uid 10001, and of all capabilities only NET_ADMIN (bit 12).
        assert proc["Uid"].split()[:2] == [str(SERVICE_UID)] * 2
        assert int(proc["CapEff"], 16) == 1 << 12
        assert f"inet {vpn.tunnel_address}/24" in tun0
        assert socket_owner == SERVICE_UID

        sock = listening_socket_in_netns(lab.server_ns, str(vpn.tunnel_address), API_PORT)
        with serve_asgi(sock, peer_echo_app()):
            alice = vpn.issue_device("alice", NOW)
            client = vpn.connect(alice)
            client.wait_for_log(CONNECTED)
            answer = http_get_in_netns(lab.client_ns, str(vpn.tunnel_address), API_PORT)
            # The agent's side, as the same uid: the management socket answers it.
            agent = subprocess.run(
                [*AS_SERVICE_USER[:4], sys.executable, "-c", _STATUS, str(vpn.directory)],
                capture_output=True,
                text=True,
                timeout=30,
            )
            client.stop()

        assert answer[0] == 200
        assert agent.returncode == 0, agent.stderr[-2000:]
        assert alice.common_name in agent.stdout
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(5)


_STATUS = """
import asyncio, sys
from pathlib import Path
from tc_vpn.management import ManagementClient

async def main() -> None:
    async with ManagementClient(Path(sys.argv[1]) / "management.sock") as client:
        print(await client.status())

asyncio.run(main())
"""
