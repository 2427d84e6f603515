"""The process-based fixtures start real servers that speak their real protocols."""

import os
import subprocess
from pathlib import Path

import psycopg
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from tc_devstack import LocalKafka, LocalPostgres


def test_database_url_is_a_fresh_empty_database(database_url: str) -> None:
    with psycopg.connect(database_url) as conn:
        tables = conn.execute(
            "select count(*) from information_schema.tables where table_schema = 'public'"
        ).fetchone()
        conn.execute("create table t (x int primary key)")
        conn.execute("insert into t values (1)")
    assert tables == (0,)


async def test_broker_delivers_and_remembers_committed_offsets(kafka: LocalKafka) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=kafka.bootstrap_servers, acks="all")
    await producer.start()
    try:
        for i in range(5):
            await producer.send_and_wait("devstack.probe", f"m{i}".encode(), key=b"k")
    finally:
        await producer.stop()

    async def consume_once() -> list[bytes]:
        consumer = AIOKafkaConsumer(
            "devstack.probe",
            bootstrap_servers=kafka.bootstrap_servers,
            group_id="probe",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
        )
        await consumer.start()
        try:
            batch = await consumer.getmany(timeout_ms=8000)
            values = [m.value for msgs in batch.values() for m in msgs]
            await consumer.commit()
            return [v for v in values if v is not None]
        finally:
            await consumer.stop()

    assert await consume_once() == [f"m{i}".encode() for i in range(5)]
    assert await consume_once() == []


def test_a_cluster_is_stopped_even_when_pg_ctl_cannot_stop_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pg = LocalPostgres(data_dir=tmp_path / "pg").start()
    pid = int((pg.data_dir / "postmaster.pid").read_text().splitlines()[0])
    real_run = pg._run

    def pg_ctl_stop_fails(*args: str, check: bool = True) -> subprocess.CompletedProcess[bytes]:
        if args[-1] == "stop":
            return subprocess.CompletedProcess(list(args), 1, b"", b"simulated failure")
        return real_run(*args, check=check)

    monkeypatch.setattr(pg, "_run", pg_ctl_stop_fails)
    pg.stop()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
