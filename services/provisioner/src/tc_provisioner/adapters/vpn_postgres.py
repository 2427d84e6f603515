"""The VPN's state in PostgreSQL (tc_db.vpn, migration 0014), sealed by the vault.

Each operation is one transaction: whatever it returns to publish is committed first. Private
keys and profiles are opened only in memory, for the moment they are needed.
"""

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from cryptography import x509
from psycopg import AsyncConnection, sql

from tc_common.events import AccountChanged
from tc_common.events.vpn import CertificateState, RevocationReason, VpnCrlPublished
from tc_db import vpn as tables
from tc_db.pool import PostgresPool
from tc_db.vpn import AuthorityRow, DeliveryRow, DeviceRow
from tc_provisioner import authority as ca
from tc_provisioner.authority import AUTHORITY_ACCOUNT, Listed, OpenAuthority
from tc_vault import SealedToken, Vault
from tc_vpn import config, pki
from tc_vpn.tls_crypt_v2 import ServerKey


@dataclass(frozen=True)
class Revocation:
    """What a revocation (or hold, or release) did: the devices as they are now, and the CRL
    if one was signed (None when nothing changed: the same request again)."""

    devices: list[DeviceRow]
    crl: VpnCrlPublished | None


@dataclass(frozen=True)
class Attempt:
    """One delivery attempt's outcome, as stored."""

    delivery: DeliveryRow
    account_id: UUID
    delivered: bool


Send = Callable[[str, DeviceRow, str], Awaitable[None]]
"""Sends ``profile`` of ``device`` to ``email``; raises on failure (see ``attempt_delivery``)."""


