"""Reads a topic from its first to its current last message, without a consumer group."""

import logging
from typing import TypeVar

from aiokafka import AIOKafkaConsumer, TopicPartition
from pydantic import BaseModel, ValidationError

from tc_common.events import ProvisioningAcknowledged, ProvisioningRequested
from tc_common.topics import PROVISIONING_ACKNOWLEDGED_V1, PROVISIONING_REQUESTED_V1

log = logging.getLogger(__name__)

M = TypeVar("M", bound=BaseModel)


class KafkaProvisioningHistory:
    """A ``ProvisioningHistory`` read straight from the request and acknowledgement topics.

    No consumer group is used, so nothing is committed and the service's own group is not
    disturbed. Only messages present when the read starts are returned (the end offsets are
    taken first); messages that fail their schema are skipped, as consumers dead-letter them.
    """

    def __init__(self, bootstrap_servers: str, *, poll_timeout_ms: int = 1_000) -> None:
        self._bootstrap_servers = bootstrap_servers
        self._poll_timeout_ms = poll_timeout_ms

    async def read_requests(self) -> list[ProvisioningRequested]:
        return await self._read(PROVISIONING_REQUESTED_V1, ProvisioningRequested)

    async def read_acknowledgements(self) -> list[ProvisioningAcknowledged]:
        return await self._read(PROVISIONING_ACKNOWLEDGED_V1, ProvisioningAcknowledged)

    async def _read(self, topic: str, model: type[M]) -> list[M]:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self._bootstrap_servers,
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
        )
        await consumer.start()
        try:
            await consumer.topics()  # refreshes the metadata partitions_for_topic reads
            partitions = [
                TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()
            ]
            if not partitions:
                return []
            consumer.assign(partitions)
            await consumer.seek_to_beginning(*partitions)
            end = await consumer.end_offsets(partitions)
            records: list[tuple[int, int, bytes]] = []
            while [tp for tp in partitions if await consumer.position(tp) < end[tp]]:
                batch = await consumer.getmany(*partitions, timeout_ms=self._poll_timeout_ms)
                for tp, messages in batch.items():
                    records += [
                        (m.timestamp, m.offset, m.value)
                        for m in messages
                        if m.offset < end[tp] and m.value is not None
                    ]
        finally:
            await consumer.stop()

        # Partitions are independent logs: merge them by publish time to approximate the
        # order in which the provisioner saw them (a request id always stays in one).
        records.sort(key=lambda r: (r[0], r[1]))
        parsed: list[M] = []
        for _, offset, value in records:
            try:
                parsed.append(model.model_validate_json(value))
            except ValidationError:
                log.warning("skipped an unreadable %s message at offset %s", topic, offset)
        log.info("read %d messages from %s", len(parsed), topic)
        return parsed
