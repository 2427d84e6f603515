"""The forecast service's step of an account's erasure (GDPR, issue 11).

When an account becomes ``erasure_pending``, its VINs are forgotten everywhere in memory (the
episodes and profiles, the state of charge, the plug state and plans) and a tombstone is sent
for every key of theirs on the compacted topics the service owns: each drive and charge on the
episode changelogs, the vehicle's memory and its behaviour profile. Then the step is reported
(``ErasureStepDone``). A restart reads the changelogs whole, tombstones included, so it does
not bring the vehicles back.

The erased VINs are kept, in memory, until an active account owns them again: their samples,
drives and charges still in flight are dropped instead of learnt again, and a drive or charge
that reaches its changelog after the erasure (copied just before it) is tombstoned as it is
read. A restart forgets which VINs were erased; by then ingest no longer polls them.
"""

import logging
from collections import Counter
from collections.abc import Awaitable, Callable

from tc_common.clock import Clock
from tc_common.events import AccountChanged, ErasureStepDone
from tc_forecast.domain.changelog import EpisodeKey
from tc_forecast.domain.erasure import (
    EPISODE_CHANGELOGS,
    ErasedVehicles,
    erased_after,
    erasure_done,
    tombstones_of,
)
from tc_forecast.ports import TombstoneSender

log = logging.getLogger(__name__)

Forget = Callable[[str], Awaitable[dict[str, int]]]
"""Forgets one vehicle in one part of the service; how many entries of each kind it dropped."""


def _no_episodes(_vehicle_id: str) -> list[EpisodeKey]:
    return []


class VehicleEraser:
    def __init__(self, *, clock: Clock, send_tombstones: TombstoneSender) -> None:
        self._clock = clock
        self._send = send_tombstones
        self._erased = ErasedVehicles()
        self._episodes: Callable[[str], list[EpisodeKey]] = _no_episodes
        self._forget: list[Forget] = []

    def bind(
        self,
        *,
        forget: list[Forget],
        episodes: Callable[[str], list[EpisodeKey]] | None = None,
    ) -> None:
        """``forget``: every part of the service that holds vehicles; ``episodes``: the
        drives and charges known of a vehicle (their changelog keys)."""
        self._forget = list(forget)
        self._episodes = episodes or _no_episodes

    def is_erased(self, vehicle_id: str) -> bool:
        return vehicle_id in self._erased

    async def on_account_changed(self, change: AccountChanged) -> ErasureStepDone | None:
        """Erase the account's vehicles when its erasure is pending, and say so; any other
        change only updates which VINs are erased. Raises when the tombstones are not
        acknowledged (the request is then retried; erasing again is harmless)."""
        # Erased first: from here on nothing of these VINs is learnt or written again.
        self._erased = erased_after(self._erased, change)
        if change.state != "erasure_pending":
            return None
        forgotten: Counter[str] = Counter()
        sent: set[tuple[str, bytes]] = set()
        for vin in sorted(set(change.vehicle_ids)):
            episodes = self._episodes(vin)
            for forget in self._forget:
                forgotten.update(await forget(vin))
            # With those sent before: a redelivered request finds no episodes left in memory.
            tombstones = tombstones_of(vin, episodes) | self._erased.tombstones.get(
                vin, frozenset()
            )
            await self._send(sorted(tombstones))
            self._erased = self._erased.with_tombstones(vin, tombstones)
            sent |= tombstones
        done = erasure_done(change, sent, dict(forgotten), now=self._clock.now())
        log.info("erased %d vehicle(s) of an account: %s", len(change.vehicle_ids), done.removed)
        return done

    async def on_late_episode(self, key: EpisodeKey) -> None:
        """A drive or charge of an erased vehicle read from its changelog after the erasure:
        tombstoned now (and again should the erasure be redelivered)."""
        tombstone = (EPISODE_CHANGELOGS[key.kind], key.encode())
        await self._send([tombstone])
        self._erased = self._erased.with_tombstones(key.vehicle_id, [tombstone])
