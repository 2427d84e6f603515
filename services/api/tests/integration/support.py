"""What the api's PostgreSQL tests share: a migrated database to seed, and a way to seed it
(rows of any table; VPN device certificates through ``tc_db.vpn``).

Each of them seeded its database with its own copy of the same insert and time-zone code.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import psycopg
from psycopg import sql

from tc_common.events.vpn import CertificateState, RevocationReason
from tc_db import apply_migrations_sync, vpn


@contextmanager
def seeding(database_url: str) -> Iterator[psycopg.Connection[Any]]:
    """An autocommit connection to the database at ``database_url``, migrated, whose later
    sessions run in New York time: a server in another time zone must still yield UTC from
    the api."""
    apply_migrations_sync(database_url)
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("ALTER DATABASE {} SET timezone = 'America/New_York'").format(
                sql.Identifier(conn.info.dbname)
            )
        )
        yield conn


def insert_rows(conn: psycopg.Connection[Any], table: str, rows: list[dict[str, Any]]) -> None:
    """Insert ``rows`` (column name to value, the same columns in each) into ``table``."""
    columns = list(rows[0])
    with conn.cursor() as cur:
        cur.executemany(
            sql.SQL("INSERT INTO {} ({}) VALUES ({})").format(
                sql.Identifier(table),
                sql.SQL(", ").join(map(sql.Identifier, columns)),
                sql.SQL(", ").join(sql.Placeholder(c) for c in columns),
            ),
            rows,
        )


def device_row(
    account_id: UUID,
    device_name: str,
    serial_hex: str,
    issued_at: datetime,
    state: CertificateState = "issued",
    reason: RevocationReason | None = None,
    *,
    valid_for: timedelta = timedelta(days=365),
) -> vpn.DeviceRow:
    """A device certificate as the provisioner records it; the api reads neither the CN nor
    the sealed profile, so a dummy one stands in (none once revoked, as the table demands)."""
    return vpn.DeviceRow(
        serial_hex=serial_hex,
        authority_id=UUID(int=0),  # replaced by the stored authority's
        account_id=account_id,
        request_id=None,
        device_name=device_name,
        common_name=f"{device_name}-{serial_hex}"[:64],
        issued_at=issued_at,
        not_after=issued_at + valid_for,
        state=state,
        state_changed_at=issued_at,
        reason=reason,
        replaces_serial_hex=None,
        profile_sealed=None if state == "revoked" else b"dummy sealed profile",
    )


async def insert_devices(database_url: str, devices: list[vpn.DeviceRow]) -> None:
    """Insert ``devices`` (their accounts exist), under the VPN authority, created with dummy
    PEM text and sealed bytes if there is none yet: nothing in the api reads them."""
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        authority = await vpn.insert_authority(
            conn,
            vpn.AuthorityRow(
                authority_id=uuid4(),
                ca_cert_pem="dummy CA certificate",
                ca_key_sealed=b"dummy sealed CA key",
                server_common_name="vpn.example.test",
                server_cert_pem="dummy server certificate",
                server_key_sealed=b"dummy sealed server key",
                tls_crypt_v2_server_key_sealed=b"dummy sealed tls-crypt-v2 key",
                crl_number=0,
                crl_pem=None,
                crl_this_update=None,
                crl_next_update=None,
                created_at=min(d.issued_at for d in devices),
            ),
        )
        for device in devices:
            await vpn.insert_device(conn, replace(device, authority_id=authority.authority_id))
