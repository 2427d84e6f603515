"""What the api's PostgreSQL tests share: a migrated database to seed, and a way to seed it.

Each of them seeded its database with its own copy of the same insert and time-zone code.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import sql

from tc_db import apply_migrations_sync


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
