"""Kafka wiring of ingest's one subscription: behaviour profiles in, home areas to forecast."""

from collections.abc import Callable

from faststream.kafka import KafkaRouter

from tc_common.events import BehaviourProfileUpdated
from tc_common.topics import BEHAVIOUR_PROFILE_UPDATED_V1
from tc_ingest.domain.weather import home_area

SetHomeArea = Callable[[str, tuple[float, float] | None], object]
"""``set_home_area(vehicle_id, rounded (lat, lon) or None)``, e.g. ``MarketPoller``'s."""


def build_router(set_home_area: SetHomeArea | None) -> KafkaRouter:
    """The subscriber is declared even when weather is off (``None``), so the AsyncAPI
    document does not depend on the settings."""
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
        title=f"{BEHAVIOUR_PROFILE_UPDATED_V1}:ingest",
        description="Each vehicle's home (rounded to 0.01°, about 1 km) becomes a weather "
        "point 'home:<vehicle_id>'; the latest profile wins, one without a home removes it.",
    )
    async def on_behaviour_profile_updated(event: BehaviourProfileUpdated) -> None:
        if set_home_area is not None:
            set_home_area(event.vehicle_id, home_area(event.locations))

    return router
