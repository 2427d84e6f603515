"""The process-based fixtures start real servers that speak their real protocols."""

import os
import socket
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from tc_devstack import LocalKafka, LocalPostgres
from tc_devstack.stack import PortBusyError, Stack, StackConfig


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


def test_a_busy_api_port_stops_make_run_before_anything_starts(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        stack = Stack(StackConfig(run_dir=tmp_path, api_port=port))

        with pytest.raises(PortBusyError, match=f"port {port} .* API_PORT={port + 1}"):
            stack.start()

    assert stack.processes == {}
    assert stack.postgres is None
    assert stack.kafka is None


def test_every_process_of_a_pinned_stack_gets_the_same_clock_offset_but_the_provisioner(
    tmp_path: Path,
) -> None:
    monday = datetime(2026, 12, 7, 7, 30, tzinfo=UTC)
    stack = Stack(StackConfig(run_dir=tmp_path, start_at=monday))

    offsets = {
        float(stack.service_env(service)[f"{service.upper()}_CLOCK_OFFSET_S"])
        for service in ("ingest", "store", "forecast", "api")
    }

    (offset,) = offsets
    assert offset == stack.clock_offset_s
    assert abs(stack.clock.now() - monday) < timedelta(seconds=5)
    # The certificates it signs are checked by OpenVPN on the system clock, the invitations
    # tc-admin issues expire on it: the provisioner runs on the system clock.
    assert float(stack.service_env("provisioner")["PROVISIONER_CLOCK_OFFSET_S"]) == 0


def test_make_run_writes_a_configured_api_key_where_the_readme_reads_it(tmp_path: Path) -> None:
    stack = Stack(StackConfig(run_dir=tmp_path, api_key="my-own-key-0123456789"))

    assert stack._api_key() == "my-own-key-0123456789"
    assert (tmp_path / "api-key").read_text().strip() == "my-own-key-0123456789"
    assert (tmp_path / "api-key").stat().st_mode & 0o777 == 0o600


def test_the_launcher_reads_a_pinned_start_with_its_utc_offset(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("SIM_START_AT", "2026-12-10T07:30+01:00")
    assert StackConfig.from_environment(tmp_path).start_at == datetime(
        2026, 12, 10, 6, 30, tzinfo=UTC
    )
    monkeypatch.setenv("SIM_START_AT", "2026-12-10T07:30")
    with pytest.raises(ValueError, match="needs a UTC offset"):
        StackConfig.from_environment(tmp_path)
