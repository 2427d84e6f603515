"""What the agent touches: the server's files and its management interface."""

import asyncio
import logging
from pathlib import Path

from tc_common.events import VpnCrlPublished
from tc_vpn.management import ManagementClient, ManagementError
from tc_vpn.revocation import write_crl, write_deny_list

CRL_FILE = "crl.pem"
DENY_LIST_FILE = "revoked-serials.txt"

log = logging.getLogger(__name__)


class ServerFiles:
    """The CRL and the deny list in the server's directory, never older than what was there."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory
        self.crl_number = 0
        self._listed: frozenset[str] = frozenset()
        self._changed = asyncio.Condition()

    def apply(self, crl: VpnCrlPublished) -> bool:
        """Write ``crl`` unless a newer one was written; whether it was written. The deny list
        first: the hook refuses a revoked device before TLS from then on, and the CRL (re-read
        by the server at its next handshake) refuses it too."""
        if crl.crl_number < self.crl_number:
            return False
        write_deny_list(
            self._directory / DENY_LIST_FILE, (int(s, 16) for s in crl.revoked_serials_hex)
        )
        write_crl(self._directory / CRL_FILE, crl.crl_pem.encode("ascii"))
        self.crl_number = crl.crl_number
        self._listed = frozenset(crl.revoked_serials_hex)
        return True

    async def applied(self, crl: VpnCrlPublished) -> bool:
        """``apply``, then wake whoever waits for a serial to be listed."""
        written = self.apply(crl)
        async with self._changed:
            self._changed.notify_all()
        return written

    async def wait_listed(self, serial_hex: str, timeout_s: float) -> bool:
        """Whether ``serial_hex`` is in the files written, waiting up to ``timeout_s`` for a
        CRL that lists it: a session ended before the server refuses the device would be
        reconnected at once (the CRL and the revocation come on two topics, in any order)."""
        async with self._changed:
            try:
                async with asyncio.timeout(timeout_s):
                    await self._changed.wait_for(lambda: serial_hex in self._listed)
            except TimeoutError:
                return False
        return True


class ServerSessions:
    """Ends sessions through the management socket (one connection per command batch)."""

    def __init__(self, socket_path: Path, *, timeout_s: float) -> None:
        self._path = socket_path
        self._timeout_s = timeout_s

    async def disconnect(self, common_name: str) -> int:
        """End every session of ``common_name``; raises ``ManagementError`` when the server is
        not reachable (the revocation is then retried: its session must not outlive it)."""
        async with ManagementClient(self._path, timeout_s=self._timeout_s) as management:
            return await management.disconnect_common_name(common_name)

    async def ping(self) -> bool:
        try:
            async with ManagementClient(self._path, timeout_s=self._timeout_s):
                return True
        except ManagementError:
            return False
