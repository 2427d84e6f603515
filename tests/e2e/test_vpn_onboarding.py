"""Onboarding end to end, over a real OpenVPN tunnel (issue 12).

From an invitation to a working dashboard call, as the people involved do it: the operator
issues an invitation (``tc-admin invite``) and, once the customer is in, an API key; the
customer's request arrives, takes a seat, opens the account, and the provisioner emails the
device its profile (a real SMTP server here). The operator writes the server's files from the
provisioner (``tc_provisioner.server_config``) and runs OpenVPN 2.6 with them, the VPN agent
beside it. The device connects with the emailed profile from a network namespace of its own,
registers the Tessie token over the tunnel and reads its car's telemetry; the API answers on
the tunnel address only. Then the customer reports the device lost: its session ends within
seconds and it cannot connect again, also after a restart of the server.

Everything is real: the whole system as processes (tc_devstack), OpenVPN in two namespaces
this test creates and removes (tc_testkit.vpn), the API served inside the server's namespace on
the tunnel address, the SMTP server. Needs root (namespaces) and installs openvpn if missing.
"""

import asyncio
import base64
import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from asgi_lifespan import LifespanManager

from tc_api.main import create_app as create_api
from tc_api.settings import ApiSettings
from tc_common.events import ProvisioningRequested
from tc_common.events.provisioning import invitation_sha256
from tc_common.topics import PROVISIONING_REQUESTED_V2
from tc_devstack.stack import Stack, StackConfig
from tc_provisioner.server_config import CONFIG_FILE, MANAGEMENT_SOCKET, write_server_files
from tc_provisioner.settings import ProvisionerSettings
from tc_provisioner.vpn_agent.main import create_app as create_agent
from tc_provisioner.vpn_agent.settings import VpnAgentSettings
from tc_testkit.kafka import produce
from tc_testkit.moments import WEEKDAY_MORNING
from tc_testkit.smtp import SmtpServer, smtp_server
from tc_testkit.vpn import (
    CONNECTED,
    DATA_CHANNEL_AES_GCM,
    VpnLab,
    http_request_in_netns,
    listening_socket_in_netns,
    serve_asgi,
)
from tc_vpn import config

from .support import eventually

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

NEWCOMER = "NEWCOMER"
API_ADDRESS = "10.8.0.1"
API_PORT = 8000
DEVICE = "ada-phone"


def _ensure_openvpn() -> None:
    """The test installs openvpn as a new operator would, if this machine lacks it."""
    if shutil.which("openvpn"):
        return
    installed = subprocess.run(
        ["apt-get", "install", "-y", "-q", "openvpn"],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
        check=False,
    )
    assert installed.returncode == 0, f"apt-get install openvpn failed:\n{installed.stderr}"


