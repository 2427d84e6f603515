"""The management client reads ``status 3`` as OpenVPN 2.6 writes it, keeps real-time
notifications out of command replies, and fails clearly when the server does not answer."""

import asyncio
import re
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from tc_vpn.management import (
    ConnectedClient,
    ManagementClient,
    ManagementCommandError,
    ManagementError,
    parse_status,
)

# Recorded from openvpn 2.6.14 with one device connected (the harness's namespaces).
STATUS_3 = [
    "TITLE\tOpenVPN 2.6.14 x86_64-pc-linux-gnu [SSL (OpenSSL)] [LZO] [LZ4] [EPOLL] [PKCS11]"
    " [MH/PKTINFO] [AEAD] [DCO]",
    "TIME\t2026-12-06 03:54:14\t1796529254",
    "HEADER\tCLIENT_LIST\tCommon Name\tReal Address\tVirtual Address\tVirtual IPv6 Address"
    "\tBytes Received\tBytes Sent\tConnected Since\tConnected Since (time_t)\tUsername"
    "\tClient ID\tPeer ID\tData Channel Cipher",
    "CLIENT_LIST\t0f3c6d2e-4b1a-4c8e-9d7f-2a5b8c1e6f90.alice\t198.18.255.2:46566\t10.8.0.2\t"
    "\t2687\t2316\t2026-12-06 03:54:14\t1796529254\tUNDEF\t0\t0\tAES-256-GCM",
    "HEADER\tROUTING_TABLE\tVirtual Address\tCommon Name\tReal Address\tLast Ref"
    "\tLast Ref (time_t)",
    "ROUTING_TABLE\t10.8.0.2\t0f3c6d2e-4b1a-4c8e-9d7f-2a5b8c1e6f90.alice\t198.18.255.2:46566"
    "\t2026-12-06 03:54:14\t1796529254",
    "GLOBAL_STATS\tMax bcast/mcast queue length\t0",
    "GLOBAL_STATS\tdco_enabled\t0",
]
ALICE = ConnectedClient(
    common_name="0f3c6d2e-4b1a-4c8e-9d7f-2a5b8c1e6f90.alice",
    real_address="198.18.255.2:46566",
    virtual_address="10.8.0.2",
    client_id=0,
)
BANNER = ">INFO:OpenVPN Management Interface Version 5 -- type 'help' for more info"


class TestParseStatus:
    def test_connected_client_is_read_from_openvpn_26_output(self) -> None:
        assert parse_status(STATUS_3) == [ALICE]

    def test_no_client_connected_is_an_empty_list(self) -> None:
        assert parse_status([line for line in STATUS_3 if not line.startswith("CLIENT_LIST")]) == []

    def test_columns_follow_the_header_when_it_moves_them(self) -> None:
        lines = [
            "HEADER\tCLIENT_LIST\tClient ID\tCommon Name\tVirtual Address\tReal Address",
            "CLIENT_LIST\t7\tbob\t10.8.0.3\t198.18.255.2:1",
        ]
        assert parse_status(lines) == [ConnectedClient("bob", "198.18.255.2:1", "10.8.0.3", 7)]

    def test_without_a_header_the_26_columns_are_used(self) -> None:
        assert parse_status([STATUS_3[3]]) == [ALICE]

    def test_garbled_client_line_is_an_error_not_a_guess(self) -> None:
        with pytest.raises(ManagementError, match="short CLIENT_LIST"):
            parse_status(["CLIENT_LIST\talice\t1.2.3.4:5"])
        with pytest.raises(ManagementError, match="not a number"):
            parse_status([STATUS_3[3].replace("UNDEF\t0", "UNDEF\tx")])


Script = Callable[[str], list[str]]


@pytest.fixture
async def fake_server(tmp_path: Path) -> AsyncIterator[tuple[Path, list[str], list[Script]]]:
    """A unix-socket server that greets like OpenVPN and answers each command line with what
    the test's script returns; it records the commands it received."""
    path = tmp_path / "mgmt.sock"
    received: list[str] = []
    script: list[Script] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b">HOLD:Waiting for hold release:0\r\n" + BANNER.encode() + b"\r\n")
        while line := await reader.readline():
            command = line.decode().strip()
            received.append(command)
            for reply in script[0](command):
                writer.write(reply.encode() + b"\r\n")
            await writer.drain()
        writer.close()

    server = await asyncio.start_unix_server(handle, path=str(path))
    yield path, received, script
    server.close()
    await server.wait_closed()


def _openvpn_like(command: str) -> list[str]:
    if command == "status 3":
        # A notification in the middle of the reply, as a busy server sends it.
        return [*STATUS_3[:3], ">BYTECOUNT_CLI:0,10,20", *STATUS_3[3:], "END"]
    if command == "client-kill 0 HALT":
        return [">CLIENT:DISCONNECT,0", "SUCCESS: client-kill command succeeded"]
    return ["ERROR: client-kill command failed"]


class TestManagementClient:
    async def test_status_lists_the_connected_clients_despite_notifications(
        self, fake_server: tuple[Path, list[str], list[Script]]
    ) -> None:
        path, received, script = fake_server
        script.append(_openvpn_like)
        async with ManagementClient(path) as management:
            assert await management.status() == [ALICE]
            assert management.notifications == [
                ">HOLD:Waiting for hold release:0",
                ">BYTECOUNT_CLI:0,10,20",
            ]
        assert received == ["status 3"]

    async def test_disconnecting_a_common_name_halts_each_of_its_sessions(
        self, fake_server: tuple[Path, list[str], list[Script]]
    ) -> None:
        path, received, script = fake_server
        script.append(_openvpn_like)
        async with ManagementClient(path) as management:
            assert await management.disconnect_common_name(ALICE.common_name) == 1
            assert await management.disconnect_common_name("someone-else") == 0
        assert received == ["status 3", "client-kill 0 HALT", "status 3"]

    async def test_killing_an_unknown_client_is_a_command_error(
        self, fake_server: tuple[Path, list[str], list[Script]]
    ) -> None:
        path, _, script = fake_server
        script.append(_openvpn_like)
        async with ManagementClient(path) as management:
            with pytest.raises(ManagementCommandError, match="client-kill command failed"):
                await management.kill(42)

    async def test_silent_server_times_out_naming_the_command(
        self, fake_server: tuple[Path, list[str], list[Script]]
    ) -> None:
        path, _, script = fake_server
        script.append(lambda command: [])
        async with ManagementClient(path, timeout_s=0.2) as management:
            with pytest.raises(ManagementError, match=re.escape("no reply to 'status 3' in 0.2s")):
                await management.status()

    async def test_missing_socket_is_a_clear_error(self, tmp_path: Path) -> None:
        with pytest.raises(ManagementError, match="cannot connect"):
            async with ManagementClient(tmp_path / "absent.sock"):
                pass

    async def test_command_with_a_newline_is_refused(
        self, fake_server: tuple[Path, list[str], list[Script]]
    ) -> None:
        path, received, script = fake_server
        script.append(_openvpn_like)
        async with ManagementClient(path) as management:
            with pytest.raises(ValueError, match="one line"):
                await management.command("status 3\nsignal SIGTERM")
        assert received == []
