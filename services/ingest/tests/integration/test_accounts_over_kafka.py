"""Ingest polls each customer account's Tessie vehicles with the account's own token: sealed
tokens on a real Kafka-protocol broker (Tansu), the Tessie simulator over HTTP serving one
fleet per token."""

import asyncio
import itertools
import logging
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

import pytest
from asgi_lifespan import LifespanManager

from tc_common.clock import ShiftedClock
from tc_common.events import TelemetrySampled, TessieAccessChanged
from tc_common.messaging import ensure_topics
from tc_common.settings import KafkaSettings
from tc_common.topics import TELEMETRY_SAMPLED_V1, TESSIE_ACCESS_CHANGED_V1, TESSIE_TOKEN_CHANGED_V1
from tc_devstack.kafka import LocalKafka
from tc_ingest.main import create_app
from tc_ingest.settings import IngestSettings, TessieSettings
from tc_tessie_sim.server import RunningSimulator, running_simulator
from tc_testkit.kafka import (
    Record,
    consume,
    dead_letters_of,
    event_of,
    first,
    keyed,
    produce,
    topics_holding_any,
)
from tc_testkit.waiting import eventually
from tc_vault import Vault

from ..accounts_support import make_vault, registered, revoked, token_texts, vault_settings  # noqa: TID252

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]

POLL_INTERVAL_S = 5.0
# A Tuesday, 20:30 in Oslo: every simulated car is parked at home with sentry on, so awake;
# the simulator's and the service's clock run on from here at real speed, whatever the hour.
SIM_START = datetime(2024, 6, 4, 18, 30, tzinfo=UTC)


@dataclass
class Account:
    name: str
    account_id: UUID
    token: str
    vins: list[str]


@dataclass
class Setup:
    sim: RunningSimulator
    clock: ShiftedClock
    a: Account
    b: Account
    vault: Vault


# Each test's fleets get seeds of their own (71, 72; 73, 74; ...), so their VINs appear in no
# other test's messages on the shared topics (every test's clock starts at SIM_START).
_SEEDS = itertools.count(71)


@pytest.fixture
async def setup(kafka: LocalKafka) -> AsyncIterator[Setup]:
    # By the contract (compacted) before the test writes to them.
    await ensure_topics(
        KafkaSettings(bootstrap_servers=kafka.bootstrap_servers),
        [TESSIE_TOKEN_CHANGED_V1, TESSIE_ACCESS_CHANGED_V1],
    )
    clock = ShiftedClock.starting_at(SIM_START)
    with running_simulator(
        token=f"operator-{uuid.uuid4().hex}", vehicles=1, seed=70, now=clock
    ) as sim:
        accounts = []
        for name in ("a", "b"):
            seed = next(_SEEDS)
            token = f"tessie-{name}-{uuid.uuid4().hex}"
            vins = sim.add_account(name, token, vehicles=2, seed=seed)
            accounts.append(Account(name, uuid.uuid4(), token, vins))
        yield Setup(sim, clock, accounts[0], accounts[1], make_vault())


@pytest.fixture
async def tokens_erased_afterwards(kafka: LocalKafka, setup: Setup) -> AsyncIterator[None]:
    """The token topic is shared by the session: later tests' ingest must not poll these."""
    yield
    await produce(
        kafka.bootstrap_servers,
        TESSIE_TOKEN_CHANGED_V1,
        [(str(acc.account_id).encode(), None) for acc in (setup.a, setup.b)],
    )


def settings_for(
    kafka: LocalKafka, sim: RunningSimulator, *, history: bool = False
) -> IngestSettings:
    # No INGEST_TESSIE__TOKEN: only the accounts' tokens are polled.
    return IngestSettings(
        tessie=TessieSettings(base_url=sim.base_url),
        vault=vault_settings(),
        kafka=KafkaSettings(bootstrap_servers=kafka.bootstrap_servers),
        poll_interval_s=POLL_INTERVAL_S,
        market={"enabled": False},
        weather={"enabled": False},
        history={"enabled": history, "backfill_days": 2},
    )


def samples_of(vins: set[str], since: datetime) -> Callable[[Record], TelemetrySampled | None]:
    """A ``keep``: samples of ``vins`` fetched since ``since`` (the session's topic holds
    other tests' samples too)."""

    def keep(record: Record) -> TelemetrySampled | None:
        event = event_of(TelemetrySampled, record)
        if event is None or event.vehicle_id not in vins or event.fetched_at < since:
            return None
        return event

    return keep


