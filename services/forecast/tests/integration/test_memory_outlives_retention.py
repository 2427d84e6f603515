"""What the forecast service learned survives the raw topics' retention (issue 10, part 2).

The service learns each car's rhythm from weeks of drives and charges and forecasts prices from
months of history, but the raw topics keep a week. Here everything it learned from is published,
learned, and then aged out of the raw topics (deleted and recreated empty, which is what expiry
does to a topic whose every message is older than its retention); a new instance must know the
car and the prices at once. Before, it replayed the raw topics and fell back to "learning".
"""

import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import timedelta

import pytest
from asgi_lifespan import LifespanManager

from tc_common.clock import ShiftedClock
from tc_common.events import BehaviourProfileUpdated, PriceForecastPublished
from tc_common.topics import (
    BEHAVIOUR_PROFILE_UPDATED_V1,
    CHARGE_RECORDED_V1,
    DRIVE_RECORDED_V1,
    PRICE_FORECAST_PUBLISHED_V1,
    SPOT_PRICES_PUBLISHED_V1,
)
from tc_devstack import LocalKafka
from tc_forecast.domain.behaviour.synthetic_history import Commuter, commuter_history
from tc_forecast.main import create_app
from tc_forecast.settings import ForecastSettings
from tc_testkit.kafka import Record, age_out, consume, event_of, produce
from tc_testkit.market import spot_prices
from tc_testkit.moments import SATURDAY_AFTERNOON

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]

RAW_TOPICS = (DRIVE_RECORDED_V1, CHARGE_RECORDED_V1, SPOT_PRICES_PUBLISHED_V1)
PRICE_DAYS = 70


@pytest.fixture
def own_kafka() -> Iterator[LocalKafka]:
    """A broker of this test's own: its raw topics are emptied, which other tests must not see."""
    with LocalKafka() as broker:
        yield broker


@contextlib.asynccontextmanager
async def forecast_service(kafka: LocalKafka, clock: ShiftedClock) -> AsyncIterator[None]:
    settings = ForecastSettings(
        # The restarted app joins the groups its predecessor just left: should the broker still
        # count the old consumers in, it holds the joins for the rebalance timeout, which
        # follows max_poll_interval (5 min by default). These handlers never take 20 s.
        kafka={"bootstrap_servers": kafka.bootstrap_servers, "max_poll_interval_ms": 20_000},
        behaviour_debounce_s=0.5,
        price_refit_debounce_s=0.5,
        plan_startup_grace_s=0,
    )
    async with LifespanManager(create_app(settings, clock=clock), startup_timeout=60):
        yield


def ready_profile_of(
    vin: str, after_s: float
) -> Callable[[Record], BehaviourProfileUpdated | None]:
    def keep(record: Record) -> BehaviourProfileUpdated | None:
        profile = event_of(BehaviourProfileUpdated, record)
        if (
            profile is None
            or profile.vehicle_id != vin
            or profile.learning_state == "learning"
            or record.timestamp / 1000 < after_s
        ):
            return None
        return profile

    return keep


def forecast_of(zone: str, after_s: float) -> Callable[[Record], PriceForecastPublished | None]:
    def keep(record: Record) -> PriceForecastPublished | None:
        forecast = event_of(PriceForecastPublished, record)
        if forecast is None or forecast.zone != zone or record.timestamp / 1000 < after_s:
            return None
        return forecast

    return keep


async def test_a_restart_after_the_raw_topics_aged_out_remembers_the_car_and_the_prices(
    own_kafka: LocalKafka,
) -> None:
    clock = ShiftedClock.starting_at(SATURDAY_AFTERNOON.at)
    now = clock.now()
    vin = f"MEM{uuid.uuid4().hex[:13].upper()}"
    car = Commuter(vehicle_id=vin)
    today = now.date()
    drives, charges = commuter_history(today - timedelta(days=21), 21, car=car)
    days = [today - timedelta(days=n) for n in range(PRICE_DAYS, -1, -1)]
    bootstrap = own_kafka.bootstrap_servers

    async with forecast_service(own_kafka, clock):
        await produce(bootstrap, DRIVE_RECORDED_V1, [d for d in drives if d.ended_at <= now])
        await produce(bootstrap, CHARGE_RECORDED_V1, [c for c in charges if c.ended_at <= now])
        await produce(bootstrap, SPOT_PRICES_PUBLISHED_V1, [spot_prices(d) for d in days])
        learned = await consume(
            bootstrap,
            BEHAVIOUR_PROFILE_UPDATED_V1,
            ready_profile_of(vin, 0),
            until=bool,
            timeout_s=60,
        )
        forecast = await consume(
            bootstrap,
            PRICE_FORECAST_PUBLISHED_V1,
            forecast_of("NO1", 0),
            until=bool,
            timeout_s=90,
        )
    assert learned, "the first instance did not learn the car"
    assert forecast, "the first instance did not forecast prices"

    await age_out(own_kafka.bootstrap_servers, RAW_TOPICS)
    restarted_at_s = time.time()  # broker timestamps are wall-clock, not the pinned clock
    async with forecast_service(own_kafka, clock):
        relearned = await consume(
            bootstrap,
            BEHAVIOUR_PROFILE_UPDATED_V1,
            ready_profile_of(vin, restarted_at_s),
            until=bool,
            timeout_s=60,
        )
        reforecast = await consume(
            bootstrap,
            PRICE_FORECAST_PUBLISHED_V1,
            forecast_of("NO1", restarted_at_s),
            until=bool,
            timeout_s=90,
        )

    assert relearned, "the restarted instance forgot the car"
    assert relearned[-1].days_observed == learned[-1].days_observed
    assert reforecast, "the restarted instance has no price history"
