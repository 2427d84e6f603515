"""Apply the schema migrations in order, once, safely from several processes at a time.

Migrations are SQL files in ``tc_db/migrations``. A migration may come in two variants:
``NNNN_name_plain.sql`` for plain PostgreSQL and ``NNNN_name_timescaledb.sql`` for a server
with TimescaleDB; which one runs is decided when the migration is applied, and the chosen mode
is recorded in ``schema_info`` (key ``storage_mode``). Readers see the same tables and columns
in both modes.

Concurrency: every runner takes a session-level advisory lock before it looks at
``schema_migrations``, so concurrent starts apply each migration exactly once. A session lock
(not ``pg_advisory_xact_lock``) because TimescaleDB's continuous aggregate cannot be created
inside a transaction block, so the lock must outlive single transactions. Plain migrations
still run in one transaction each, together with their ``schema_migrations`` row.
"""

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib import resources
from typing import Literal

import psycopg
from psycopg import pq

log = logging.getLogger(__name__)

StorageMode = Literal["plain", "timescaledb"]

# Any constant works as long as every runner uses the same one; this is "tcdb" in ASCII.
MIGRATION_LOCK_KEY = 0x74636462

_STEP_SEPARATOR = "\n-- step\n"

# The refresh policy of the telemetry_hourly continuous aggregate recomputes this many days back
# (``start_offset`` in 0002_telemetry_hourly_timescaledb.sql). Raw chunks dropped by retention
# inside that window would be recomputed as empty, erasing hourly history, so retention must
# reach further back than the window.
HOURLY_REFRESH_WINDOW_DAYS = 3


@dataclass(frozen=True)
class Migration:
    """One schema change; ``timescaledb_sql`` (optional) replaces ``sql`` on TimescaleDB."""

    name: str
    sql: str
    timescaledb_sql: str | None = None

    def steps(self, mode: StorageMode) -> list[str]:
        """The TimescaleDB variant runs step by step in autocommit mode (see module doc)."""
        if mode == "timescaledb" and self.timescaledb_sql is not None:
            return [s for s in self.timescaledb_sql.split(_STEP_SEPARATOR) if s.strip()]
        return [self.sql]


def _read(filename: str) -> str:
    return resources.files("tc_db").joinpath("migrations", filename).read_text("utf-8")


def load_migrations() -> tuple[Migration, ...]:
    """All migrations in name order, pairing ``*_plain.sql`` with ``*_timescaledb.sql``."""
    files = sorted(
        f.name
        for f in resources.files("tc_db").joinpath("migrations").iterdir()
        if f.name.endswith(".sql")
    )
    migrations: list[Migration] = []
    for filename in files:
        stem = filename.removesuffix(".sql")
        if stem.endswith("_timescaledb"):
            continue  # read together with its plain twin
        name = stem.removesuffix("_plain")
        twin = f"{name}_timescaledb.sql"
        migrations.append(
            Migration(
                name=name,
                sql=_read(filename),
                timescaledb_sql=_read(twin) if twin in files else None,
            )
        )
    return tuple(migrations)


async def timescaledb_usable(conn: psycopg.AsyncConnection) -> bool:
    """TimescaleDB is installed on the server *and* loadable (preloaded or already created).

    ``pg_available_extensions`` alone is not enough: a package installed without
    ``shared_preload_libraries = 'timescaledb'`` makes ``CREATE EXTENSION`` fail.
    """
    cur = await conn.execute(
        """
        SELECT
            EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'),
            EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'),
            coalesce(current_setting('shared_preload_libraries', TRUE), '')
        """
    )
    row = await cur.fetchone()
    assert row is not None
    available, created, preload = row
    return bool(available) and (bool(created) or "timescaledb" in str(preload))


async def storage_mode(conn: psycopg.AsyncConnection) -> StorageMode | None:
    """The mode recorded by the migrations, or None before they ran."""
    cur = await conn.execute("SELECT to_regclass('schema_info') IS NOT NULL")
    exists = await cur.fetchone()
    if exists is None or not exists[0]:
        return None
    cur = await conn.execute("SELECT value FROM schema_info WHERE key = 'storage_mode'")
    row = await cur.fetchone()
    if row is None:
        return None
    return "timescaledb" if row[0] == "timescaledb" else "plain"


