"""An asyncio client of OpenVPN's management interface on a unix socket.

What we need from it: who is connected (``status 3``) and ending a session
(``client-kill <CID> HALT``). Revoking a certificate does not end established sessions (the
data channel keeps its key; see ``revocation``), so revoking a device means: write the CRL and
the deny list, then ``disconnect_common_name``. ``HALT`` (rather than the default ``RESTART``)
tells the client to exit instead of reconnecting; over UDP, a plain ``kill <cn>`` is not
noticed by the client until its ping-restart (60 s).

Protocol: on connect the server greets with a ``>INFO:`` line. Replies are lines ending in
``\\r\\n``; single-line commands answer ``SUCCESS: ...`` or ``ERROR: ...``, ``status`` answers
lines up to ``END``. Real-time notifications are lines starting with ``>`` and may arrive at any
moment, also between the lines of a reply: they are set aside (``notifications``), never taken
for a reply. The server serves one management client at a time: keep sessions short.
"""

import asyncio
import contextlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

# Columns of status 3's CLIENT_LIST lines (0-based, the CLIENT_LIST tag is 0), used when the
# HEADER line is missing. Common Name is column 2 and Client ID column 11, counted from 1.
_DEFAULT_COLUMNS = {
    "Common Name": 1,
    "Real Address": 2,
    "Virtual Address": 3,
    "Client ID": 10,
}
DEFAULT_TIMEOUT_S = 5.0


class ManagementError(Exception):
    """The management interface could not be reached, did not answer in time, or refused."""


class ManagementCommandError(ManagementError):
    """The server answered a command with ``ERROR: ...``."""


@dataclass(frozen=True)
class ConnectedClient:
    """One connected session, as ``status 3`` lists it."""

    common_name: str
    real_address: str
    virtual_address: str
    client_id: int


def parse_status(lines: Iterable[str]) -> list[ConnectedClient]:
    """The sessions in ``status 3`` output (tab-separated). Columns are found by the HEADER
    line's names when present, else at their 2.6 positions."""
    columns = dict(_DEFAULT_COLUMNS)
    clients = []
    for line in lines:
        fields = line.rstrip("\r\n").split("\t")
        if fields[:2] == ["HEADER", "CLIENT_LIST"]:
            names = fields[1:]
            columns = {name: names.index(name) for name in _DEFAULT_COLUMNS if name in names}
            missing = set(_DEFAULT_COLUMNS) - set(columns)
            if missing:
                raise ManagementError(f"status header lacks columns {sorted(missing)}")
        elif fields[0] == "CLIENT_LIST":
            if len(fields) <= max(columns.values()):
                raise ManagementError(f"short CLIENT_LIST line: {line!r}")
            try:
                client_id = int(fields[columns["Client ID"]])
            except ValueError:
                raise ManagementError(f"client id is not a number in {line!r}") from None
            clients.append(
                ConnectedClient(
                    common_name=fields[columns["Common Name"]],
                    real_address=fields[columns["Real Address"]],
                    virtual_address=fields[columns["Virtual Address"]],
                    client_id=client_id,
                )
            )
    return clients


class ManagementClient:
    """One session with the management socket: ``async with ManagementClient(path) as m``."""

    def __init__(self, socket_path: Path, *, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        self._path = socket_path
        self._timeout_s = timeout_s
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._lock = asyncio.Lock()
        self.notifications: list[str] = []

    async def __aenter__(self) -> "ManagementClient":
        await self.connect()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def connect(self) -> None:
        try:
            async with asyncio.timeout(self._timeout_s):
                self._reader, self._writer = await asyncio.open_unix_connection(str(self._path))
                # The greeting: the server is ready for commands once it is there.
                while not (line := await self._read_line()).startswith(">INFO:"):
                    self.notifications.append(line)
        except TimeoutError:
            await self.close()
            raise ManagementError(f"no greeting from {self._path} in {self._timeout_s}s") from None
        except OSError as error:
            await self.close()
            raise ManagementError(f"cannot connect to {self._path}: {error}") from error

    async def close(self) -> None:
        writer, self._writer, self._reader = self._writer, None, None
        if writer is not None:
            writer.close()
            # The server may have gone away first: nothing left to close then.
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    async def status(self) -> list[ConnectedClient]:
        return parse_status(await self.command("status 3", until_end=True))

    async def kill(self, client_id: int) -> None:
        """End session ``client_id`` and tell the client to exit (not to reconnect)."""
        await self.command(f"client-kill {int(client_id)} HALT")

    async def disconnect_common_name(self, common_name: str) -> int:
        """End every session of ``common_name``; how many were ended."""
        ended = 0
        for client in await self.status():
            if client.common_name == common_name:
                try:
                    await self.kill(client.client_id)
                except ManagementCommandError:
                    continue  # it left between status and kill
                ended += 1
        return ended

    async def command(self, command: str, *, until_end: bool = False) -> list[str]:
        """Send one command; its reply lines (without END), ``ManagementCommandError`` on
        ``ERROR:``."""
        if any(c in command for c in "\r\n"):
            raise ValueError("a management command is one line")
        if self._writer is None:
            raise ManagementError("not connected")
        async with self._lock:
            try:
                async with asyncio.timeout(self._timeout_s):
                    self._writer.write(command.encode() + b"\n")
                    await self._writer.drain()
                    return await self._reply(command, until_end)
            except TimeoutError:
                raise ManagementError(
                    f"no reply to {command!r} in {self._timeout_s}s from {self._path}"
                ) from None
            except (OSError, EOFError) as error:
                raise ManagementError(f"{command!r}: connection lost: {error}") from error

    async def _reply(self, command: str, until_end: bool) -> list[str]:
        lines: list[str] = []
        while True:
            line = await self._read_line()
            if line.startswith(">"):
                self.notifications.append(line)
            elif line.startswith("ERROR:") and not lines:
                raise ManagementCommandError(f"{command!r}: {line}")
            elif until_end:
                if line == "END":
                    return lines
                lines.append(line)
            elif line.startswith("SUCCESS:"):
                return [line]
            else:
                raise ManagementError(f"unexpected reply to {command!r}: {line!r}")

    async def _read_line(self) -> str:
        assert self._reader is not None
        raw = await self._reader.readline()
        if not raw:
            raise EOFError("the server closed the management connection")
        return raw.decode("utf-8", errors="replace").rstrip("\r\n")
