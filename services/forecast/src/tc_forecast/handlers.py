"""Kafka wiring of the forecast service.

- telemetry in, state-of-charge changes out;
- spot prices in, price forecasts (p10/p50/p90) and price anomalies out;
- drives and charges in, behaviour profiles out;
- telemetry, prices, forecasts and profiles in, charge plans out.

What the service learns from (drives, charges, spot prices) it first copies into changelogs of
its own: compacted topics keyed by entity, which keep every drive, charge and delivery day
however short the raw topics' retention. The raw topics are consumed in a consumer group (a
restart resumes after the last copied message); the changelogs are read whole from the start
on every start, which rebuilds the profiles and the price history at once.

An account's erasure (``accounts.changes.v1``, state ``erasure_pending``) forgets its vehicles
and tombstones their keys (``erasure.py``). A tombstone is a record whose value is null:
FastStream would hand it to a typed handler as an empty body, which fails validation and would
be dead-lettered, so the subscribers of compacted topics decode a null value as ``None``
(``tc_common.tombstones.null_is_tombstone``) and drop the key's memory.
"""

from collections.abc import Callable, Iterable

from faststream import AckPolicy
from faststream.kafka import KafkaMessage, KafkaRouter
from faststream.kafka.publisher.usecase import DefaultPublisher

from tc_common.clock import Clock, SystemClock
from tc_common.events import (
    AccountChanged,
    BehaviourProfileUpdated,
    ChargePlanPublished,
    ChargeRecorded,
    DriveRecorded,
    ErasureStepDone,
    PriceAnomalyDetected,
    PriceForecastPublished,
    SpotPricesPublished,
    StateOfChargeChanged,
    TelemetrySampled,
)
from tc_common.tombstones import null_is_tombstone
from tc_common.topics import (
    ACCOUNT_CHANGED_V1,
    BEHAVIOUR_PROFILE_UPDATED_V1,
    CHARGE_PLAN_PUBLISHED_V1,
    CHARGE_RECORDED_V1,
    DRIVE_RECORDED_V1,
    ERASURE_STEP_DONE_V1,
    FORECAST_CHARGES_CHANGELOG_V1,
    FORECAST_DRIVES_CHANGELOG_V1,
    FORECAST_PRICES_CHANGELOG_V1,
    FORECAST_VEHICLES_CHANGELOG_V1,
    PRICE_ANOMALY_DETECTED_V1,
    PRICE_FORECAST_PUBLISHED_V1,
    SPOT_PRICES_PUBLISHED_V1,
    STATE_OF_CHARGE_CHANGED_V1,
    TELEMETRY_SAMPLED_V1,
)
from tc_forecast.behaviour_runner import BehaviourRunner
from tc_forecast.domain import changelog_key, track_soc
from tc_forecast.domain.changelog import parse_episode_key
from tc_forecast.erasure import Forget, VehicleEraser
from tc_forecast.plan_runner import PlanRunner
from tc_forecast.ports import SocStateRepo, TombstoneSender
from tc_forecast.price_runner import PriceForecastRunner
from tc_forecast.vehicle_memory import VehicleMemory, VehicleRemembered

GROUP_ID = "forecast"
"""The default prefix of the service's consumer groups (``ForecastSettings.consumer_group``):

- ``<group>``: the telemetry;
- ``<group>.changelog.<topic>``: the copies of drives, charges and prices into the changelogs,
  one group per source topic and apart from the telemetry group: each has one member per
  instance, so a consumer joining or leaving one never makes another rebalance (one group for
  all three held a restart's joins past a minute on the test broker);
- ``<group>.erasure``: account changes for erasures; its offset is committed only once the step
  is done, so a request is never lost to a stop half-way (redoing it is harmless)."""


def _key_of(message: KafkaMessage) -> bytes | None:
    key = getattr(message.raw_message, "key", None)
    return key if isinstance(key, bytes) else None


