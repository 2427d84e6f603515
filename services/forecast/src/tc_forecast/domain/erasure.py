"""A vehicle's erasure (GDPR, issue 11): which VINs are erased and what erasing one sends.

An account's erasure starts when it becomes ``erasure_pending``; the forecast service then
forgets the account's VINs and sends a tombstone for every key of theirs on the compacted
topics it owns. An erased VIN stays erased here, so data of it still in flight is dropped
instead of learnt again, until an account that is ``active`` owns it again (a car sold on to
another customer).
"""

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from tc_common.events import AccountChanged, ErasureStepDone
from tc_common.topics import (
    BEHAVIOUR_PROFILE_UPDATED_V1,
    FORECAST_CHARGES_CHANGELOG_V1,
    FORECAST_DRIVES_CHANGELOG_V1,
    FORECAST_VEHICLES_CHANGELOG_V1,
)
from tc_forecast.domain.changelog import EpisodeKey

Tombstone = tuple[str, bytes]
"""A topic and the key whose records compaction is to drop."""

EPISODE_CHANGELOGS = {
    "drive": FORECAST_DRIVES_CHANGELOG_V1,
    "charge": FORECAST_CHARGES_CHANGELOG_V1,
}


@dataclass(frozen=True)
class ErasedVehicles:
    """The erased VINs, each with the tombstones sent for it (sent again on a redelivered
    request, when the service no longer knows the keys itself)."""

    tombstones: Mapping[str, frozenset[Tombstone]] = field(default_factory=dict)

    def __contains__(self, vehicle_id: object) -> bool:
        return vehicle_id in self.tombstones

    def with_tombstones(self, vehicle_id: str, sent: Iterable[Tombstone]) -> "ErasedVehicles":
        known = self.tombstones.get(vehicle_id, frozenset())
        return ErasedVehicles({**self.tombstones, vehicle_id: known | frozenset(sent)})


def erased_after(erased: ErasedVehicles, change: AccountChanged) -> ErasedVehicles:
    """The erased VINs once ``change`` is known: an erasure (pending or done) erases the
    account's VINs; an active account owning a VIN brings it back; a suspension changes
    nothing (its data stays)."""
    if change.state in ("erasure_pending", "erased"):
        added = {vin: erased.tombstones.get(vin, frozenset()) for vin in change.vehicle_ids}
        return ErasedVehicles({**erased.tombstones, **added})
    if change.state == "active":
        owned = set(change.vehicle_ids)
        return ErasedVehicles({v: t for v, t in erased.tombstones.items() if v not in owned})
    return erased


def tombstones_of(vehicle_id: str, episodes: Iterable[EpisodeKey]) -> frozenset[Tombstone]:
    """Every key of the vehicle on the compacted topics the service owns: its memory and its
    profile (keyed by VIN, whether or not they exist: a tombstone too many is harmless) and
    each of its drives and charges."""
    keys = {
        (FORECAST_VEHICLES_CHANGELOG_V1, vehicle_id.encode()),
        (BEHAVIOUR_PROFILE_UPDATED_V1, vehicle_id.encode()),
    }
    keys |= {(EPISODE_CHANGELOGS[e.kind], e.encode()) for e in episodes}
    return frozenset(keys)


def erasure_done(
    change: AccountChanged,
    sent: Iterable[Tombstone],
    forgotten: Mapping[str, int],
    *,
    now: datetime,
) -> ErasureStepDone:
    """The report of the forecast step: tombstones per topic, then the in-memory entries
    forgotten (``memory.<what>``; 0 on a redelivered request, nothing being left)."""
    per_topic = Counter(topic for topic, _ in sent)
    return ErasureStepDone(
        account_id=change.account_id,
        step="forecast",
        requested_at=change.changed_at,
        finished_at=now,
        removed={**dict(sorted(per_topic.items())), **forgotten},
    )
