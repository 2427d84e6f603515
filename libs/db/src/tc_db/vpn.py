"""The VPN's tables (migration 0014): the certificate authority, device certificates, deliveries.

Only the provisioner writes here (it alone holds the CA key); tc-admin reads (`devices`). Like
the other ``tc_db`` modules, every function works on the caller's connection (the caller owns
the transaction), takes the moment of a change as an argument, and stores private keys and
profiles only as ``tc_vault`` ciphertext (bytes of ``SealedToken.to_bytes()``).
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg import AsyncConnection
from psycopg.rows import dict_row

from tc_common.events.vpn import CertificateState, DeviceCertificateChanged, RevocationReason


@dataclass(frozen=True)
class AuthorityRow:
    authority_id: UUID
    ca_cert_pem: str
    ca_key_sealed: bytes
    server_common_name: str
    server_cert_pem: str
    server_key_sealed: bytes
    tls_crypt_v2_server_key_sealed: bytes
    crl_number: int
    crl_pem: str | None
    crl_this_update: datetime | None
    crl_next_update: datetime | None
    created_at: datetime


@dataclass(frozen=True)
class DeviceRow:
    serial_hex: str
    authority_id: UUID
    account_id: UUID
    request_id: UUID | None
    device_name: str
    common_name: str
    issued_at: datetime
    not_after: datetime
    state: CertificateState
    state_changed_at: datetime
    reason: RevocationReason | None
    replaces_serial_hex: str | None
    profile_sealed: bytes | None

    def event(self) -> DeviceCertificateChanged:
        return DeviceCertificateChanged(
            serial_hex=self.serial_hex,
            account_id=self.account_id,
            device_name=self.device_name,
            common_name=self.common_name,
            state=self.state,
            not_after=self.not_after,
            changed_at=self.state_changed_at,
            reason=self.reason,
            replaces_serial_hex=self.replaces_serial_hex,
        )


@dataclass(frozen=True)
class DeliveryRow:
    delivery_id: UUID
    serial_hex: str
    request_id: UUID | None
    requested_at: datetime
    attempts: int
    last_attempt_at: datetime | None
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    failed_at: datetime | None
    last_error: str


_DEVICE_COLUMNS = ", ".join(DeviceRow.__dataclass_fields__)
_DELIVERY_COLUMNS = ", ".join(DeliveryRow.__dataclass_fields__)


async def _rows(conn: AsyncConnection[Any], query: str, params: Any = ()) -> list[dict[str, Any]]:
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(query, params)
        return list(await cur.fetchall())


def _device(row: dict[str, Any]) -> DeviceRow:
    return DeviceRow(**{**row, "profile_sealed": _bytes(row["profile_sealed"])})


def _bytes(value: Any) -> bytes | None:
    return None if value is None else bytes(value)


# -- the authority --------------------------------------------------------------------------


async def load_authority(conn: AsyncConnection[Any]) -> AuthorityRow | None:
    rows = await _rows(conn, "SELECT * FROM vpn_authority")
    if not rows:
        return None
    row = rows[0]
    row.pop("singleton")
    for column in ("ca_key_sealed", "server_key_sealed", "tls_crypt_v2_server_key_sealed"):
        row[column] = bytes(row[column])
    return AuthorityRow(**row)


async def insert_authority(conn: AsyncConnection[Any], authority: AuthorityRow) -> AuthorityRow:
    """Store ``authority`` unless one exists; returns the one that is stored (the first wins:
    two provisioners starting at once end up with the same CA)."""
    await conn.execute(
        """
        INSERT INTO vpn_authority (
            authority_id, ca_cert_pem, ca_key_sealed, server_common_name, server_cert_pem,
            server_key_sealed, tls_crypt_v2_server_key_sealed, created_at
        ) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)
        ON CONFLICT (singleton) DO NOTHING
        """,
        (
            authority.authority_id,
            authority.ca_cert_pem,
            authority.ca_key_sealed,
            authority.server_common_name,
            authority.server_cert_pem,
            authority.server_key_sealed,
            authority.tls_crypt_v2_server_key_sealed,
            authority.created_at,
        ),
    )
    stored = await load_authority(conn)
    assert stored is not None  # inserted, or kept by the conflict
    return stored


async def lock_authority(conn: AsyncConnection[Any]) -> int:
    """Lock the authority's row for a CRL signature (one signer at a time); its CRL number."""
    cur = await conn.execute("SELECT crl_number FROM vpn_authority FOR UPDATE")
    row = await cur.fetchone()
    if row is None:
        raise LookupError("the VPN authority has not been created yet")
    return int(row[0])


async def store_crl(
    conn: AsyncConnection[Any],
    *,
    crl_number: int,
    crl_pem: str,
    this_update: datetime,
    next_update: datetime,
) -> None:
    await conn.execute(
        "UPDATE vpn_authority SET crl_number = %s, crl_pem = %s, crl_this_update = %s,"
        " crl_next_update = %s",
        (crl_number, crl_pem, this_update, next_update),
    )


