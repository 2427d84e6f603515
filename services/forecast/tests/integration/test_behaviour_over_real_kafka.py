"""Behaviour profiles and charge plans through a real Kafka-protocol broker: three weeks of a
commuter's drives and charges in, a ready profile out; a plugged-in sample and published
prices in, a charge plan out."""

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from asgi_lifespan import LifespanManager
from faststream.asgi import AsgiFastStream

from tc_common.events import (
    BehaviourProfileUpdated,
    ChargePlanPublished,
    Event,
    SpotPriceSlot,
    SpotPricesPublished,
    TelemetrySampled,
)
from tc_common.topics import (
    BEHAVIOUR_PROFILE_UPDATED_V1,
    CHARGE_PLAN_PUBLISHED_V1,
    CHARGE_RECORDED_V1,
    DRIVE_RECORDED_V1,
    SPOT_PRICES_PUBLISHED_V1,
    TELEMETRY_SAMPLED_V1,
)
from tc_devstack import LocalKafka
from tc_forecast.domain.behaviour.synthetic_history import Commuter, commuter_history
from tc_forecast.main import create_app
from tc_forecast.settings import ForecastSettings

pytestmark = [pytest.mark.integration, pytest.mark.timeout(150)]

OSLO = ZoneInfo("Europe/Oslo")


@pytest.fixture
async def running_app(kafka: LocalKafka) -> AsyncIterator[AsgiFastStream]:
    settings = ForecastSettings(
        kafka={"bootstrap_servers": kafka.bootstrap_servers},
        behaviour_debounce_s=0.5,
        plan_tick_s=0.2,
        plan_startup_grace_s=0,
    )
    app = create_app(settings)
    async with LifespanManager(app, startup_timeout=60, shutdown_timeout=30):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://forecast") as client:
            # The lifespan reports "started" before the broker has connected; wait for it.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(30):
                    while True:
                        if (await client.get("/healthz", timeout=30)).status_code == 204:
                            break
                        await asyncio.sleep(0.2)
        yield app


async def produce(kafka: LocalKafka, topic: str, events: list[Event]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=kafka.bootstrap_servers, acks="all")
    await producer.start()
    try:
        for event in events:
            await producer.send_and_wait(
                topic, event.model_dump_json().encode(), key=event.kafka_key()
            )
    finally:
        await producer.stop()


async def first_matching(
    kafka: LocalKafka, topic: str, key: bytes, accept: type[Event], ok: object, timeout_s: float
) -> Event | None:
    """The first value under ``key`` on ``topic`` for which ``ok(event)`` holds."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=kafka.bootstrap_servers,
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        async with asyncio.timeout(timeout_s):
            while True:
                batch = await consumer.getmany(timeout_ms=500)
                for records in batch.values():
                    for m in records:
                        if m.key != key or m.value is None:
                            continue
                        event = accept.model_validate_json(m.value)
                        if callable(ok) and ok(event):
                            return event
    except TimeoutError:
        return None
    finally:
        await consumer.stop()


def day_ahead(day: date) -> SpotPricesPublished:
    """A day of NO1 prices: dear in the day, cheap at night."""
    start = datetime(day.year, day.month, day.day, tzinfo=OSLO).astimezone(UTC)
    slots = []
    for h in range(24):
        eur = 110.0 if 7 <= h < 21 else 35.0
        slots.append(
            SpotPriceSlot(
                start_at=start + timedelta(hours=h),
                end_at=start + timedelta(hours=h + 1),
                price_eur_per_mwh=eur,
                price_nok_ore_per_kwh=eur * 11.6 / 10,
            )
        )
    return SpotPricesPublished(
        zone="NO1",
        delivery_date=day,
        resolution_min=60,
        source="simulated",
        fetched_at=start,
        eur_nok=11.6,
        slots=tuple(slots),
    )


async def test_a_commuters_history_becomes_a_ready_profile_and_a_charge_plan(
    kafka: LocalKafka, running_app: AsgiFastStream
) -> None:
    vin = f"TEST{uuid.uuid4().hex[:13].upper()}"
    car = Commuter(vehicle_id=vin)
    now = datetime.now(UTC)
    today = now.astimezone(OSLO).date()
    drives, charges = commuter_history(today - timedelta(days=20), 21, car=car)
    drives = [d for d in drives if d.ended_at <= now]
    charges = [c for c in charges if c.ended_at <= now]

    await produce(kafka, DRIVE_RECORDED_V1, list(drives))
    await produce(kafka, CHARGE_RECORDED_V1, list(charges))
    profile = await first_matching(
        kafka,
        BEHAVIOUR_PROFILE_UPDATED_V1,
        vin.encode(),
        BehaviourProfileUpdated,
        lambda e: e.learning_state == "ready",
        timeout_s=45,
    )

    assert isinstance(profile, BehaviourProfileUpdated)
    assert profile.days_observed == 20
    assert [loc.kind for loc in profile.locations] == ["home"]
    assert profile.summary

    await produce(
        kafka, SPOT_PRICES_PUBLISHED_V1, [day_ahead(today), day_ahead(today + timedelta(days=1))]
    )
    at = datetime.now(UTC)
    plugged_in = TelemetrySampled(
        vehicle_id=vin,
        sampled_at=at,
        fetched_at=at,
        online_state="online",
        battery_level_pct=30.0,
        charge_limit_pct=80.0,
        charging_state="Stopped",
        latitude_deg=car.home[0],
        longitude_deg=car.home[1],
    )
    await produce(kafka, TELEMETRY_SAMPLED_V1, [plugged_in])
    plan = await first_matching(
        kafka,
        CHARGE_PLAN_PUBLISHED_V1,
        vin.encode(),
        ChargePlanPublished,
        lambda e: e.status in ("planned", "charging_now"),
        timeout_s=45,
    )

    assert isinstance(plan, ChargePlanPublished)
    assert plan.battery_level_pct == 30.0
    assert plan.target_source == "learned_need"
    assert plan.energy_to_add_kwh > 5
    assert plan.slots
    assert sum(s.energy_kwh for s in plan.slots) == pytest.approx(plan.energy_to_add_kwh, rel=0.01)
    assert plan.expected_cost <= plan.cost_if_charged_now
