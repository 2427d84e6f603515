"""The account's devices as a customer sees them: grouped by name in any case, newest
certificate first, and the newest valid one found for a profile re-send."""

from datetime import timedelta

from tc_api.devices import DeviceCertificate, find_device, group_devices

from .support import NOW


def cert(
    serial_hex: str, name: str, days_ago: int, state: str = "issued", **extra: object
) -> DeviceCertificate:
    issued_at = NOW - timedelta(days=days_ago)
    return DeviceCertificate(
        serial_hex=serial_hex,
        device_name=name,
        state=state,  # type: ignore[arg-type]
        reason=extra.get("reason", None if state == "issued" else "operator"),  # type: ignore[arg-type]
        issued_at=issued_at,
        not_after=extra.get("not_after", issued_at + timedelta(days=365)),  # type: ignore[arg-type]
    )


def test_certificates_of_one_name_in_any_case_are_one_device_named_as_the_newest_says() -> None:
    devices = group_devices(
        [cert("a1", "laptop", 30, "revoked"), cert("a2", "Laptop", 2), cert("b1", "phone", 10)]
    )

    assert [(d.name, [c.serial_hex for c in d.certificates]) for d in devices] == [
        ("Laptop", ["a2", "a1"]),
        ("phone", ["b1"]),
    ]


def test_devices_are_sorted_by_name_whatever_the_case() -> None:
    devices = group_devices([cert("1", "zed", 1), cert("2", "Bravo", 1), cert("3", "alpha", 1)])

    assert [d.name for d in devices] == ["alpha", "Bravo", "zed"]


def test_an_erased_accounts_blank_names_are_not_a_device() -> None:
    assert group_devices([cert("1", "", 1, "revoked", reason="account_erased")]) == []


def test_the_newest_valid_certificate_skips_revoked_on_hold_and_expired_ones() -> None:
    [device] = group_devices(
        [
            cert("1", "laptop", 1, "on_hold", reason="account_suspended"),
            cert("2", "laptop", 2, "revoked"),
            cert("3", "laptop", 3, not_after=NOW),  # expires this instant
            cert("4", "laptop", 4),
            cert("5", "laptop", 500, not_after=NOW + timedelta(days=30)),
        ]
    )

    newest = device.newest_valid(NOW)

    assert newest is not None
    assert newest.serial_hex == "4"


def test_a_device_whose_certificates_are_all_revoked_has_no_valid_one() -> None:
    [device] = group_devices([cert("1", "phone", 1, "revoked"), cert("2", "phone", 9, "revoked")])

    assert device.newest_valid(NOW) is None


def test_a_device_is_found_by_its_name_in_any_case() -> None:
    devices = group_devices([cert("1", "Laptop", 1), cert("2", "phone", 1)])

    found = find_device(devices, "LAPTOP")

    assert found is not None
    assert found.name == "Laptop"
    assert find_device(devices, "tablet") is None