async def register(kafka: LocalKafka, setup: Setup, *accounts: Account) -> dict[UUID, UUID]:
    """Publish a registered token for each account, as the api does; their token ids."""
    events = [registered(setup.vault, acc.account_id, acc.token) for acc in accounts]
    await produce(kafka.bootstrap_servers, TESSIE_TOKEN_CHANGED_V1, events)
    return {e.account_id: e.token_id for e in events}


def reads(setup: Setup, account: Account) -> int:
    return sum(setup.sim.requests_by_account().get(account.name, {}).values())


async def test_each_accounts_vehicles_are_sampled_with_its_own_token(
    kafka: LocalKafka, setup: Setup, tokens_erased_afterwards: None
) -> None:
    a, b = setup.a, setup.b
    token_ids = await register(kafka, setup, a, b)
    since = setup.clock.now()
    app = create_app(settings_for(kafka, setup.sim, history=True), clock=setup.clock)

    async with LifespanManager(app, startup_timeout=60, shutdown_timeout=30):
        seen = await consume(
            kafka.bootstrap_servers,
            TELEMETRY_SAMPLED_V1,
            samples_of({*a.vins, *b.vins}, since),
            until=lambda got: {e.vehicle_id for e in got} >= {*a.vins, *b.vins},
            timeout_s=90,
        )
        accepted = [
            await first(
                kafka.bootstrap_servers,
                TESSIE_ACCESS_CHANGED_V1,
                keyed(str(acc.account_id).encode(), TessieAccessChanged),
                what=f"account {acc.name}'s access",
            )
            for acc in (a, b)
        ]
        # The history poller runs per account too: one /drives and one /charges per car.
        cars = len(a.vins) + len(b.vins)
        await eventually(
            lambda: all(
                setup.sim.stats()["requests"].get(kind, 0) >= cars for kind in ("drives", "charges")
            ),
            timeout_s=30,
            what="every car's drives and charges being read",
        )

    assert {e.vehicle_id for e in seen} == {*a.vins, *b.vins}
    # Which token read which car: each account's cars only with its own token, and the
    # simulator's other account (the operator's token, not configured) not at all.
    by_account = setup.sim.requests_by_account()
    assert set(by_account) == {"a", "b"}
    assert set(by_account["a"]) - {"vehicles"} == set(a.vins)
    assert set(by_account["b"]) - {"vehicles"} == set(b.vins)
    assert [(e.access, e.token_id) for e in accepted] == [
        ("accepted", token_ids[a.account_id]),
        ("accepted", token_ids[b.account_id]),
    ]
    stats = setup.sim.stats()
    assert stats["unauthorized"] == 0
    assert sum(stats["wakes"].values()) == 0
    assert stats["live_reads"] == 0


async def test_revoking_a_token_stops_its_polling_within_one_interval_and_not_the_others(
    kafka: LocalKafka, setup: Setup, tokens_erased_afterwards: None
) -> None:
    a, b = setup.a, setup.b
    token_ids = await register(kafka, setup, a, b)
    app = create_app(settings_for(kafka, setup.sim), clock=setup.clock)
    loop = asyncio.get_running_loop()

    async with LifespanManager(app, startup_timeout=60, shutdown_timeout=30):
        await eventually(
            lambda: all(
                set(setup.sim.requests_by_account().get(acc.name, {})) >= set(acc.vins)
                for acc in (a, b)
            ),
            timeout_s=60,
            what="both accounts' cars being read",
        )
        await produce(
            kafka.bootstrap_servers,
            TESSIE_TOKEN_CHANGED_V1,
            [revoked(a.account_id, token_ids[a.account_id])],
        )
        revoked_at = loop.time()
        last_read_at, last_reads = revoked_at, reads(setup, a)
        b_before = reads(setup, b)
        # Watch for three intervals: when did account a's reads last grow?
        while loop.time() < revoked_at + 3 * POLL_INTERVAL_S:
            await asyncio.sleep(0.05)
            if reads(setup, a) != last_reads:
                last_read_at, last_reads = loop.time(), reads(setup, a)
        b_after = reads(setup, b)

    assert last_read_at - revoked_at <= POLL_INTERVAL_S, (
        f"account a was still read {last_read_at - revoked_at:.1f}s after its token was revoked"
    )
    assert b_after >= b_before + 2 * len(b.vins), "account b stopped being polled"