# -- devices ----------------------------------------------------------------------------------


async def insert_device(conn: AsyncConnection[Any], device: DeviceRow) -> None:
    await conn.execute(
        f"INSERT INTO vpn_devices ({_DEVICE_COLUMNS}) VALUES"
        f" ({', '.join(['%s'] * len(DeviceRow.__dataclass_fields__))})",
        tuple(getattr(device, name) for name in DeviceRow.__dataclass_fields__),
    )


async def device_of_request(conn: AsyncConnection[Any], request_id: UUID) -> DeviceRow | None:
    rows = await _rows(
        conn, f"SELECT {_DEVICE_COLUMNS} FROM vpn_devices WHERE request_id = %s", (request_id,)
    )
    return _device(rows[0]) if rows else None


async def device(conn: AsyncConnection[Any], serial_hex: str) -> DeviceRow | None:
    rows = await _rows(
        conn, f"SELECT {_DEVICE_COLUMNS} FROM vpn_devices WHERE serial_hex = %s", (serial_hex,)
    )
    return _device(rows[0]) if rows else None


async def devices_of(
    conn: AsyncConnection[Any],
    account_id: UUID,
    *,
    device_name: str | None = None,
    states: tuple[CertificateState, ...] = ("issued", "on_hold", "revoked"),
) -> list[DeviceRow]:
    """The account's certificates (of one device, case-insensitively), newest first."""
    query = (
        f"SELECT {_DEVICE_COLUMNS} FROM vpn_devices WHERE account_id = %s AND state = ANY(%s)"
        + (" AND lower(device_name) = lower(%s)" if device_name is not None else "")
        + " ORDER BY issued_at DESC, serial_hex"
    )
    params: tuple[Any, ...] = (account_id, list(states))
    if device_name is not None:
        params += (device_name,)
    return [_device(r) for r in await _rows(conn, query, params)]


async def change_state(
    conn: AsyncConnection[Any],
    serials: list[str],
    *,
    state: CertificateState,
    reason: RevocationReason | None,
    at: datetime,
) -> list[DeviceRow]:
    """Put the certificates ``serials`` in ``state`` (a revocation erases the sealed profile);
    a revoked one stays revoked. Returns the rows that changed, as they are now."""
    rows = await _rows(
        conn,
        f"""
        UPDATE vpn_devices SET state = %(state)s, reason = %(reason)s, state_changed_at = %(at)s,
            profile_sealed = CASE WHEN %(state)s = 'revoked' THEN NULL ELSE profile_sealed END
        WHERE serial_hex = ANY(%(serials)s) AND state <> 'revoked'
            AND (state, reason) IS DISTINCT FROM (%(state)s, %(reason)s)
        RETURNING {_DEVICE_COLUMNS}
        """,
        {"state": state, "reason": reason, "at": at, "serials": serials},
    )
    return [_device(r) for r in rows]


async def listed(conn: AsyncConnection[Any], now: datetime) -> list[DeviceRow]:
    """What the CRL lists: every certificate on hold or revoked that has not expired yet."""
    rows = await _rows(
        conn,
        f"SELECT {_DEVICE_COLUMNS} FROM vpn_devices WHERE state <> 'issued' AND not_after > %s"
        " ORDER BY serial_hex",
        (now,),
    )
    return [_device(r) for r in rows]


async def due_for_renewal(
    conn: AsyncConnection[Any], now: datetime, before: datetime
) -> list[DeviceRow]:
    """Issued certificates still valid at ``now`` that expire before ``before`` and that no
    later certificate renews yet. (One already expired is not renewed: its device has been cut
    off for a while, and a re-issue is the customer's or the operator's call.)"""
    rows = await _rows(
        conn,
        f"""
        SELECT {_DEVICE_COLUMNS} FROM vpn_devices d
        WHERE d.state = 'issued' AND d.not_after > %s AND d.not_after < %s
            AND NOT EXISTS (
                SELECT 1 FROM vpn_devices r
                WHERE r.replaces_serial_hex = d.serial_hex AND r.state <> 'revoked'
            )
        ORDER BY d.not_after
        """,
        (now, before),
    )
    return [_device(r) for r in rows]


async def unrenewed_count(conn: AsyncConnection[Any], now: datetime, before: datetime) -> int:
    """Issued certificates still valid at ``now`` that expire before ``before`` and that no
    later certificate renews."""
    return len(await due_for_renewal(conn, now, before))


async def sealed_profiles(conn: AsyncConnection[Any]) -> list[tuple[str, bytes]]:
    """Every stored profile, sealed: (serial, ciphertext), for key rotation."""
    cur = await conn.execute(
        "SELECT serial_hex, profile_sealed FROM vpn_devices WHERE profile_sealed IS NOT NULL"
    )
    return [(str(serial), bytes(sealed)) for serial, sealed in await cur.fetchall()]


