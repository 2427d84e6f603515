"""Kafka wiring of the store's part in an erasure, and of finishing it.

- ``accounts.changes.v1``: an account turned ``erasure_pending`` → its vehicles' rows are
  deleted, its Tessie token is tombstoned on ``accounts.tessie_tokens.v1`` (ingest stops
  polling it), and the store reports its step on ``accounts.erasure.v1``.
- ``accounts.erasure.v1``: each step goes into the audit record; once every step is in, the
  account is finished (blanked, ``erased``), published, and its keys on the compacted account
  topics are tombstoned.

Offsets are committed only after the work (and its publish) is done; every part is idempotent,
so a restart halfway does it again.
"""

import logging

from faststream import AckPolicy
from faststream.kafka import KafkaRouter
from faststream.kafka.annotations import KafkaMessage

from tc_common.clock import Clock
from tc_common.events import AccountChanged, ErasureStepDone
from tc_common.settings import KafkaSettings
from tc_common.tombstones import send_tombstones
from tc_common.topics import (
    ACCOUNT_CHANGED_V1,
    API_KEY_CHANGED_V1,
    ERASURE_STEP_DONE_V1,
    TESSIE_ACCESS_CHANGED_V1,
    TESSIE_TOKEN_CHANGED_V1,
)
from tc_db.accounts import AccountNotFoundError
from tc_store.ports import AccountErasure

log = logging.getLogger(__name__)


def erasure_group_id(consumer_group: str) -> str:
    """The erasure's own group (``store.erasure``): its slow, rare work never holds up, nor
    rebalances, the telemetry and market consumers."""
    return f"{consumer_group}.erasure"


def build_erasure_router(
    erasure: AccountErasure,
    clock: Clock,
    kafka: KafkaSettings,
    *,
    group_id: str,
    max_poll_interval_ms: int = 300_000,
) -> KafkaRouter:
    router = KafkaRouter()
    step_done = router.publisher(
        ERASURE_STEP_DONE_V1,
        schema=ErasureStepDone,
        title=f"{ERASURE_STEP_DONE_V1}:ErasureStepDone",
        description="The store's part of an erasure done (rows deleted per table). Keyed by "
        "account id.",
    )
    account_changed = router.publisher(
        ACCOUNT_CHANGED_V1,
        schema=AccountChanged,
        title=f"{ACCOUNT_CHANGED_V1}:AccountChanged",
        description="An account whose erasure finished: state erased, email empty; then the "
        "key's tombstone. Keyed by account id.",
    )

    @router.subscriber(
        ACCOUNT_CHANGED_V1,
        ERASURE_STEP_DONE_V1,
        group_id=group_id,
        max_poll_interval_ms=max_poll_interval_ms,
        ack_policy=AckPolicy.NACK_ON_ERROR,
        auto_offset_reset="earliest",
        title="store/on_erasure",
        description=f"Erases an account's vehicles' rows when {ACCOUNT_CHANGED_V1} says "
        f"erasure_pending; records each {ERASURE_STEP_DONE_V1} and finishes the erasure once "
        "every step is in. Tombstones (null values) are skipped.",
    )
    async def on_erasure(message: KafkaMessage) -> None:
        record = message.raw_message
        if getattr(record, "value", b"") is None:
            return  # a tombstone: the key is gone, nothing to do
        if getattr(record, "topic", None) == ERASURE_STEP_DONE_V1:
            await _record(ErasureStepDone.model_validate_json(message.body))
        else:
            await _erase(AccountChanged.model_validate_json(message.body))

    async def _erase(account: AccountChanged) -> None:
        if account.state != "erasure_pending":
            return
        removed = await erasure.erase_vehicles(account.vehicle_ids)
        key = account.kafka_key()
        # The token first: ingest stops polling the account's cars before anything else.
        removed[TESSIE_TOKEN_CHANGED_V1] = await send_tombstones(
            kafka, [(TESSIE_TOKEN_CHANGED_V1, key)]
        )
        done = ErasureStepDone(
            account_id=account.account_id,
            step="store",
            requested_at=account.changed_at,
            finished_at=clock.now(),
            removed=removed,
        )
        await step_done.publish(done, key=done.kafka_key())
        log.info("erasure of account %s: store step done (%s)", account.account_id, removed)

    async def _record(step: ErasureStepDone) -> None:
        complete = await erasure.record_step(
            step.account_id,
            step.requested_at,
            step.step,
            finished_at=step.finished_at,
            removed=step.removed,
        )
        if not complete:
            return
        try:
            finished = await erasure.finish(step.account_id, step.requested_at, at=clock.now())
        except AccountNotFoundError:
            # Steps of an account this database never had (another deployment's, or a test's
            # on a shared broker): the audit record notes them; there is nothing to blank.
            log.warning("erasure steps of unknown account %s: nothing to finish", step.account_id)
            return
        key = finished.account.kafka_key()
        await account_changed.publish(finished.account, key=key)
        # After the "erased" state: whoever reads the topic later finds nothing of the account.
        await send_tombstones(
            kafka,
            [
                (ACCOUNT_CHANGED_V1, key),
                (TESSIE_TOKEN_CHANGED_V1, key),
                (TESSIE_ACCESS_CHANGED_V1, key),
                *((API_KEY_CHANGED_V1, str(k).encode()) for k in finished.key_ids),
            ],
        )
        log.info("erasure of account %s finished", step.account_id)

    return router