def _admin(stack: Stack, *args: str) -> str:
    """tc-admin as the operator runs it; its standard output."""
    done = subprocess.run(
        [sys.executable, "-m", "tc_admin", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={
            **os.environ,
            "ADMIN_POSTGRES__URL": stack.database_url,
            "ADMIN_KAFKA__BOOTSTRAP_SERVERS": stack.bootstrap_servers,
        },
        check=False,
    )
    assert done.returncode == 0, f"tc-admin {' '.join(args)}: {done.stderr}"
    return done.stdout


def _provisioner_env(lab: VpnLab, smtp: SmtpServer, vault_key: str) -> dict[str, str]:
    return {
        # Devices reach the server at its veth address: the "public" host of this network.
        "PROVISIONER_VPN__PUBLIC_HOST": str(lab.server_address),
        "PROVISIONER_VPN__API_ADDRESS": API_ADDRESS,
        "PROVISIONER_VPN__API_PORT": str(API_PORT),
        "PROVISIONER_VPN__DELIVERY_POLL_S": "0.5",
        "PROVISIONER_VAULT__KEYS": json.dumps({"1": vault_key}),
        "PROVISIONER_VAULT__CURRENT_VERSION": "1",
        "PROVISIONER_SMTP__HOST": smtp.host,
        "PROVISIONER_SMTP__PORT": str(smtp.port),
        "PROVISIONER_SMTP__SECURITY": "none",
        "PROVISIONER_SMTP__FROM_ADDRESS": "access@teslaconnectivity.test",
    }


@contextlib.contextmanager
def _agent(settings: VpnAgentSettings) -> Iterator[None]:
    """The VPN agent in a thread of its own (its own event loop), until the block ends."""
    stop = asyncio.Event()  # set from this thread through the loop, never directly
    started = threading.Event()
    failure: list[BaseException] = []
    loop = asyncio.new_event_loop()

    async def run() -> None:
        try:
            async with LifespanManager(create_agent(settings), startup_timeout=60):
                started.set()
                await stop.wait()
        except BaseException as error:
            failure.append(error)
            started.set()

    thread = threading.Thread(target=lambda: loop.run_until_complete(run()), name="vpn-agent")
    thread.start()
    assert started.wait(90), "the VPN agent did not start in 90 s"
    assert not failure, f"the VPN agent did not start: {failure}"
    try:
        yield
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(30)


def _tunnel_request(
    lab: VpnLab, method: str, path: str, key: str, body: object | None = None
) -> tuple[int, object]:
    payload = json.dumps(body).encode() if body is not None else b""
    headers = {"X-API-Key": key}
    if body is not None:
        headers["Content-Type"] = "application/json"
    status, raw = http_request_in_netns(
        lab.client_ns, API_ADDRESS, API_PORT, method, path, headers=headers, body=payload,
        timeout_s=20,
    )  # fmt: skip
    return status, json.loads(raw) if raw else None


def test_an_invited_customer_connects_reads_telemetry_and_a_lost_device_is_cut_off(
    tmp_path: Path,
) -> None:
    _ensure_openvpn()
    with (
        VpnLab.open(tmp_path / "lab") as lab,
        smtp_server(tmp_path / "smtp") as smtp,
    ):
        # The provisioner's own keyring: the CA's and the profiles' keys are sealed by it.
        provisioner_key = base64.b64encode(os.urandom(32)).decode()
        config_ = StackConfig(
            run_dir=tmp_path / "stack",
            sim_vehicles=1,
            sim_accounts=((NEWCOMER, 1, 11),),
            poll_interval_s=5.0,
            keep_database=False,
            api_port=None,
            start_at=WEEKDAY_MORNING.at,
            extra_env=_provisioner_env(lab, smtp, provisioner_key),
        )
        with Stack(config_) as stack:
            _walk_the_path(stack, lab, smtp, tmp_path, provisioner_key)


def _walk_the_path(
    stack: Stack, lab: VpnLab, smtp: SmtpServer, tmp_path: Path, provisioner_key: str
) -> None:
    # 1. The operator issues an invitation; the customer's request takes a seat.
    invited = _admin(stack, "invite", "--label", "e2e")
    code = invited.splitlines()[1].strip()
    email = f"ada-{uuid.uuid4().hex[:6]}@example.org"
    request = ProvisioningRequested(
        request_id=uuid.uuid4(),
        requested_at=stack.clock.now(),
        email=email,
        device_name=DEVICE,
        invitation_sha256=invitation_sha256(code),
    )
    asyncio.run(produce(stack.bootstrap_servers, PROVISIONING_REQUESTED_V2, [request]))

    # 2. The profile arrives by email.
    eventually(lambda: any(email in m.rcpt_tos for m in smtp.received()), 90, "the profile email")
    (mail,) = [m for m in smtp.received() if email in m.rcpt_tos]
    (attachment,) = list(mail.message.iter_attachments())
    assert attachment.get_filename() == f"{DEVICE}.ovpn"
    content = attachment.get_content()
    profile = content if isinstance(content, str) else content.decode()
    profile_path = tmp_path / f"{DEVICE}.ovpn"
    profile_path.write_text(profile)
    assert f"remote {lab.server_address} 1194" in profile

    # 3. The operator installs the server's files, starts OpenVPN and the agent beside it.
    server_dir = tmp_path / "server"
    server_dir.mkdir()
    # The same settings as the running provisioner's, as the operator's shell would have them.
    settings = ProvisionerSettings(
        postgres={"url": stack.database_url},
        kafka={"bootstrap_servers": stack.bootstrap_servers},
        vpn={"public_host": str(lab.server_address), "api_address": API_ADDRESS},
        vault={"keys": {"1": provisioner_key}, "current_version": 1},
        smtp={
            "host": smtp.host,
            "port": smtp.port,
            "security": "none",
            "from_address": "access@teslaconnectivity.test",
        },
    )
    asyncio.run(
        write_server_files(
            settings,
            server_dir,
            server_dir=server_dir,
            verify_hook=config.verify_hook_command(server_dir / "revoked-serials.txt"),
        )
    )
    server = lab.start_openvpn(lab.server_ns, server_dir / CONFIG_FILE, "server")
    server.wait_for_log(CONNECTED, timeout_s=15)
    agent_settings = VpnAgentSettings(
        directory=server_dir,
        management_socket=server_dir / MANAGEMENT_SOCKET,
        agent_id=f"e2e-{uuid.uuid4().hex[:6]}",
        kafka={"bootstrap_servers": stack.bootstrap_servers},
        http={"port": 0},
    )

    # 4. The API listens on the tunnel address inside the server's namespace, nowhere else.
    api_settings = ApiSettings(
        postgres={"url": stack.database_url},
        kafka={"bootstrap_servers": stack.bootstrap_servers},
        api_keys=[stack.operator_key],
        vault={"keys": {"1": stack.vault_key}, "current_version": 1},
        tessie_base_url=stack.tessie_base_url,
        clock_offset_s=stack.clock_offset_s,
    )
    listener = listening_socket_in_netns(lab.server_ns, API_ADDRESS, API_PORT)
    with _agent(agent_settings), serve_asgi(listener, create_api(api_settings)):
        client = lab.start_openvpn(
            lab.client_ns, profile_path, "client", "--tls-exit", "--hand-window", "5"
        )
        client.wait_for_log(CONNECTED, timeout_s=15)
        client.wait_for_log(DATA_CHANNEL_AES_GCM, timeout_s=5)
        assert "VERIFY X509NAME OK" in client.log()

        # 5. The operator issues the customer's API key; the customer uses it over the tunnel.
        account_id = _account_of(stack, email)
        issued = _admin(stack, "issue-key", account_id, "--label", "dashboard")
        key = next(line for line in issued.splitlines() if line.startswith("tck_"))
        token = stack.sim_account_tokens[NEWCOMER]
        status, registered = _tunnel_request(
            lab, "PUT", "/v1/account/tessie-token", key, {"token": token}
        )
        assert status == 200, registered
        assert isinstance(registered, dict)
        (vin,) = registered["vehicle_ids"]

        def telemetry() -> bool:
            status, _ = _tunnel_request(lab, "GET", f"/v1/vehicles/{vin}/latest", key)
            return status == 200

        eventually(telemetry, 120, "the car's telemetry through the tunnel")

        # The API is on the tunnel address only: not on the server's veth address.
        with pytest.raises(ConnectionRefusedError):
            http_request_in_netns(lab.client_ns, str(lab.server_address), API_PORT, "GET", "/")

        # 6. The device is lost: the customer revokes it; its session ends within seconds.
        mark = client.mark()
        status, body = _tunnel_request(lab, "DELETE", f"/v1/account/devices/{DEVICE}", key)
        assert status == 202, body
        revoked_at = time.monotonic()
        client.wait_for_log(r"Halt command was pushed by server", since=mark, timeout_s=30)
        assert time.monotonic() - revoked_at < 15
        eventually(lambda: not client.running, 10, "the revoked client's exit")

        # And it is refused at its next connect (before TLS, by the deny list the agent wrote).
        server_mark = server.mark()
        again = lab.start_openvpn(
            lab.client_ns, profile_path, "client-again", "--tls-exit", "--hand-window", "5"
        )
        server.wait_for_log(
            re.compile(r"TLS CRYPT V2 VERIFY SCRIPT ERROR|certificate revoked"),
            since=server_mark,
            timeout_s=15,
        )
        assert not CONNECTED.search(again.log())
        again.kill()

        # A restart of the server keeps the revocation: it reads the files the agent wrote.
        server.stop()
        server = lab.start_openvpn(lab.server_ns, server_dir / CONFIG_FILE, "server-restarted")
        server.wait_for_log(CONNECTED, timeout_s=15)
        after_restart = lab.start_openvpn(
            lab.client_ns, profile_path, "client-after-restart", "--tls-exit", "--hand-window", "5"
        )
        server.wait_for_log(
            re.compile(r"TLS CRYPT V2 VERIFY SCRIPT ERROR|certificate revoked"), timeout_s=15
        )
        assert not CONNECTED.search(after_restart.log())
        after_restart.kill()


def _account_of(stack: Stack, email: str) -> str:
    def found() -> bool:
        with psycopg.connect(stack.database_url) as conn:
            return (
                conn.execute("SELECT 1 FROM accounts WHERE email = %s", (email,)).fetchone()
                is not None
            )

    eventually(found, 30, "the account")
    with psycopg.connect(stack.database_url) as conn:
        row = conn.execute("SELECT account_id FROM accounts WHERE email = %s", (email,)).fetchone()
    assert row is not None
    return str(row[0])
