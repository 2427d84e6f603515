"""``DeviceDirectory`` over the provisioner's ``vpn_devices`` table (migration 0014), read
through ``tc_db.vpn``."""

from datetime import UTC
from typing import Any
from uuid import UUID

from psycopg_pool import AsyncConnectionPool

from tc_api.adapters.postgres import pooled_connection
from tc_api.devices import DeviceCertificate
from tc_db import vpn


class PostgresDeviceDirectory:
    def __init__(self, pool: AsyncConnectionPool[Any]) -> None:
        self._pool = pool

    async def certificates(self, account_id: UUID) -> list[DeviceCertificate]:
        async with pooled_connection(self._pool) as conn:
            rows = await vpn.devices_of(conn, account_id)
        return [
            DeviceCertificate(
                serial_hex=row.serial_hex,
                device_name=row.device_name,
                state=row.state,
                reason=row.reason,
                issued_at=row.issued_at.astimezone(UTC),
                not_after=row.not_after.astimezone(UTC),
            )
            for row in rows
        ]