class PostgresVpn:
    """The VPN's tables over the provisioner's pool, keys sealed by ``vault``."""

    def __init__(
        self,
        pool: PostgresPool,
        vault: Vault,
        *,
        server_name: str,
        profile: config.ProfileSettings,
        device_lifetime: timedelta,
        crl_lifetime: timedelta,
    ) -> None:
        self._pool = pool
        self._vault = vault
        self._server_name = server_name
        self._profile = profile
        self._device_lifetime = device_lifetime
        self._crl_lifetime = crl_lifetime
        self._authority: OpenAuthority | None = None

    # -- the authority -------------------------------------------------------------------

    async def ensure_authority(self, now: datetime) -> OpenAuthority:
        """The authority, created (with its first CRL) on the very first start."""
        async with self._pool.connection() as conn, conn.transaction():
            row = await tables.load_authority(conn)
            if row is None:
                row = await tables.insert_authority(
                    conn, self._seal(ca.new_authority(self._server_name, now), now)
                )
            opened = self._open(row)
            if row.crl_pem is None:
                await self._sign_crl(conn, opened, now)
        self._authority = opened
        return opened

    async def authority_files(self) -> tuple[AuthorityRow, OpenAuthority]:
        """The stored authority and its opened keys: what the OpenVPN server's files hold."""
        async with self._pool.connection() as conn:
            row = await tables.load_authority(conn)
        if row is None:
            raise LookupError("the VPN authority has not been created yet")
        return row, self._open(row)

    async def current_crl(self) -> VpnCrlPublished | None:
        async with self._pool.connection() as conn:
            row = await tables.load_authority(conn)
        return _crl_event(row) if row is not None else None

    async def refresh_crl(self, now: datetime, refresh_before: timedelta) -> VpnCrlPublished | None:
        """A new signature when the stored CRL expires within ``refresh_before``; else None."""
        async with self._pool.connection() as conn, conn.transaction():
            await tables.lock_authority(conn)
            row = await tables.load_authority(conn)
            assert row is not None
            if row.crl_next_update is not None and row.crl_next_update - now > refresh_before:
                return None
            return await self._sign_crl(conn, self._opened(), now)

    # -- devices -------------------------------------------------------------------------

    async def issue_for_request(
        self, request_id: UUID, account_id: UUID, device_name: str, now: datetime
    ) -> DeviceRow:
        """The certificate of an accepted request, issued once (a repeated request finds it),
        with its first delivery queued in the same transaction."""
        async with self._pool.connection() as conn, conn.transaction():
            found = await tables.device_of_request(conn, request_id)
            if found is not None:
                return found
            return await self._issue(
                conn, account_id, device_name, now, request_id=request_id, replaces=None
            )

    async def reissue(
        self, request_id: UUID, account_id: UUID, device_name: str, now: datetime
    ) -> Revocation | None:
        """A new certificate (and email) for a device the account has had, its others revoked
        as superseded; once per request. None if the account never had that device."""
        async with self._pool.connection() as conn, conn.transaction():
            found = await tables.device_of_request(conn, request_id)
            if found is not None:
                return Revocation(devices=[found], crl=None)
            known = await tables.devices_of(conn, account_id, device_name=device_name)
            if not known:
                return None
            new = await self._issue(
                conn, account_id, known[0].device_name, now, request_id=request_id, replaces=None
            )
        superseded = await self.change(
            account_id,
            device_name=device_name,
            from_states=("issued", "on_hold"),
            to_state="revoked",
            reason="superseded",
            now=now,
            keep=new.serial_hex,
        )
        return Revocation(devices=[*superseded.devices, new], crl=superseded.crl)

    async def renew_due(self, now: datetime, renew_before: timedelta) -> list[DeviceRow]:
        """New certificates for those expiring within ``renew_before`` (each emailed); the old
        ones keep working until they expire."""
        renewed = []
        async with self._pool.connection() as conn:
            for old in await tables.due_for_renewal(conn, now, now + renew_before):
                async with conn.transaction():
                    renewed.append(
                        await self._issue(
                            conn,
                            old.account_id,
                            old.device_name,
                            now,
                            request_id=None,
                            replaces=old.serial_hex,
                        )
                    )
        return renewed

    async def devices(self, account_id: UUID, device_name: str | None = None) -> list[DeviceRow]:
        async with self._pool.connection() as conn:
            return await tables.devices_of(conn, account_id, device_name=device_name)

    async def change(
        self,
        account_id: UUID,
        *,
        device_name: str | None,
        from_states: tuple[CertificateState, ...],
        to_state: CertificateState,
        reason: RevocationReason | None,
        now: datetime,
        only_reason: RevocationReason | None = None,
        keep: str | None = None,
    ) -> Revocation:
        """Move the account's certificates (of one device, or all) in ``from_states`` to
        ``to_state``; sign and store a new CRL when any changed. ``only_reason``: only those
        put in their state for that reason (a resume releases the holds of a suspension);
        ``keep``: a serial left alone (the re-issued one)."""
        async with self._pool.connection() as conn, conn.transaction():
            await tables.lock_authority(conn)
            targets = [
                d
                for d in await tables.devices_of(
                    conn, account_id, device_name=device_name, states=from_states
                )
                if (only_reason is None or d.reason == only_reason) and d.serial_hex != keep
            ]
            changed = await tables.change_state(
                conn, [d.serial_hex for d in targets], state=to_state, reason=reason, at=now
            )
            if to_state == "revoked":
                await tables.cancel_deliveries(conn, [d.serial_hex for d in changed], now)
            crl = await self._sign_crl(conn, self._opened(), now) if changed else None
            # Republish every target as it is now, changed or not: a request redelivered
            # because its events were lost publishes them again.
            current = [await tables.device(conn, d.serial_hex) for d in targets]
        return Revocation(devices=[d for d in current if d is not None], crl=crl)

    async def erase_account(self, account: AccountChanged, now: datetime) -> Revocation:
        """An erasure: every certificate revoked, device names blanked, profiles erased. (The
        decisions' email and device are stripped by the store when it finishes the erasure.)"""
        revocation = await self.change(
            account.account_id,
            device_name=None,
            from_states=("issued", "on_hold"),
            to_state="revoked",
            reason="account_erased",
            now=now,
        )
        async with self._pool.connection() as conn, conn.transaction():
            blanked = await tables.blank_account(conn, account.account_id)
        return Revocation(devices=blanked, crl=revocation.crl)

    # -- deliveries ------------------------------------------------------------------------

    async def queue_resend(
        self, request_id: UUID, account_id: UUID, device_name: str, now: datetime
    ) -> DeliveryRow | None:
        """A new delivery of the device's newest valid profile; None if it has none."""
        async with self._pool.connection() as conn, conn.transaction():
            issued = [
                d
                for d in await tables.devices_of(
                    conn, account_id, device_name=device_name, states=("issued",)
                )
                if d.profile_sealed is not None and d.not_after > now
            ]
            if not issued:
                return None
            return await tables.add_delivery(
                conn,
                delivery_id=uuid.uuid4(),
                serial_hex=issued[0].serial_hex,
                at=now,
                request_id=request_id,
            )

    async def attempt_delivery(
        self,
        now: datetime,
        send: Send,
        next_attempt: Callable[[int, BaseException], datetime | None],
    ) -> Attempt | None:
        """Send the most overdue delivery, if any, and record the outcome in the same
        transaction that holds it (no other provisioner sends it meanwhile).

        ``send`` raising is a failed attempt: ``next_attempt(attempts made, error)`` says when
        to try again (None: given up). Its ``str`` is kept as the reason, so it must hold no
        secret. Other exceptions than ``Exception`` propagate (cancellation)."""
        async with self._pool.connection() as conn, conn.transaction():
            due = await tables.claim_due_delivery(conn, now)
            if due is None:
                return None
            device = await tables.device(conn, due.serial_hex)
            assert device is not None  # a foreign key
            email = await _email(conn, device.account_id)
            if device.profile_sealed is None or not email:
                recorded = await tables.record_attempt(
                    conn,
                    due.delivery_id,
                    at=now,
                    delivered=False,
                    next_attempt_at=None,
                    error="the profile or the address is gone (revoked or erased)",
                )
                return Attempt(recorded, device.account_id, delivered=False)
            profile = self._vault.open(SealedToken.from_bytes(device.profile_sealed))
            try:
                await send(email, device, profile)
            except Exception as error:
                recorded = await tables.record_attempt(
                    conn,
                    due.delivery_id,
                    at=now,
                    delivered=False,
                    next_attempt_at=next_attempt(due.attempts + 1, error),
                    error=str(error),
                )
                return Attempt(recorded, device.account_id, delivered=False)
            recorded = await tables.record_attempt(
                conn, due.delivery_id, at=now, delivered=True, next_attempt_at=None
            )
            return Attempt(recorded, device.account_id, delivered=True)

    async def expiring_unrenewed(self, now: datetime, within: timedelta) -> int:
        async with self._pool.connection() as conn:
            return await tables.unrenewed_count(conn, now, now + within)

    async def rewrap_stale(self) -> int:
        """Re-wrap every private key and profile sealed under another key version than the
        current one (after a key rotation: PROVISIONER_VAULT__CURRENT_VERSION moved on); only
        the data keys change. Conditional on the row being unchanged, idempotent. Returns how
        many records were re-wrapped. Once it returns 0 the old version can be dropped."""
        rewrapped = 0
        async with self._pool.connection() as conn, conn.transaction():
            row = await tables.load_authority(conn)
            if row is not None:
                for column in (
                    "ca_key_sealed",
                    "server_key_sealed",
                    "tls_crypt_v2_server_key_sealed",
                ):
                    old = getattr(row, column)
                    sealed = SealedToken.from_bytes(old)
                    if self._vault.needs_rewrap(sealed):
                        await conn.execute(
                            sql.SQL("UPDATE vpn_authority SET {0} = %s WHERE {0} = %s").format(
                                sql.Identifier(column)
                            ),
                            (self._vault.rewrap(sealed).to_bytes(), old),
                        )
                        rewrapped += 1
        async with self._pool.connection() as conn:
            for serial_hex, old in await tables.sealed_profiles(conn):
                sealed = SealedToken.from_bytes(old)
                if not self._vault.needs_rewrap(sealed):
                    continue
                rewrapped += await tables.replace_profile(
                    conn, serial_hex, old=old, new=self._vault.rewrap(sealed).to_bytes()
                )
        return rewrapped

    # -- inside -------------------------------------------------------------------------

    async def _issue(
        self,
        conn: AsyncConnection[Any],
        account_id: UUID,
        device_name: str,
        now: datetime,
        *,
        request_id: UUID | None,
        replaces: str | None,
    ) -> DeviceRow:
        opened = self._opened()
        issued = ca.issue_device(
            opened,
            account_id=account_id,
            device_name=device_name,
            now=now,
            lifetime=self._device_lifetime,
            profile=self._profile,
        )
        serial = issued.certificate.serial
        row = DeviceRow(
            serial_hex=issued.serial_hex,
            authority_id=opened.authority_id,
            account_id=account_id,
            request_id=request_id,
            device_name=device_name,
            common_name=issued.certificate.common_name,
            issued_at=now,
            not_after=issued.certificate.not_after,
            state="issued",
            state_changed_at=now,
            reason=None,
            replaces_serial_hex=replaces,
            profile_sealed=self._vault.seal(
                account_id, ca.profile_id(serial), issued.profile, now
            ).to_bytes(),
        )
        await tables.insert_device(conn, row)
        await tables.add_delivery(conn, delivery_id=uuid.uuid4(), serial_hex=row.serial_hex, at=now)
        return row

    async def _sign_crl(
        self, conn: AsyncConnection[Any], opened: OpenAuthority, now: datetime
    ) -> VpnCrlPublished:
        number = await tables.lock_authority(conn) + 1
        listed = [
            Listed(d.serial_hex, d.state_changed_at, d.reason)
            for d in await tables.listed(conn, now)
            if d.reason is not None
        ]
        crl = ca.sign_crl(opened, listed, now, self._crl_lifetime)
        await tables.store_crl(
            conn,
            crl_number=number,
            crl_pem=crl.crl_pem.decode("ascii"),
            this_update=crl.last_update,
            next_update=crl.next_update,
        )
        return VpnCrlPublished(
            authority_id=opened.authority_id,
            crl_number=number,
            crl_pem=crl.crl_pem.decode("ascii"),
            revoked_serials_hex=tuple(sorted(f"{s:x}" for s in crl.revoked_serials)),
            this_update=crl.last_update,
            next_update=crl.next_update,
        )

    def _opened(self) -> OpenAuthority:
        if self._authority is None:
            raise RuntimeError("ensure_authority has not run")
        return self._authority

    def _seal(self, opened: OpenAuthority, now: datetime) -> AuthorityRow:
        def seal(record_id: UUID, pem: bytes) -> bytes:
            return self._vault.seal(
                AUTHORITY_ACCOUNT, record_id, pem.decode("ascii"), now
            ).to_bytes()

        return AuthorityRow(
            authority_id=opened.authority_id,
            ca_cert_pem=opened.ca.cert_pem.decode("ascii"),
            ca_key_sealed=seal(opened.authority_id, opened.ca.key_pem),
            server_common_name=opened.server.common_name,
            server_cert_pem=opened.server.cert_pem.decode("ascii"),
            server_key_sealed=seal(ca.server_key_id(opened.authority_id), opened.server.key_pem),
            tls_crypt_v2_server_key_sealed=seal(
                ca.tls_crypt_v2_key_id(opened.authority_id), opened.tls_crypt_v2.to_pem()
            ),
            crl_number=0,
            crl_pem=None,
            crl_this_update=None,
            crl_next_update=None,
            created_at=now,
        )

    def _open(self, row: AuthorityRow) -> OpenAuthority:
        def opened(sealed: bytes) -> bytes:
            return self._vault.open(SealedToken.from_bytes(sealed)).encode("ascii")

        def issued(cert_pem: str, key_pem: bytes) -> pki.Issued:
            cert = pki.load_certificate(cert_pem.encode("ascii"))
            return pki.Issued(
                serial=cert.serial_number,
                common_name=row.server_common_name,
                not_before=cert.not_valid_before_utc,
                not_after=cert.not_valid_after_utc,
                cert_pem=cert_pem.encode("ascii"),
                key_pem=key_pem,
            )

        sealed_ids = {
            row.ca_key_sealed: row.authority_id,
            row.server_key_sealed: ca.server_key_id(row.authority_id),
            row.tls_crypt_v2_server_key_sealed: ca.tls_crypt_v2_key_id(row.authority_id),
        }
        for sealed, expected in sealed_ids.items():
            record = SealedToken.from_bytes(sealed)
            # A key sealed for another place (swapped columns) must not open as this one.
            if (record.account_id, record.token_id) != (AUTHORITY_ACCOUNT, expected):
                raise ValueError("a sealed authority key is bound to another record")
        return OpenAuthority(
            authority_id=row.authority_id,
            ca=issued(row.ca_cert_pem, opened(row.ca_key_sealed)),
            server=issued(row.server_cert_pem, opened(row.server_key_sealed)),
            tls_crypt_v2=ServerKey.from_pem(opened(row.tls_crypt_v2_server_key_sealed)),
        )


def _crl_event(row: AuthorityRow) -> VpnCrlPublished | None:
    if row.crl_pem is None or row.crl_this_update is None or row.crl_next_update is None:
        return None
    crl = x509.load_pem_x509_crl(row.crl_pem.encode("ascii"))
    return VpnCrlPublished(
        authority_id=row.authority_id,
        crl_number=row.crl_number,
        crl_pem=row.crl_pem,
        revoked_serials_hex=tuple(sorted(f"{entry.serial_number:x}" for entry in crl)),
        this_update=row.crl_this_update,
        next_update=row.crl_next_update,
    )


async def _email(conn: AsyncConnection[Any], account_id: UUID) -> str:
    cur = await conn.execute(
        "SELECT email FROM accounts WHERE account_id = %s AND state IN ('active', 'suspended')",
        (account_id,),
    )
    row = await cur.fetchone()
    return str(row[0]) if row else ""