async def test_a_token_tessie_refuses_is_reported_once_and_a_new_one_is_accepted(
    kafka: LocalKafka,
    setup: Setup,
    tokens_erased_afterwards: None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    a, b = setup.a, setup.b
    first_ids = await register(kafka, setup, a, b)
    app = create_app(settings_for(kafka, setup.sim), clock=setup.clock)
    key_a = str(a.account_id).encode()
    since = setup.clock.now()

    async with LifespanManager(app, startup_timeout=60, shutdown_timeout=30):
        await eventually(
            lambda: set(setup.sim.requests_by_account().get("a", {})) >= set(a.vins),
            timeout_s=60,
            what="account a's cars being read",
        )
        setup.sim.invalidate_token("a")
        rejected = await first(
            kafka.bootstrap_servers,
            TESSIE_ACCESS_CHANGED_V1,
            keyed(key_a, TessieAccessChanged, lambda e: e.access == "rejected"),
            timeout_s=30,
            what="account a's token rejected",
        )
        refused_reads = reads(setup, a)
        b_reads = reads(setup, b)
        await asyncio.sleep(2 * POLL_INTERVAL_S)
        reads_while_refused = reads(setup, a) - refused_reads
        b_went_on = reads(setup, b) > b_reads

        # The customer registers a token again (here: the same account's token made valid).
        setup.sim.restore_token("a")
        renewed = await register(kafka, setup, a)
        accepted_again = await first(
            kafka.bootstrap_servers,
            TESSIE_ACCESS_CHANGED_V1,
            keyed(key_a, TessieAccessChanged, lambda e: e.token_id == renewed[a.account_id]),
            timeout_s=30,
            what="account a's new token accepted",
        )
        resumed_since = setup.clock.now()
        await first(
            kafka.bootstrap_servers,
            TELEMETRY_SAMPLED_V1,
            samples_of(set(a.vins), resumed_since),
            timeout_s=60,
            what="a sample of account a after its new token",
        )
        access_a = await consume(
            kafka.bootstrap_servers,
            TESSIE_ACCESS_CHANGED_V1,
            keyed(key_a, TessieAccessChanged, lambda e: e.observed_at >= since),
            until=lambda got: len(got) >= 4,
            timeout_s=3,
        )
        access_b = await consume(
            kafka.bootstrap_servers,
            TESSIE_ACCESS_CHANGED_V1,
            keyed(str(b.account_id).encode(), TessieAccessChanged),
            until=lambda got: len(got) >= 2,
            timeout_s=3,
        )

    assert rejected.token_id == first_ids[a.account_id]
    assert rejected.http_status == 401
    assert set(rejected.vehicle_ids) == set(a.vins)
    assert reads_while_refused == 0, "a refused token was sent to Tessie again"
    assert b_went_on
    assert accepted_again.access == "accepted"
    assert [e.access for e in access_a] == ["accepted", "rejected", "accepted"]
    assert [e.access for e in access_b] == ["accepted"]

    # No form of either token in what the service logged (before any redaction) or on the bus.
    leaked_in_logs = [
        text for acc in (a, b) for text in token_texts(acc.token) if text in caplog.text
    ]
    assert leaked_in_logs == []
    on_bus = await topics_holding_any(
        kafka.bootstrap_servers,
        [text.encode() for acc in (a, b) for text in token_texts(acc.token)],
    )
    assert {needle: topics for needle, topics in on_bus.items() if topics} == {}


async def test_a_restarted_ingest_polls_the_accounts_from_the_compacted_topic_again(
    kafka: LocalKafka, setup: Setup, tokens_erased_afterwards: None
) -> None:
    a, b = setup.a, setup.b
    await register(kafka, setup, a, b)
    # A malformed token message goes to the dead letters; the others are still polled.
    broken_key = str(uuid.uuid4()).encode()
    await produce(kafka.bootstrap_servers, TESSIE_TOKEN_CHANGED_V1, [(broken_key, b"{not json")])
    vins = {*a.vins, *b.vins}

    for run in ("first", "restarted"):
        since = setup.clock.now()
        app = create_app(settings_for(kafka, setup.sim), clock=setup.clock)
        async with LifespanManager(app, startup_timeout=60, shutdown_timeout=30):
            seen = await consume(
                kafka.bootstrap_servers,
                TELEMETRY_SAMPLED_V1,
                samples_of(vins, since),
                until=lambda got: {e.vehicle_id for e in got} >= vins,
                timeout_s=90,
            )
        assert {e.vehicle_id for e in seen} == vins, f"the {run} ingest missed cars"

    letter = await first(
        kafka.bootstrap_servers,
        "ops.deadletter.v1",
        dead_letters_of(broken_key, TESSIE_TOKEN_CHANGED_V1),
        what="the malformed token message's dead letter",
    )
    assert letter.source_topic == TESSIE_TOKEN_CHANGED_V1
