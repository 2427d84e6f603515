"""What tc-admin's tests share: a migrated database and the ADMIN_ settings pointing at it and
at the session's broker."""

from typing import Any

import psycopg
import pytest

from tc_db import apply_migrations


@pytest.fixture
async def migrated(database_url: str) -> str:
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        await apply_migrations(conn)
    return database_url


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, migrated: str, kafka: Any) -> None:
    monkeypatch.setenv("ADMIN_POSTGRES__URL", migrated)
    monkeypatch.setenv("ADMIN_KAFKA__BOOTSTRAP_SERVERS", kafka.bootstrap_servers)
    monkeypatch.setenv("ADMIN_KAFKA__PARTITIONS", "1")
