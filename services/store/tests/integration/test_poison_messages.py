"""A message that can never be stored does not stall its partition (issue 10, part 1).

Each kind of poison is published before a valid message under the same key, so both land on
one partition in that order: the store must dead-letter the poison with its reason and store
the valid message after it. Before, only schema errors were dead-lettered; a body that is not
JSON, one nested too deeply, or a value the database refuses (a drive id beyond bigint, a zero
exchange rate: the schemas now refuse both, as the tables do) was nacked, fetched again at once
and failed again, forever. (A value the database refuses that the schema let through is
dead-lettered too: tests/test_handlers.py.)
"""

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
from tc_testkit.kafka import Record, consume, event_of, produce
from tc_testkit.waiting import eventually

from .. import market_events  # noqa: TID252
from .support import STORE_TIMEOUT_S, query

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]

NESTING = 100_000  # deep enough for a RecursionError in a recursive JSON decoder


def letters_for(topic: str, key: bytes) -> Callable[[Record], MessageDeadLettered | None]:
    def keep(record: Record) -> MessageDeadLettered | None:
        letter = event_of(MessageDeadLettered, record)
        if letter is None or letter.source_topic != topic or letter.key != key.decode():
            return None
        return letter

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
    await produce(
        kafka.bootstrap_servers,
        EXCHANGE_RATES_PUBLISHED_V1,
        [(valid.kafka_key(), json.dumps(zero).encode()), valid],
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
            letters_for(TELEMETRY_SAMPLED_V1, key),
            until=lambda got: len(got) >= 2,
            timeout_s=STORE_TIMEOUT_S,
        )
        drive_letters = await consume(
            kafka.bootstrap_servers,
            DEAD_LETTER_V1,
            letters_for(DRIVE_RECORDED_V1, key),
            until=bool,
            timeout_s=STORE_TIMEOUT_S,
        )
        rate_letters = await consume(
            kafka.bootstrap_servers,
            DEAD_LETTER_V1,
            lambda r: (
                letter
                if (letter := event_of(MessageDeadLettered, r)) is not None
                and letter.source_topic == EXCHANGE_RATES_PUBLISHED_V1
                and str(rate_day) in letter.payload
                else None
            ),
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
    assert json.loads(rate_letters[0].payload)["rate_date"] == str(rate_day)
