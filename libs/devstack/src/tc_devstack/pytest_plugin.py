"""Pytest fixtures that start real infrastructure as processes, once per test session.

- ``kafka``: a Tansu broker (Kafka protocol) on a free loopback port.
- ``pg_cluster``: a throwaway PostgreSQL cluster; ``database_url`` gives each test its own
  fresh database in it, dropped afterwards.
- ``own_postgres``: a cluster of one test's own, which it may stop and start again (an outage)
  without disturbing any other test.

With ``TC_TESTCONTAINERS=1`` and a reachable Docker engine, Apache Kafka and TimescaleDB
containers are used instead (a developer-laptop option; CI has no Docker and uses processes).
"""

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

import psycopg
import pytest

from tc_devstack.kafka import LocalKafka
from tc_devstack.postgres import LocalPostgres


class KafkaEndpoint(Protocol):
    @property
    def bootstrap_servers(self) -> str: ...


class PgEndpoint(Protocol):
    @property
    def url(self) -> str: ...


def _want_containers() -> bool:
    return os.environ.get("TC_TESTCONTAINERS") == "1"


@pytest.fixture(scope="session")
def kafka() -> Iterator[KafkaEndpoint]:
    if _want_containers():
        from testcontainers.kafka import KafkaContainer

        with KafkaContainer().with_kraft() as container:

            class _Containerised:
                bootstrap_servers = container.get_bootstrap_server()

            yield _Containerised()
        return
    with LocalKafka() as broker:
        yield broker


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgEndpoint]:
    if _want_containers():
        from testcontainers.postgres import PostgresContainer

        with PostgresContainer("timescale/timescaledb:2.17.2-pg16", driver=None) as container:

            class _Containerised:
                url = container.get_connection_url()

            yield _Containerised()
        return
    with LocalPostgres() as pg:
        yield pg


@pytest.fixture
def database_url(pg_cluster: PgEndpoint) -> Iterator[str]:
    """A fresh, empty database for one test; dropped afterwards."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    base, _, _ = pg_cluster.url.rpartition("/")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield f"{base}/{name}"
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def own_postgres() -> Iterator[LocalPostgres]:
    """A cluster of this test's own, so stopping it disturbs no other test. Its data directory
    is given, so a ``stop`` keeps the data for the ``start`` after it."""
    base = Path(tempfile.mkdtemp(prefix="tc-pg-own-"))
    pg = LocalPostgres(data_dir=base)
    pg.start()
    try:
        yield pg
    finally:
        pg.stop()
        shutil.rmtree(base, ignore_errors=True)
