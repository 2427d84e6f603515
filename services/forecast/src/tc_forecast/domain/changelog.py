"""The key of each entity in the forecast service's changelogs: compaction keeps the newest
message per key, so a key names one drive, one charge, or one zone's delivery day."""

from tc_common.events import ChargeRecorded, DriveRecorded, SpotPricesPublished


def changelog_key(event: DriveRecorded | ChargeRecorded | SpotPricesPublished) -> bytes:
    if isinstance(event, DriveRecorded):
        return f"{event.vehicle_id}/drive/{event.drive_id}".encode()
    if isinstance(event, ChargeRecorded):
        return f"{event.vehicle_id}/charge/{event.charge_id}".encode()
    return f"{event.zone}/{event.delivery_date.isoformat()}".encode()
