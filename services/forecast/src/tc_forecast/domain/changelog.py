"""The key of each entity in the forecast service's changelogs: compaction keeps the newest
message per key, so a key names one drive, one charge, or one zone's delivery day."""

from dataclasses import dataclass
from typing import Literal

from tc_common.events import ChargeRecorded, DriveRecorded, SpotPricesPublished

EpisodeKind = Literal["drive", "charge"]


@dataclass(frozen=True)
class EpisodeKey:
    """What a drive or charge changelog key names."""

    vehicle_id: str
    kind: EpisodeKind
    episode_id: int

    def encode(self) -> bytes:
        return f"{self.vehicle_id}/{self.kind}/{self.episode_id}".encode()


def changelog_key(event: DriveRecorded | ChargeRecorded | SpotPricesPublished) -> bytes:
    if isinstance(event, DriveRecorded):
        return EpisodeKey(event.vehicle_id, "drive", event.drive_id).encode()
    if isinstance(event, ChargeRecorded):
        return EpisodeKey(event.vehicle_id, "charge", event.charge_id).encode()
    return f"{event.zone}/{event.delivery_date.isoformat()}".encode()


def parse_episode_key(key: bytes | None) -> EpisodeKey | None:
    """The drive or charge a changelog key names; None for any other key (a tombstone carries
    only its key, so this is all that says what to forget)."""
    try:
        vehicle_id, kind, episode_id = (key or b"").decode().split("/")
        number = int(episode_id)
    except ValueError:  # UnicodeDecodeError is one too
        return None
    if not vehicle_id or kind not in ("drive", "charge"):
        return None
    return EpisodeKey(vehicle_id, "drive" if kind == "drive" else "charge", number)