async def apply_migrations(
    conn: psycopg.AsyncConnection,
    *,
    retention_days: int | None = None,
    manage_retention: bool = True,
) -> list[str]:
    """Apply the migrations not applied yet; returns their names (empty when up to date).

    ``conn`` MUST NOT be inside a transaction; it is switched to autocommit for the run and
    restored afterwards. ``retention_days`` sets (or, when None, removes) a TimescaleDB
    retention policy on raw telemetry; plain PostgreSQL keeps everything. On TimescaleDB it
    must exceed ``HOURLY_REFRESH_WINDOW_DAYS`` (ValueError otherwise, before any change).
    ``manage_retention=False`` leaves the retention policy as it is: for a service that
    migrates at start but does not own telemetry (the provisioner), which must not undo the
    store's setting.
    """
    if conn.info.transaction_status != pq.TransactionStatus.IDLE:
        raise ValueError("apply_migrations needs a connection outside any transaction")
    if not manage_retention and retention_days is not None:
        raise ValueError("retention_days is set by the runner that manages retention")
    restore_autocommit = conn.autocommit
    await conn.set_autocommit(True)
    try:
        await conn.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK_KEY,))
        try:
            return await _apply_locked(conn, retention_days, manage_retention)
        finally:
            await conn.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK_KEY,))
    finally:
        await conn.set_autocommit(restore_autocommit)


async def _apply_locked(
    conn: psycopg.AsyncConnection, retention_days: int | None, manage_retention: bool
) -> list[str]:
    await conn.execute(
        """
        CREATE TABLE IF NOT EXISTS schema_migrations (
            name text PRIMARY KEY,
            applied_at timestamptz NOT NULL DEFAULT now()
        )
        """
    )
    cur = await conn.execute("SELECT name FROM schema_migrations")
    already = {row[0] for row in await cur.fetchall()}
    # A database keeps the mode it was created in: a plain database later served by a
    # TimescaleDB server must not get TimescaleDB variants of newer migrations on top of
    # plain tables (nor the reverse).
    mode: StorageMode = await storage_mode(conn) or (
        "timescaledb" if await timescaledb_usable(conn) else "plain"
    )
    if (
        mode == "timescaledb"
        and retention_days is not None
        and retention_days <= HOURLY_REFRESH_WINDOW_DAYS
    ):
        raise ValueError(
            f"retention_days={retention_days} would erase telemetry_hourly history: it must "
            f"be more than the {HOURLY_REFRESH_WINDOW_DAYS}-day refresh window"
        )
    applied: list[str] = []
    for migration in load_migrations():
        if migration.name in already:
            continue
        steps = migration.steps(mode)
        if len(steps) == 1:
            async with conn.transaction():
                await conn.execute(steps[0].encode())
                await _record(conn, migration.name)
        else:
            # Each step is idempotent; a run that dies half-way is simply repeated.
            for step in steps:
                await conn.execute(step.encode())
            await _record(conn, migration.name)
        log.info("applied migration %s (%s)", migration.name, mode)
        applied.append(migration.name)
    if manage_retention:
        if await storage_mode(conn) == "timescaledb":
            await _set_retention(conn, retention_days)
        elif retention_days is not None:
            log.info(
                "retention_days=%s: plain PostgreSQL has no retention policy, the caller "
                "deletes old telemetry itself",
                retention_days,
            )
    return applied


async def _record(conn: psycopg.AsyncConnection, name: str) -> None:
    await conn.execute("INSERT INTO schema_migrations (name) VALUES (%s)", (name,))


async def _set_retention(conn: psycopg.AsyncConnection, retention_days: int | None) -> None:
    await conn.execute("SELECT remove_retention_policy('telemetry', if_exists => TRUE)")
    if retention_days is not None:
        await conn.execute(
            "SELECT add_retention_policy('telemetry', drop_after => make_interval(days => %s))",
            (retention_days,),
        )


def apply_migrations_sync(url: str, *, retention_days: int | None = None) -> list[str]:
    """`apply_migrations` for scripts and sync callers; opens and closes its own connection."""

    async def run() -> list[str]:
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
            return await apply_migrations(conn, retention_days=retention_days)

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(run())
    # Called from inside an event loop: asyncio.run would refuse, so use a thread of its own.
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, run()).result()