def build_router(
    repo: SocStateRepo,
    *,
    soc_step_pct: float,
    prices: PriceForecastRunner | None = None,
    behaviour: BehaviourRunner | None = None,
    plans: PlanRunner | None = None,
    tombstones: TombstoneSender | None = None,
    clock: Clock | None = None,
    group_id: str = GROUP_ID,
) -> KafkaRouter:
    """The service's subscribers and publishers; with ``tombstones``, its erasure step too."""
    router = KafkaRouter()
    eraser = VehicleEraser(
        clock=clock or SystemClock(), send_tombstones=tombstones or _no_tombstones
    )
    soc_changed = router.publisher(
        STATE_OF_CHARGE_CHANGED_V1,
        schema=StateOfChargeChanged,
        title=f"{STATE_OF_CHARGE_CHANGED_V1}:StateOfChargeChanged",
        description="A vehicle's state of charge moved by the reporting step, or it started or "
        "stopped charging. Keyed by VIN.",
    )

    remembered = router.publisher(
        FORECAST_VEHICLES_CHANGELOG_V1,
        schema=VehicleRemembered,
        title=f"{FORECAST_VEHICLES_CHANGELOG_V1}:VehicleRemembered",
        description="The forecast service's changelog of each vehicle: the state of charge it "
        "reported, the plug state and its last plan, on every material change; compacted by "
        "VIN.",
    )

    async def write(record: VehicleRemembered) -> None:
        await remembered.publish(record, key=record.kafka_key())

    memory = VehicleMemory(repo, plans, write, erased=eraser.is_erased)
    forgetters: list[Forget] = [memory.forget]
    if behaviour is not None:
        forgetters.append(behaviour.forget)
    eraser.bind(forget=forgetters, episodes=behaviour.episodes if behaviour else None)

    # No consumer group: read whole at every start, like the other changelogs.
    @router.subscriber(
        FORECAST_VEHICLES_CHANGELOG_V1,
        group_id=None,
        auto_offset_reset="earliest",
        decoder=null_is_tombstone,
        title=f"{FORECAST_VEHICLES_CHANGELOG_V1}:forecast",
        description="Restores what the service knew of each vehicle before a restart; a "
        "tombstone (null value, key VIN: the vehicle was erased) forgets it.",
    )
    async def on_vehicle_remembered(
        record: VehicleRemembered | None, message: KafkaMessage
    ) -> None:
        if record is None:
            key = _key_of(message)
            if key:
                await memory.forget(key.decode(errors="replace"))
            return
        await memory.restore(record)

    @router.subscriber(
        TELEMETRY_SAMPLED_V1,
        group_id=group_id,
        ack_policy=AckPolicy.NACK_ON_ERROR,
        auto_offset_reset="earliest",
        title=f"{TELEMETRY_SAMPLED_V1}:forecast",
        description="Tracks each vehicle's latest state of charge from its telemetry samples.",
    )
    async def on_telemetry_sampled(event: TelemetrySampled) -> None:
        if eraser.is_erased(event.vehicle_id):
            return  # in flight when its account was erased: not learnt again
        previous = await repo.get(event.vehicle_id)
        state, change = track_soc(previous, event, step_pct=soc_step_pct)
        # Publish before remembering: if the publish fails the sample is redelivered and the
        # change is computed again instead of being swallowed by the already-updated state.
        if change is not None:
            await soc_changed.publish(change, key=change.kafka_key())
            if eraser.is_erased(event.vehicle_id):
                return  # erased while the change was on its way: nothing to remember
        if state is not None and state != previous:
            await repo.put(state)
        if plans is not None:
            plans.on_telemetry(event)
        # Before the offset is committed: a change not yet remembered is redone on redelivery.
        await memory.remember(event.vehicle_id)

    if prices is not None or plans is not None:
        _add_price_routes(router, prices, plans, group_id)
    if behaviour is not None:
        _add_behaviour_routes(router, behaviour, eraser, group_id)
    if plans is not None:
        _add_plan_output(router, plans, memory)
    if tombstones is not None:
        _add_erasure_route(router, eraser, group_id)
    return router


async def _no_tombstones(_tombstones: Iterable[tuple[str, bytes]]) -> int:
    raise RuntimeError("no tombstone sender: the router was built without erasure")


