"""Two customers on the whole running system (Tansu, PostgreSQL, the Tessie simulator serving
two Tessie accounts, all five services as processes, wired as ``make run`` wires them).

The demo account's token is registered by the stack itself; the second customer is opened as
an operator would (``tc_db``, published) and hands over its own token through the API. Then:

1. neither token appears, as text, base64 (either alphabet) or hex, in any service's log, any
   metric, any Kafka message (key or value, on every topic) or any database row (every table,
   every column as text: bytea reads as hex);
2. the second customer erases its account through the API: afterwards nothing of it is left in
   the database, the newest record of each of its keys on every compacted topic is a
   tombstone, ingest stopped asking Tessie for its car, and the first customer's data is whole.
"""

import asyncio
import base64
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import psycopg
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from tc_common.events.accounts import AccountChanged
from tc_common.publishing import publish
from tc_common.settings import KafkaSettings
from tc_common.topics import ACCOUNT_CHANGED_V1, API_KEY_CHANGED_V1, CONTRACT
from tc_db import accounts
from tc_devstack.stack import SERVICES, Stack, StackConfig
from tc_testkit.moments import SATURDAY_AFTERNOON

from .support import eventually

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

OTHER = "other"  # the second Tessie account the simulator serves, and our second customer
# Not part of the system under test: the stand-ins for Tessie and the market APIs.
NOT_OURS = ("tessie-sim.log", "market-fakes.log")


@dataclass
class Customer:
    account_id: uuid.UUID
    email: str
    key: str
    key_id: uuid.UUID | None  # the demo account's key is the stack's, issued before
    token: str
    vins: list[str]


@dataclass
class Tenants:
    stack: Stack
    demo: Customer
    other: Customer


def _client(stack: Stack, key: str) -> httpx.Client:
    return httpx.Client(base_url=stack.api_url, headers={"X-API-Key": key}, timeout=15.0)


def _has_telemetry(stack: Stack, key: str, vin: str) -> bool:
    with _client(stack, key) as client:
        return client.get(f"/v1/vehicles/{vin}/latest").status_code == 200


@pytest.fixture(scope="module")
def tenants(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tenants]:
    config = StackConfig(
        run_dir=tmp_path_factory.mktemp("tenants"),
        sim_vehicles=2,
        sim_accounts=((OTHER, 1, 7),),
        poll_interval_s=5.0,
        keep_database=False,
        api_port=None,
        start_at=SATURDAY_AFTERNOON.at,
    )
    with Stack(config) as stack:
        assert stack.demo_account_id is not None
        with _client(stack, stack.api_key) as client:
            demo_account = client.get("/v1/account").json()
        demo = Customer(
            stack.demo_account_id,
            demo_account["email"],
            stack.api_key,
            None,
            stack.tessie_token,
            demo_account["vehicle_ids"],
        )

        async def open_other() -> tuple[AccountChanged, accounts.IssuedKey]:
            async with await psycopg.AsyncConnection.connect(
                stack.database_url, autocommit=True
            ) as conn:
                at = stack.clock.now()
                account = await accounts.create_account(conn, "kari@example.org", at=at)
                key = await accounts.issue_key(conn, account.account_id, label="", at=at)
            await publish(
                KafkaSettings(bootstrap_servers=stack.bootstrap_servers),
                [(ACCOUNT_CHANGED_V1, account), (API_KEY_CHANGED_V1, key.event)],
            )
            return account, key

        account, key = asyncio.run(open_other())
        token = stack.sim_account_tokens[OTHER]
        with _client(stack, key.key) as client:
            registered = client.put("/v1/account/tessie-token", json={"token": token})
        assert registered.status_code == 200, registered.text
        other = Customer(
            account.account_id,
            account.email,
            key.key,
            key.event.key_id,
            token,
            registered.json()["vehicle_ids"],
        )
        assert other.vins
        assert not set(other.vins) & set(demo.vins)
        for customer in (demo, other):
            for vin in customer.vins:
                eventually(
                    lambda c=customer, v=vin: _has_telemetry(stack, c.key, v),
                    90,
                    f"telemetry of {vin} through its own account's key",
                )
        yield Tenants(stack, demo, other)


def _forms(secret: str) -> list[bytes]:
    raw = secret.encode()
    return [
        raw,
        base64.b64encode(raw),
        base64.b64encode(raw).rstrip(b"="),
        base64.urlsafe_b64encode(raw).rstrip(b"="),
        raw.hex().encode(),
        raw.hex().upper().encode(),
    ]


def _every_record(bootstrap_servers: str) -> dict[str, list[tuple[bytes | None, bytes | None]]]:
    """Every record of every topic, tombstones included, in offset order per partition."""

    async def read() -> dict[str, list[tuple[bytes | None, bytes | None]]]:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap_servers, enable_auto_commit=False, group_id=None
        )
        await consumer.start()
        try:
            topics = sorted(await consumer.topics())
            tps = [
                TopicPartition(t, p) for t in topics for p in consumer.partitions_for_topic(t) or ()
            ]
            consumer.assign(tps)
            await consumer.seek_to_beginning(*tps)
            end = await consumer.end_offsets(tps)
            found: dict[str, list[tuple[bytes | None, bytes | None]]] = {t: [] for t in topics}
            remaining = {tp for tp in tps if end[tp] > 0}
            deadline = time.monotonic() + 120
            while remaining and time.monotonic() < deadline:
                batch = await consumer.getmany(timeout_ms=1000)
                for tp, records in batch.items():
                    found[tp.topic] += [(r.key, r.value) for r in records if r.offset < end[tp]]
                for tp in list(remaining):
                    if await consumer.position(tp) >= end[tp]:
                        remaining.discard(tp)
            assert not remaining, f"could not read {remaining} to the end"
            return found
        finally:
            await consumer.stop()

    return asyncio.run(read())


