"""GDPR export: everything the database holds of one account, as a zip of open formats.

The archive holds ``account.json`` (the account), one CSV per table (a header row, then one row
per record; times in ISO 8601 UTC, JSON columns as JSON text) and ``manifest.json``: what each
file is, its columns, how many rows and its SHA-256, so the customer (or a court) can check the
archive is whole. Rows are read through a server-side cursor and written straight into the zip,
so an account with years of telemetry is exported in bounded memory; ``progress`` is told after
every batch (table, rows written, rows in the table) so a caller can show it.

What is left out, and why: API keys' digests, the Tessie token's ciphertext and the devices'
sealed VPN profiles (secrets that are no data about the customer; their metadata are in),
other accounts' rows.
"""

import csv
import hashlib
import io
import json
import zipfile
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import IO, Any
from uuid import UUID

from psycopg import AsyncConnection, sql
from psycopg.pq import TransactionStatus

from tc_db.accounts import AccountNotFoundError

FORMAT_VERSION = 1
BATCH_ROWS = 5_000

Progress = Callable[[str, int, int], None]
"""(file name, rows written so far, rows in that file)"""


@dataclass(frozen=True)
class ExportPart:
    """One CSV of the archive: rows of ``table`` selected by ``where`` (``%(vehicles)s``,
    ``%(account_id)s`` and ``%(email)s`` are bound), in ``order``."""

    name: str
    table: str
    where: str
    order: str
    description: str
    columns: str = "*"


VEHICLE = "vehicle_id = ANY(%(vehicles)s)"
PARTS: tuple[ExportPart, ...] = (
    ExportPart(
        "vehicles.csv",
        "account_vehicles",
        "account_id = %(account_id)s",
        "vehicle_id",
        "the account's vehicles (VIN) and when each was linked",
    ),
    ExportPart(
        "api_keys.csv",
        "api_keys",
        "account_id = %(account_id)s",
        "issued_at, key_id",
        "the account's API keys: id, label, issued, revoked, last used (never the key)",
        columns="key_id, label, issued_at, revoked_at, last_used_at",
    ),
    ExportPart(
        "tessie_token.csv",
        "tessie_tokens",
        "account_id = %(account_id)s",
        "token_id",
        "the Tessie token registered: id, the VINs Tessie listed, when registered or revoked "
        "(never the token, not even encrypted)",
        columns="token_id, vehicle_ids, registered_at, updated_at, revoked_at",
    ),
    ExportPart(
        "provisioning.csv",
        "provisioning_decisions",
        "outcome = 'accepted' AND email_casefold = %(email)s",
        "decided_at, request_id",
        "the devices the account was admitted with, and when",
        columns="request_id, decided_at, reason, device_casefold AS device",
    ),
    ExportPart(
        "vpn_devices.csv",
        "vpn_devices",
        "account_id = %(account_id)s",
        "issued_at, serial_hex",
        "the devices' VPN certificates: name, serial, validity, state and why (never the "
        "profile or its private key)",
        columns="device_name, serial_hex, common_name, issued_at, not_after, state, "
        "state_changed_at, reason, replaces_serial_hex",
    ),
    ExportPart(
        "vpn_profile_emails.csv",
        "vpn_deliveries",
        "serial_hex IN (SELECT serial_hex FROM vpn_devices WHERE account_id = %(account_id)s)",
        "requested_at, delivery_id",
        "each emailing of a device's profile: when asked, attempts, delivered or failed",
        columns="delivery_id, serial_hex, requested_at, attempts, last_attempt_at, "
        "delivered_at, failed_at, last_error",
    ),
    ExportPart(
        "telemetry.csv",
        "telemetry",
        VEHICLE,
        "vehicle_id, sampled_at",
        "every telemetry sample of the vehicles (metric units, UTC)",
    ),
    ExportPart(
        "vehicle_activity.csv",
        "vehicle_activity",
        VEHICLE,
        "vehicle_id",
        "what each vehicle was last seen doing",
    ),
    ExportPart("drives.csv", "drives", VEHICLE, "vehicle_id, started_at", "every drive"),
    ExportPart("charges.csv", "charges", VEHICLE, "vehicle_id, started_at", "every charge"),
    ExportPart(
        "behaviour_profiles.csv",
        "behaviour_profile_history",
        VEHICLE,
        "vehicle_id, computed_at",
        "every weekly-rhythm profile learned from the vehicles",
    ),
    ExportPart(
        "charge_plans.csv",
        "charge_plan_history",
        VEHICLE,
        "vehicle_id, issued_at",
        "every charge plan issued for the vehicles",
    ),
)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, default=str)
    if isinstance(value, UUID | Decimal):
        return str(value)
    return str(value)


class _CsvMember:
    """Writes CSV rows into one archive member, counting and hashing the bytes."""

    def __init__(self, member: IO[bytes]) -> None:
        self.member = member
        self.sha256 = hashlib.sha256()
        self.bytes = 0

    def rows(self, rows: list[list[str]]) -> None:
        text = io.StringIO(newline="")
        csv.writer(text).writerows(rows)
        chunk = text.getvalue().encode("utf-8")
        self.sha256.update(chunk)
        self.bytes += len(chunk)
        self.member.write(chunk)