def _add_erasure_route(router: KafkaRouter, eraser: VehicleEraser, group_id: str) -> None:
    done_out = router.publisher(
        ERASURE_STEP_DONE_V1,
        schema=ErasureStepDone,
        title=f"{ERASURE_STEP_DONE_V1}:ErasureStepDone",
        description='The forecast step of an account\'s erasure is done (step "forecast"): '
        "its vehicles forgotten, their keys tombstoned. Keyed by account id.",
    )

    @router.subscriber(
        ACCOUNT_CHANGED_V1,
        group_id=f"{group_id}.erasure",
        ack_policy=AckPolicy.NACK_ON_ERROR,
        auto_offset_reset="earliest",
        decoder=null_is_tombstone,
        title=f"{ACCOUNT_CHANGED_V1}:forecast.erasure",
        description="An account whose erasure is pending: its vehicles are forgotten and their "
        "keys tombstoned on the service's compacted topics, then the step is reported. An "
        "active account's vehicles are no longer treated as erased. A tombstone (an erased "
        "account's end) is skipped.",
    )
    async def on_account_changed(change: AccountChanged | None) -> None:
        if change is None:
            return  # the account's erasure is finished; nothing of it is left here
        done = await eraser.on_account_changed(change)
        if done is not None:
            await done_out.publish(done, key=done.kafka_key())


def _add_price_routes(
    router: KafkaRouter,
    prices: PriceForecastRunner | None,
    plans: PlanRunner | None,
    group_id: str,
) -> None:
    forecast_out = router.publisher(
        PRICE_FORECAST_PUBLISHED_V1,
        schema=PriceForecastPublished,
        title=f"{PRICE_FORECAST_PUBLISHED_V1}:PriceForecastPublished",
        description="A zone's spot-price forecast with p10/p50/p90 from the first unpublished "
        "slot up to 7 days ahead. Keyed by zone.",
    )
    anomaly_out = router.publisher(
        PRICE_ANOMALY_DETECTED_V1,
        schema=PriceAnomalyDetected,
        title=f"{PRICE_ANOMALY_DETECTED_V1}:PriceAnomalyDetected",
        description="A spike, a negative price or a regime shift out of the forecast band.",
    )

    async def publish_forecast(event: PriceForecastPublished) -> None:
        await forecast_out.publish(event, key=event.kafka_key())
        # The plans read the forecast from here rather than from the topic: it is this
        # service's own output, and a restart refits from the replayed prices anyway.
        if plans is not None:
            plans.on_forecast(event)

    async def publish_anomaly(event: PriceAnomalyDetected) -> None:
        await anomaly_out.publish(event, key=event.kafka_key())

    if prices is not None:
        prices.bind(publish_forecast=publish_forecast, publish_anomaly=publish_anomaly)

    _copy_into_changelog(
        router,
        group_id,
        SPOT_PRICES_PUBLISHED_V1,
        FORECAST_PRICES_CHANGELOG_V1,
        SpotPricesPublished,
        "a zone's delivery day (key: zone/day; ingest publishes a day's revisions in order on "
        "one partition, so the newest revision is the last and compaction keeps it)",
    )

    # No consumer group: the price history is rebuilt by reading the whole changelog from the
    # start on every start, so a restarted forecast service forecasts from full history at
    # once (one message per zone and day; a few MB a year).
    @router.subscriber(
        FORECAST_PRICES_CHANGELOG_V1,
        group_id=None,
        auto_offset_reset="earliest",
        decoder=null_is_tombstone,
        title=f"{FORECAST_PRICES_CHANGELOG_V1}:forecast",
        description="Collects published prices; refits the zone's forecast, flags anomalies "
        "and re-plans the plugged-in vehicles of the zone. A tombstone (null value) is skipped.",
    )
    async def on_spot_prices_published(event: SpotPricesPublished | None) -> None:
        # Nothing tombstones a delivery day yet (prices are no one's personal data); should
        # an operator, the day stays in this instance's history until its restart.
        if event is None:
            return
        if prices is not None:
            await prices.on_prices(event)
        if plans is not None:
            plans.on_prices(event)