async def replace_profile(
    conn: AsyncConnection[Any], serial_hex: str, *, old: bytes, new: bytes
) -> int:
    """Replace a profile's ciphertext if it is still ``old`` (a concurrent revocation erased
    it, or another process re-wrapped it first: nothing to do). Rows changed, 0 or 1."""
    cur = await conn.execute(
        "UPDATE vpn_devices SET profile_sealed = %s WHERE serial_hex = %s AND profile_sealed = %s",
        (new, serial_hex, old),
    )
    return cur.rowcount


async def blank_account(conn: AsyncConnection[Any], account_id: UUID) -> list[DeviceRow]:
    """An erased account's devices: names blanked, profiles erased. Returns them as they are."""
    rows = await _rows(
        conn,
        f"""
        UPDATE vpn_devices SET device_name = '', profile_sealed = NULL
        WHERE account_id = %s
        RETURNING {_DEVICE_COLUMNS}
        """,
        (account_id,),
    )
    return [_device(r) for r in rows]


# -- deliveries -------------------------------------------------------------------------------


async def add_delivery(
    conn: AsyncConnection[Any],
    *,
    delivery_id: UUID,
    serial_hex: str,
    at: datetime,
    request_id: UUID | None = None,
) -> DeliveryRow:
    """A delivery due at once; a request id asked before gets its first delivery back."""
    rows = await _rows(
        conn,
        f"""
        INSERT INTO vpn_deliveries (delivery_id, serial_hex, request_id, requested_at,
            next_attempt_at)
        VALUES (%s, %s, %s, %s, %s)
        ON CONFLICT (request_id) DO NOTHING
        RETURNING {_DELIVERY_COLUMNS}
        """,
        (delivery_id, serial_hex, request_id, at, at),
    )
    if not rows:
        rows = await _rows(
            conn,
            f"SELECT {_DELIVERY_COLUMNS} FROM vpn_deliveries WHERE request_id = %s",
            (request_id,),
        )
    return DeliveryRow(**rows[0])


async def claim_due_delivery(conn: AsyncConnection[Any], now: datetime) -> DeliveryRow | None:
    """The most overdue pending delivery, locked (SKIP LOCKED: several provisioners share the
    work, none sends one twice at once). Call inside a transaction that records the attempt."""
    rows = await _rows(
        conn,
        f"""
        SELECT {_DELIVERY_COLUMNS} FROM vpn_deliveries
        WHERE next_attempt_at IS NOT NULL AND next_attempt_at <= %s
        ORDER BY next_attempt_at
        LIMIT 1
        FOR UPDATE SKIP LOCKED
        """,
        (now,),
    )
    return DeliveryRow(**rows[0]) if rows else None


async def record_attempt(
    conn: AsyncConnection[Any],
    delivery_id: UUID,
    *,
    at: datetime,
    delivered: bool,
    next_attempt_at: datetime | None,
    error: str = "",
) -> DeliveryRow:
    """One attempt's outcome: delivered, to be tried again at ``next_attempt_at``, or (neither)
    failed for good."""
    rows = await _rows(
        conn,
        f"""
        UPDATE vpn_deliveries SET attempts = attempts + 1, last_error = %(error)s,
            last_attempt_at = %(at)s,
            delivered_at = CASE WHEN %(delivered)s THEN %(at)s::timestamptz END,
            next_attempt_at = CASE WHEN %(delivered)s THEN NULL
                ELSE %(next)s::timestamptz END,
            failed_at = CASE WHEN NOT %(delivered)s AND %(next)s::timestamptz IS NULL
                THEN %(at)s::timestamptz END
        WHERE delivery_id = %(id)s
        RETURNING {_DELIVERY_COLUMNS}
        """,
        {
            "id": delivery_id,
            "at": at,
            "delivered": delivered,
            "next": next_attempt_at,
            "error": error[:300],
        },
    )
    return DeliveryRow(**rows[0])


async def deliveries_of(conn: AsyncConnection[Any], serial_hex: str) -> list[DeliveryRow]:
    rows = await _rows(
        conn,
        f"SELECT {_DELIVERY_COLUMNS} FROM vpn_deliveries WHERE serial_hex = %s"
        " ORDER BY requested_at",
        (serial_hex,),
    )
    return [DeliveryRow(**r) for r in rows]


async def cancel_deliveries(conn: AsyncConnection[Any], serials: list[str], at: datetime) -> int:
    """Pending deliveries of revoked certificates end as failed: their profiles are gone."""
    cur = await conn.execute(
        "UPDATE vpn_deliveries SET next_attempt_at = NULL, failed_at = %s,"
        " last_error = 'the certificate was revoked'"
        " WHERE serial_hex = ANY(%s) AND next_attempt_at IS NOT NULL",
        (at, serials),
    )
    return cur.rowcount
