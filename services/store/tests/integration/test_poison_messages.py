"""A message that can never be stored does not stall its partition (issue 10, part 1).

Each kind of poison is published before a valid message under the same key, so both land on
one partition in that order: the store must dead-letter the poison with its reason and store
the valid message after it. Before, only schema errors were dead-lettered; a body that is not
JSON, one nested too deeply, or a value the database refuses (a drive id beyond bigint, a zero
exchange rate: the schemas now refuse both, as the tables do) was nacked, fetched again at once
and failed again, forever. (A value the database refuses that the schema let through is
dead-lettered too: tests/test_handlers.py.)
"""

import hashlib
import json
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from tc_common.events import MessageDeadLettered
from tc_common.topics import (
    DEAD_LETTER_V1,
    DRIVE_RECORDED_V1,
    EXCHANGE_RATES_PUBLISHED_V1,
    TELEMETRY_SAMPLED_V1,
)
from tc_testkit.events import AT, telemetry_sample
from tc_testkit.history import drive
from tc_testkit.kafka import Record, consume, dead_letters_of, event_of, produce
from tc_testkit.waiting import eventually

from .. import market_events  # noqa: TID252
from .support import STORE_TIMEOUT_S, query

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]

NESTING = 100_000  # deep enough for a RecursionError in a recursive JSON decoder


def letter_of(body: bytes) -> Callable[[Record], MessageDeadLettered | None]:
    """The dead letter of the message whose body is ``body`` (a letter has its digest only)."""
    digest = hashlib.sha256(body).hexdigest()

    def keep(record: Record) -> MessageDeadLettered | None:
        letter = event_of(MessageDeadLettered, record)
        return letter if letter is not None and letter.body_sha256 == digest else None

    return keep


async def test_poison_between_valid_messages_is_dead_lettered_and_the_partition_moves_on(
    kafka: Any, store_settings: Any, run_store: Any, database_url: str
) -> None:
    vin = f"PO{uuid.uuid4().hex[:12].upper()}"
    key = vin.encode()
    before, after = telemetry_sample(vin, AT), telemetry_sample(vin, AT + timedelta(minutes=1))
    not_json = b"\xff\xfe this is not JSON"
    too_deep = b"[" * NESTING + b"]" * NESTING
    await produce(
        kafka.bootstrap_servers,
        TELEMETRY_SAMPLED_V1,
        [before, (key, not_json), (key, too_deep), after],
    )
    # A drive id a bigint cannot hold (the schema used to accept it, the database never).
    fine = drive(drive_id=7).model_copy(update={"vehicle_id": vin})
    huge = {**fine.model_dump(mode="json"), "drive_id": 2**70}
    await produce(
        kafka.bootstrap_servers, DRIVE_RECORDED_V1, [(key, json.dumps(huge).encode()), fine]
    )
    # A rate of 0 NOK per EUR: the table's CHECK (per_eur > 0) refuses it.
    rate_day = AT.date().replace(year=2030 + uuid.uuid4().int % 60)
    valid = market_events.exchange_rates(rate_date=rate_day + timedelta(days=1))
    zero = {**valid.model_dump(mode="json"), "rate_date": str(rate_day), "rates": {"NOK": 0.0}}
    zero_body = json.dumps(zero).encode()
    await produce(
        kafka.bootstrap_servers,
        EXCHANGE_RATES_PUBLISHED_V1,
        [(valid.kafka_key(), zero_body), valid],
    )

    async with run_store(store_settings):

        async def all_valid_stored() -> bool:
            samples = await query(
                database_url, "SELECT count(*) FROM telemetry WHERE vehicle_id = %s", (vin,)
            )
            drives = await query(
                database_url, "SELECT drive_id FROM drives WHERE vehicle_id = %s", (vin,)
            )
            rates = await query(
                database_url,
                "SELECT DISTINCT rate_date FROM exchange_rates WHERE rate_date = ANY(%s)",
                ([rate_day, rate_day + timedelta(days=1)],),
            )
            return (
                samples[0][0] == 2
                and drives == [(7,)]
                and rates == [(rate_day + timedelta(days=1),)]
            )

        await eventually(
            all_valid_stored, timeout_s=STORE_TIMEOUT_S, what="every valid message stored"
        )
        telemetry_letters = await consume(
            kafka.bootstrap_servers,
            DEAD_LETTER_V1,
            dead_letters_of(key, TELEMETRY_SAMPLED_V1),
            until=lambda got: len(got) >= 2,
            timeout_s=STORE_TIMEOUT_S,
        )
        drive_letters = await consume(
            kafka.bootstrap_servers,
            DEAD_LETTER_V1,
            dead_letters_of(key, DRIVE_RECORDED_V1),
            until=bool,
            timeout_s=STORE_TIMEOUT_S,
        )
        rate_letters = await consume(
            kafka.bootstrap_servers,
            DEAD_LETTER_V1,
            letter_of(zero_body),
            until=bool,
            timeout_s=STORE_TIMEOUT_S,
        )

    reasons = [letter.reason for letter in telemetry_letters]
    assert len(reasons) == 2, reasons
    assert any("JSON" in r or "json" in r for r in reasons), reasons
    assert [letter.source_topic for letter in drive_letters] == [DRIVE_RECORDED_V1]
    assert "drive_id" in drive_letters[0].reason
    assert [letter.source_topic for letter in rate_letters] == [EXCHANGE_RATES_PUBLISHED_V1]
    assert "rates" in rate_letters[0].reason
    assert "rates: {NOK: number}" in rate_letters[0].payload


