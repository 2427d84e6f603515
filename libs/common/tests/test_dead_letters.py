"""What a dead letter keeps of a message: its shape and digests, never its values."""

import json

from tc_common.dead_letters import WITHHELD, shape_of, values_of, withhold

VIN = "5YJ3E7EB0KF000001"
EMAIL = "dora.driver@example.com"
CODE = "INV-7Q2M-X9KD-4TZP"


def test_the_shape_has_the_contracts_field_names_and_value_types_but_no_value() -> None:
    body = json.dumps(
        {
            "schema_version": 1,
            "vehicle_id": VIN,
            "battery_level_pct": 71.5,
            "odometer_km": 12,
            "locked": True,
            "scheduled_departure_at": None,
            EMAIL: CODE,  # a key no contract defines: it could be data
            "rates": {"NOK": 11.7, "SEK": "x"},
            "slots": [{"start_at": "a"}, {"start_at": "bb"}, {"start_at": "a"}],
        }
    ).encode()

    shape = shape_of(body)

    assert shape == (
        "{schema_version: 1, vehicle_id: string(17), battery_level_pct: number, "
        "odometer_km: integer, locked: boolean, scheduled_departure_at: null, "
        "<key>: string(18), rates: {NOK: number, SEK: string(1)}, "
        "slots: array(3) of {start_at: string(1)} | {start_at: string(2)}}"
    )
    assert [v for v in (VIN, EMAIL, CODE, "71.5") if v in shape] == []


def test_a_body_that_is_not_json_is_described_by_why() -> None:
    assert shape_of(b"\xff\xfe" + EMAIL.encode()) == "not UTF-8 text, so not JSON"
    assert shape_of(f"vin={VIN}".encode()) == "not JSON"
    assert shape_of(b"[" * 100_000 + b"]" * 100_000) == "JSON nested too deeply to decode"


def test_deep_and_long_bodies_have_a_bounded_shape() -> None:
    deep = json.dumps(json.loads("[" * 200 + "]" * 200)).encode()
    wide = json.dumps([{"vehicle_id": "x" * n} for n in range(5000)]).encode()

    many = json.dumps({f"key-{i}": i for i in range(2000)}).encode()

    assert shape_of(deep) == "array(1) of " * 25 + "…"
    assert len(shape_of(many)) == 4000
    assert shape_of(many).endswith("…")
    assert shape_of(wide) == (
        "array(5000) of {vehicle_id: string(0)} | {vehicle_id: string(1)} "
        "| {vehicle_id: string(2)} | …"
    )


def test_a_reason_keeps_its_words_and_loses_the_messages_values() -> None:
    body = json.dumps({"vehicle_id": VIN, "rates": {EMAIL: 1.5, "NOK": 123456789}}).encode()
    values = values_of(body, key=b"EUR-" + VIN.encode())
    reason = (
        f"rates.{EMAIL}.[key]: Input should be 'NOK', 'SEK' or 'DKK'; "
        f"value 123456789 out of range for vehicle {VIN} (key EUR-{VIN})"
    )

    withheld = withhold(reason, values)

    assert withheld == (
        f"rates.{WITHHELD}.[key]: Input should be 'NOK', 'SEK' or 'DKK'; "
        f"value {WITHHELD} out of range for vehicle {WITHHELD} (key {WITHHELD})"
    )


def test_every_word_of_a_body_that_is_not_json_is_withheld() -> None:
    values = values_of(f"hello {EMAIL} code={CODE}".encode())

    assert {EMAIL, CODE, "hello", "code"} <= values