class _Chunks:
    """A write-only, non-seekable sink the zip writes into; ``take`` hands over what came."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def write(self, data: bytes, /) -> int:
        self._parts.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass

    def take(self) -> bytes:
        taken, self._parts = b"".join(self._parts), []
        return taken


class AccountArchive:
    """The account's archive as a stream of zip bytes (``chunks``), for a file or an HTTP
    response alike; ``manifest`` once the stream ended.

    Read in one REPEATABLE READ, read-only transaction: every file shows the same moment.
    ``open`` checks the account exists before a byte is produced, so a caller can still answer
    404 instead of a broken download."""

    def __init__(
        self,
        conn: AsyncConnection[Any],
        account_id: UUID,
        *,
        at: datetime,
        progress: Progress | None = None,
    ) -> None:
        self._conn, self._account_id, self._at, self._progress = conn, account_id, at, progress
        self.manifest: dict[str, Any] | None = None
        self._account: dict[str, Any] | None = None
        self._params: dict[str, Any] = {}

    async def open(self) -> None:
        """Begin the snapshot and read the account; AccountNotFoundError if there is none."""
        conn = self._conn
        if conn.info.transaction_status != TransactionStatus.IDLE:
            await conn.commit()
        if conn.autocommit:
            await conn.execute(b"BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        else:  # psycopg begins the transaction itself; this is its first statement
            await conn.execute(b"SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        cur = await conn.execute(
            b"SELECT email, email_casefold, state, created_at, changed_at "
            b"FROM accounts WHERE account_id = %s",
            (self._account_id,),
        )
        row = await cur.fetchone()
        if row is None:
            await self._end()
            raise AccountNotFoundError(f"no account {self._account_id}")
        email, email_casefold, state, created_at, changed_at = row
        cur = await conn.execute(
            b"SELECT vehicle_id FROM account_vehicles WHERE account_id = %s ORDER BY vehicle_id",
            (self._account_id,),
        )
        vehicles = [v for (v,) in await cur.fetchall()]
        self._params = {
            "account_id": self._account_id,
            "vehicles": vehicles,
            "email": email_casefold,
        }
        self._account = {
            "account_id": str(self._account_id),
            "email": email,
            "state": state,
            "created_at": created_at.isoformat(),
            "changed_at": changed_at.isoformat(),
            "vehicle_ids": vehicles,
        }

    async def chunks(self) -> AsyncIterator[bytes]:
        """The zip, a batch of rows at a time; ends the snapshot's transaction."""
        if self._account is None:
            await self.open()
        assert self._account is not None
        sink = _Chunks()
        files: list[dict[str, Any]] = []
        try:
            with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED) as archive:
                files.append(_write_json(archive, "account.json", self._account, "the account"))
                for part in PARTS:
                    async for entry in _write_part(
                        self._conn, archive, part, self._params, self._progress
                    ):
                        if entry is not None:
                            files.append(entry)
                        if chunk := sink.take():
                            yield chunk
                manifest = {
                    "format_version": FORMAT_VERSION,
                    "account_id": str(self._account_id),
                    "generated_at": self._at.isoformat(),
                    "files": files,
                    "not_included": [
                        "API keys' digests and the Tessie token's ciphertext (secrets, not "
                        "data about you); the key and token metadata are in api_keys.csv and "
                        "tessie_token.csv",
                        "the devices' VPN profiles and private keys (they were emailed to you; "
                        "the certificates' details are in vpn_devices.csv)",
                    ],
                }
                archive.writestr("manifest.json", json.dumps(manifest, indent=2, sort_keys=True))
            self.manifest = manifest
            yield sink.take()
        finally:
            await self._end()

    async def _end(self) -> None:
        # Read only: nothing to keep.
        if self._conn.autocommit:
            await self._conn.execute(b"ROLLBACK")
        else:
            await self._conn.rollback()


async def export_account(
    conn: AsyncConnection[Any],
    account_id: UUID,
    destination: Path,
    *,
    at: datetime,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Write the account's archive to ``destination`` (a new zip file); returns its manifest."""
    archive = AccountArchive(conn, account_id, at=at, progress=progress)
    await archive.open()
    with destination.open("xb") as file:
        async for chunk in archive.chunks():
            file.write(chunk)
    assert archive.manifest is not None
    return archive.manifest


def _write_json(
    archive: zipfile.ZipFile, name: str, value: Any, description: str
) -> dict[str, Any]:
    data = json.dumps(value, indent=2, sort_keys=True).encode()
    archive.writestr(name, data)
    return {
        "name": name,
        "description": description,
        "rows": 1,
        "bytes": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
    }


async def _write_part(
    conn: AsyncConnection[Any],
    archive: zipfile.ZipFile,
    part: ExportPart,
    params: dict[str, Any],
    progress: Progress | None,
) -> AsyncIterator[dict[str, Any] | None]:
    """Write one CSV member, yielding None after each batch (the bytes can go out) and the
    member's manifest entry at the end."""
    table = sql.Identifier(part.table)
    where = sql.SQL(part.where)  # this module's constants, never input
    count = await conn.execute(
        sql.SQL("SELECT count(*) FROM {} WHERE {}").format(table, where), params
    )
    total_row = await count.fetchone()
    total = int(total_row[0]) if total_row else 0
    query = sql.SQL("SELECT {} FROM {} WHERE {} ORDER BY {}").format(
        sql.SQL(part.columns),
        table,
        where,
        sql.SQL(part.order),
    )
    written = 0
    columns: list[str] = []
    with archive.open(part.name, "w") as member:
        sink = _CsvMember(member)
        # A named cursor: the server holds the result, this process a batch at a time.
        async with conn.cursor(name=f"export_{part.table}") as cur:
            await cur.execute(query, params)
            columns = [d.name for d in cur.description or ()]
            sink.rows([columns])
            while batch := await cur.fetchmany(BATCH_ROWS):
                sink.rows([[_cell(v) for v in r] for r in batch])
                written += len(batch)
                if progress is not None:
                    progress(part.name, written, total)
                yield None
    if progress is not None and written == 0:
        progress(part.name, 0, 0)
    yield {
        "name": part.name,
        "description": part.description,
        "columns": columns,
        "rows": written,
        "bytes": sink.bytes,
        "sha256": sink.sha256.hexdigest(),
    }