def _add_behaviour_routes(
    router: KafkaRouter, behaviour: BehaviourRunner, eraser: VehicleEraser, group_id: str
) -> None:
    profile_out = router.publisher(
        BEHAVIOUR_PROFILE_UPDATED_V1,
        schema=BehaviourProfileUpdated,
        title=f"{BEHAVIOUR_PROFILE_UPDATED_V1}:BehaviourProfileUpdated",
        description="A vehicle's learned weekly rhythm, daily energy and charging habits, "
        "whenever its learning state or a quantity changed materially. Keyed by VIN.",
    )

    async def publish_profile(event: BehaviourProfileUpdated) -> None:
        await profile_out.publish(event, key=event.kafka_key())

    behaviour.bind(publish=publish_profile)

    _copy_into_changelog(
        router,
        group_id,
        DRIVE_RECORDED_V1,
        FORECAST_DRIVES_CHANGELOG_V1,
        DriveRecorded,
        "a drive",
        erased=eraser.is_erased,
    )
    _copy_into_changelog(
        router,
        group_id,
        CHARGE_RECORDED_V1,
        FORECAST_CHARGES_CHANGELOG_V1,
        ChargeRecorded,
        "a charge",
        erased=eraser.is_erased,
    )

    async def on_episode(event: DriveRecorded | ChargeRecorded | None, key: bytes | None) -> None:
        if event is None:
            episode = parse_episode_key(key)
            if episode is not None:
                await behaviour.forget_episode(episode)
            return
        if eraser.is_erased(event.vehicle_id):
            # Copied just before its vehicle was erased, so its erasure did not know it.
            episode = parse_episode_key(changelog_key(event))
            if episode is not None:
                await eraser.on_late_episode(episode)
            return
        if isinstance(event, DriveRecorded):
            behaviour.on_drive(event)
        else:
            behaviour.on_charge(event)

    # No consumer group, like the spot prices: the profiles are rebuilt from the whole
    # changelogs on every start (a few drives and charges per vehicle and day), so a changed
    # model sees all the data at once.
    @router.subscriber(
        FORECAST_DRIVES_CHANGELOG_V1,
        group_id=None,
        auto_offset_reset="earliest",
        decoder=null_is_tombstone,
        title=f"{FORECAST_DRIVES_CHANGELOG_V1}:forecast",
        description="Collects each vehicle's drives for its behaviour profile; a tombstone "
        "(null value) forgets the drive its key names.",
    )
    async def on_drive_recorded(event: DriveRecorded | None, message: KafkaMessage) -> None:
        await on_episode(event, _key_of(message))

    @router.subscriber(
        FORECAST_CHARGES_CHANGELOG_V1,
        group_id=None,
        auto_offset_reset="earliest",
        decoder=null_is_tombstone,
        title=f"{FORECAST_CHARGES_CHANGELOG_V1}:forecast",
        description="Collects each vehicle's charges for its behaviour profile; a tombstone "
        "(null value) forgets the charge its key names.",
    )
    async def on_charge_recorded(event: ChargeRecorded | None, message: KafkaMessage) -> None:
        await on_episode(event, _key_of(message))


Learned = DriveRecorded | ChargeRecorded | SpotPricesPublished


def _copy_into_changelog(
    router: KafkaRouter,
    group_id: str,
    source: str,
    changelog: str,
    schema: type[Learned],
    what: str,
    *,
    erased: Callable[[str], bool] | None = None,
) -> None:
    """Copy every message of ``source`` into ``changelog`` under its entity key; the offset is
    committed only once the copy is acknowledged, so nothing falls between the two. A drive
    or charge of an ``erased`` vehicle is not copied."""
    copy: DefaultPublisher = router.publisher(
        changelog,
        schema=schema,
        title=f"{changelog}:{schema.__name__}",
        description=f"The forecast service's changelog: {what}, compacted by key.",
    )

    @router.subscriber(
        source,
        group_id=f"{group_id}.changelog.{source}",
        ack_policy=AckPolicy.NACK_ON_ERROR,
        auto_offset_reset="earliest",
        title=f"{source}:forecast.changelog",
        description=f"Copies {what} into {changelog}.",
    )
    async def remember(event: schema) -> None:  # type: ignore[valid-type]
        vehicle_id = getattr(event, "vehicle_id", None)
        if erased is not None and vehicle_id is not None and erased(vehicle_id):
            return
        await copy.publish(event, key=changelog_key(event))


def _add_plan_output(router: KafkaRouter, plans: PlanRunner, memory: VehicleMemory) -> None:
    plan_out = router.publisher(
        CHARGE_PLAN_PUBLISHED_V1,
        schema=ChargePlanPublished,
        title=f"{CHARGE_PLAN_PUBLISHED_V1}:ChargePlanPublished",
        description="When to charge, how much, the expected cost with a range, the saving and "
        "the probability of being ready at departure. Keyed by VIN.",
    )

    async def publish_plan(event: ChargePlanPublished) -> None:
        await plan_out.publish(event, key=event.kafka_key())

    plans.bind(publish=publish_plan, published=memory.remember)
