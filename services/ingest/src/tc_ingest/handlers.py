"""Kafka wiring of ingest's subscriptions: behaviour profiles in (home areas to forecast),
the accounts' sealed Tessie tokens and what was last said about Tessie's answer to them."""

from collections.abc import Awaitable, Callable
from typing import Any
from uuid import UUID

from faststream.kafka import KafkaRouter
from faststream.kafka.annotations import KafkaMessage
from faststream.message import StreamMessage
from pydantic import TypeAdapter

from tc_common.events import BehaviourProfileUpdated, TessieAccessChanged, TessieTokenChanged
from tc_common.topics import (
    BEHAVIOUR_PROFILE_UPDATED_V1,
    TESSIE_ACCESS_CHANGED_V1,
    TESSIE_TOKEN_CHANGED_V1,
)
from tc_ingest.accounts import AccountPollers
from tc_ingest.domain.weather import home_area

_ACCOUNT_ID = TypeAdapter(UUID)

SetHomeArea = Callable[[str, tuple[float, float] | None], object]
"""``set_home_area(vehicle_id, rounded (lat, lon) or None)``, e.g. ``MarketPoller``'s."""


async def _tombstone_as_none(
    msg: StreamMessage[Any], default: Callable[[StreamMessage[Any]], Awaitable[Any]]
) -> Any:
    # A compacted topic's tombstone has no value: it reaches the handler as None instead of
    # failing the schema (and being dead-lettered).
    if not msg.body:
        return None
    return await default(msg)


def _key_text(message: KafkaMessage) -> str:
    """The record's key as text: all a tombstone carries."""
    raw = message.raw_message
    key = (raw[0] if isinstance(raw, tuple) else raw).key
    return key.decode() if isinstance(key, bytes) else str(key or "")


def build_router(
    set_home_area: SetHomeArea | None, accounts: AccountPollers | None = None
) -> KafkaRouter:
    """The subscribers are declared even when weather is off or no accounts are run
    (``None``), so the AsyncAPI document does not depend on the settings."""
    router = KafkaRouter()

    # No consumer group, like the forecast service's spot-price subscription: the home areas
    # live in memory only, so the whole topic is read from the start on every start (one
    # message per vehicle and material change of its profile: small) and a restarted ingest
    # knows every vehicle's latest home at once. With a group it would resume after its
    # committed offset and forecast no home until each vehicle's profile changed again.
    @router.subscriber(
        BEHAVIOUR_PROFILE_UPDATED_V1,
        group_id=None,
        auto_offset_reset="earliest",
        decoder=_tombstone_as_none,
        title=f"{BEHAVIOUR_PROFILE_UPDATED_V1}:ingest",
        description="Each vehicle's home (rounded to 0.01°, about 1 km) becomes a weather "
        "point 'home:<vehicle_id>'; the latest profile wins, one without a home removes it, "
        "and so does a tombstone (the vehicle's erasure).",
    )
    async def on_behaviour_profile_updated(
        event: BehaviourProfileUpdated | None, message: KafkaMessage
    ) -> None:
        if set_home_area is None:
            return
        if event is not None:
            set_home_area(event.vehicle_id, home_area(event.locations))
            return
        # A tombstone: the key (the VIN) is all it carries.
        if key := _key_text(message):
            set_home_area(key, None)

    # No consumer group, like the home areas: the sealed tokens live in memory only (never
    # written anywhere by ingest), so the whole compacted topic, one message per account, is
    # read from the start on every start.
    @router.subscriber(
        TESSIE_TOKEN_CHANGED_V1,
        group_id=None,
        auto_offset_reset="earliest",
        decoder=_tombstone_as_none,
        title=f"{TESSIE_TOKEN_CHANGED_V1}:ingest",
        description="Each account's newest sealed Tessie token: its vehicles are polled with "
        "it (opened just before each request); revoked or a tombstone (erasure) stops them.",
    )
    async def on_tessie_token_changed(
        event: TessieTokenChanged | None, message: KafkaMessage
    ) -> None:
        # The key is the account id: a tombstone carries nothing else.
        if accounts is None:
            return
        account_id = (
            event.account_id
            if event is not None
            else _ACCOUNT_ID.validate_python(_key_text(message))
        )
        accounts.on_token_changed(account_id, event)

    @router.subscriber(
        TESSIE_ACCESS_CHANGED_V1,
        group_id=None,
        auto_offset_reset="earliest",
        decoder=_tombstone_as_none,
        title=f"{TESSIE_ACCESS_CHANGED_V1}:ingest",
        description="Ingest's own earlier findings, read back at start so a restart does not "
        "publish the same access again.",
    )
    async def on_tessie_access_changed(event: TessieAccessChanged | None) -> None:
        if event is not None and accounts is not None:
            accounts.on_access_known(event)

    return router