EMAIL = "dora.driver@example.com"
INVITATION = "INV-7Q2M-X9KD-4TZP"


async def source_of(bootstrap_servers: str, topic: str, body: bytes) -> tuple[int, int]:
    """Where ``body`` is on ``topic``: its partition and offset."""
    found = await consume(
        bootstrap_servers,
        topic,
        lambda r: (r.partition, r.offset) if r.value == body else None,
        until=bool,
    )
    assert found, f"{body!r} is not on {topic}"
    return found[0]


async def test_a_dead_letter_says_where_why_and_what_shape_but_repeats_no_value(
    kafka: Any, store_settings: Any, run_store: Any
) -> None:
    """Issue 10 part 4: a dead letter copied the whole body (and its key, a VIN) into
    ``ops.deadletter.v1``, and a schema error's location could quote a map key (an email
    address) in the reason. Now it carries the source offset, the digests of body and key, the
    body's size and shape and the reason, and none of the message's values."""
    vin = f"5YJ3E7EB{uuid.uuid4().hex[:9].upper()}"
    key = vin.encode()
    sample = {
        **telemetry_sample(vin, AT).model_dump(mode="json"),
        "sampled_at": "yesterday",
        "contact_email": EMAIL,
        "invitation_code": INVITATION,
    }
    sample_body = json.dumps(sample).encode()
    # The email address as a map key: a schema error's location names the key it refused.
    rate_day = AT.date().replace(year=2030 + uuid.uuid4().int % 60)
    rates = market_events.exchange_rates(rate_date=rate_day).model_dump(mode="json")
    rates_body = json.dumps({**rates, "rates": {EMAIL: 11.5, "NOK": INVITATION, "SEK": vin}})
    rates_key = b"EUR"
    await produce(kafka.bootstrap_servers, TELEMETRY_SAMPLED_V1, [(key, sample_body)])
    await produce(
        kafka.bootstrap_servers, EXCHANGE_RATES_PUBLISHED_V1, [(rates_key, rates_body.encode())]
    )
    poison = [
        (TELEMETRY_SAMPLED_V1, key, sample_body, "sampled_at"),
        (EXCHANGE_RATES_PUBLISHED_V1, rates_key, rates_body.encode(), "rates"),
    ]

    sources = [await source_of(kafka.bootstrap_servers, t, body) for t, _, body, _ in poison]

    async with run_store(store_settings):
        letters = []
        for (topic, *_), (partition, offset) in zip(poison, sources, strict=True):
            found = await consume(
                kafka.bootstrap_servers,
                DEAD_LETTER_V1,
                lambda r, at=(topic, partition, offset): (
                    (r, e)
                    if (e := event_of(MessageDeadLettered, r))
                    and (e.source_topic, e.source_partition, e.source_offset) == at
                    else None
                ),
                until=bool,
                timeout_s=STORE_TIMEOUT_S,
            )
            assert found, f"no dead letter of the poison on {topic}"
            letters.append(found[0])

    for (topic, source_key, body, field), (record, letter) in zip(poison, letters, strict=True):
        in_clear = [
            value
            for value in (vin, EMAIL, INVITATION)
            if value.encode() in record.value or value.encode() in (record.key or b"")
        ]
        assert in_clear == [], f"the dead letter of {topic} repeats {in_clear}"
        assert letter.consumer == "store"
        assert letter.body_sha256 == hashlib.sha256(body).hexdigest()
        assert letter.body_bytes == len(body)
        assert letter.key_sha256 == hashlib.sha256(source_key).hexdigest()
        assert record.key == letter.key_sha256.encode()
        assert field in letter.reason
        assert letter.key is None
    sample_shape = letters[0][1].payload
    assert "sampled_at: string(9)" in sample_shape
    assert "vehicle_id: string(17)" in sample_shape
    assert "<key>: string(23)" in sample_shape  # contact_email: no contract has such a field
    assert "rates: {<key>: number, NOK: string(18), SEK: string(17)}" in letters[1][1].payload