def _database_text(database_url: str) -> str:
    with psycopg.connect(database_url) as conn:
        tables = conn.execute(
            "SELECT quote_ident(table_name) FROM information_schema.tables "
            "WHERE table_schema = 'public' AND table_type = 'BASE TABLE'"
        ).fetchall()
        return "\n".join(
            row[0] for (table,) in tables for row in conn.execute(f"SELECT t::text FROM {table} t")
        )


def test_no_tessie_token_is_in_any_log_metric_message_or_row(tenants: Tenants) -> None:
    stack = tenants.stack
    forms = [f for c in (tenants.demo, tenants.other) for f in _forms(c.token)]
    places: dict[str, bytes] = {}
    for log in sorted(stack.log_dir.glob("*.log")):
        if log.name not in NOT_OURS:
            places[f"log {log.name}"] = log.read_bytes()
    for service in SERVICES:
        metrics = httpx.get(f"http://127.0.0.1:{stack.ports[service]}/metrics", timeout=10)
        places[f"metrics of {service}"] = metrics.content
    for topic, records in _every_record(stack.bootstrap_servers).items():
        places[f"topic {topic}"] = b"\n".join((k or b"") + b"\t" + (v or b"") for k, v in records)
    places["database"] = _database_text(stack.database_url).encode()

    found = {where for where, data in places.items() for form in forms if form in data}
    assert not found, f"a Tessie token, or its base64/hex form, is in: {sorted(found)}"
    # The scan read where the tokens do go, as ciphertext: the bus and the table.
    assert places["topic accounts.tessie_tokens.v1"].count(b'"status":"registered"') >= 2
    with psycopg.connect(stack.database_url) as conn:
        sealed = conn.execute("SELECT count(*) FROM tessie_tokens WHERE sealed IS NOT NULL")
        assert sealed.fetchone() == (2,)
    assert "log ingest.log" in places


def _requests_for(stack: Stack, account: str) -> int:
    stats = httpx.get(f"{stack.tessie_base_url}/_sim/stats", timeout=10).json()
    return sum(stats["requests_by_account"].get(account, {}).values())


def test_an_erased_customer_leaves_nothing_and_the_other_keeps_everything(
    tenants: Tenants,
) -> None:
    stack, demo, other = tenants.stack, tenants.demo, tenants.other
    with psycopg.connect(stack.database_url) as conn:
        demo_before = conn.execute(
            "SELECT count(*) FROM telemetry WHERE vehicle_id = ANY(%s)", (demo.vins,)
        ).fetchone()

    with _client(stack, other.key) as client:
        response = client.delete("/v1/account")
    assert response.status_code == 202, response.text

    def erased() -> bool:
        with psycopg.connect(stack.database_url) as conn:
            row = conn.execute(
                "SELECT state, email FROM accounts WHERE account_id = %s", (other.account_id,)
            ).fetchone()
        return row == ("erased", "")

    eventually(erased, 120, "the account erased by the store and the forecast")

    # Ingest stopped asking Tessie about the erased customer's car.
    time.sleep(2 * stack.config.poll_interval_s)
    asked = _requests_for(stack, OTHER)
    time.sleep(3 * stack.config.poll_interval_s)
    assert _requests_for(stack, OTHER) == asked

    text = _database_text(stack.database_url)
    for gone in (*other.vins, other.email, other.key):
        assert gone not in text, f"{gone!r} is still in the database"
    for kept in (*demo.vins, demo.email):
        assert kept in text
    with psycopg.connect(stack.database_url) as conn:
        demo_after = conn.execute(
            "SELECT count(*) FROM telemetry WHERE vehicle_id = ANY(%s)", (demo.vins,)
        ).fetchone()
    assert demo_before is not None
    assert demo_after is not None
    assert demo_after[0] >= demo_before[0] > 0

    # On every compacted topic, each key of the erased customer ends in a tombstone.
    records = _every_record(stack.bootstrap_servers)
    marks = [v.encode() for v in other.vins] + [
        str(other.account_id).encode(),
        str(other.key_id).encode(),
    ]
    newest: dict[tuple[str, bytes], Any] = {}
    for topic, policy in CONTRACT.items():
        if not policy.compacted:
            continue
        for key, value in records.get(topic, []):
            if key is not None and any(mark in key for mark in marks):
                newest[(topic, key)] = value
    assert newest, "the erased customer had keys on the compacted topics"
    alive = sorted(
        f"{topic} {key!r}" for (topic, key), value in newest.items() if value is not None
    )
    assert not alive, f"keys of the erased customer not ended by a tombstone: {alive}"
    assert any(topic == API_KEY_CHANGED_V1 for topic, _ in newest)

    # The first customer still reads its cars, and the erased key is refused.
    with _client(stack, demo.key) as client:
        assert client.get(f"/v1/vehicles/{demo.vins[0]}/latest").status_code == 200
    with _client(stack, other.key) as client:
        assert client.get("/v1/account").status_code == 401
