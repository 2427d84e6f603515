"""What the migration tests ask a PostgreSQL cluster directly, without tc_db (under test)."""

from typing import Any

import psycopg

from tc_db import StorageMode


async def connect(url: str) -> psycopg.AsyncConnection:
    return await psycopg.AsyncConnection.connect(url, autocommit=True)


async def rows(conn: psycopg.AsyncConnection, query: str, params: Any = ()) -> list[Any]:
    cur = await conn.execute(query.encode(), params)
    return await cur.fetchall()


async def cluster_mode(conn: psycopg.AsyncConnection) -> StorageMode:
    """The mode this cluster can run: TimescaleDB only when available and preloaded."""
    ((available, preload),) = await rows(
        conn,
        "SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'), "
        "current_setting('shared_preload_libraries')",
    )
    preloaded = "timescaledb" in {lib.strip() for lib in str(preload).split(",")}
    return "timescaledb" if available and preloaded else "plain"
