"""The process-based fixtures start real servers that speak their real protocols."""

import psycopg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from tc_devstack import LocalKafka


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
