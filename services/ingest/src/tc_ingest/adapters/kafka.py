"""The ``SamplePublisher`` backed by a FastStream Kafka publisher."""

from faststream.kafka.publisher.usecase import DefaultPublisher

from tc_common.events import TelemetrySampled


class KafkaSamplePublisher:
    """Publishes a sample keyed by VIN; returns once the broker acknowledged (acks=all)."""

    def __init__(self, publisher: DefaultPublisher) -> None:
        self._publisher = publisher

    async def publish(self, sample: TelemetrySampled) -> None:
        await self._publisher.publish(sample, key=sample.kafka_key())
