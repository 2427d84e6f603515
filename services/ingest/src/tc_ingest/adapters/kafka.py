"""The ``SamplePublisher`` backed by a FastStream Kafka publisher."""

from collections.abc import Mapping

from faststream.kafka.publisher.usecase import DefaultPublisher

from tc_common.events import TelemetrySampled
from tc_common.events.base import Event


class KafkaSamplePublisher:
    """Publishes a sample keyed by VIN; returns once the broker acknowledged (acks=all)."""

    def __init__(self, publisher: DefaultPublisher) -> None:
        self._publisher = publisher

    async def publish(self, sample: TelemetrySampled) -> None:
        await self._publisher.publish(sample, key=sample.kafka_key())


class KafkaEventPublisher:
    """Publishes market and weather events, each on its own topic, keyed by ``kafka_key()``."""

    def __init__(self, publishers: Mapping[type[Event], DefaultPublisher]) -> None:
        self._publishers = dict(publishers)

    async def publish(self, event: Event) -> None:
        publisher = self._publishers.get(type(event))
        if publisher is None:
            raise TypeError(f"no topic for {type(event).__name__}")
        await publisher.publish(event, key=event.kafka_key())
