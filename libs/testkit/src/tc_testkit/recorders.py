"""Stand-ins for the ports that only receive: a publisher and a sleep, which keep what they get.

Ingest's pollers take a publisher and a ``sleep`` function; its tests had five publishers and
a recorded sleep of their own. These are the one of each: a test hands them in and then asserts
on what was published or how long the code under test chose to wait.
"""

from typing import Generic, TypeVar

T = TypeVar("T")
E = TypeVar("E")


class RecordingPublisher(Generic[E]):
    """Keeps every event it is asked to publish, in order.

    It fails like a broker that is unreachable while ``down`` is set, or once it holds
    ``fail_after`` events; ``attempts`` counts every call, failed or not, so a test sees retries.
    """

    def __init__(self) -> None:
        self.published: list[E] = []
        self.attempts = 0
        self.down = False
        self.fail_after: int | None = None

    async def publish(self, event: E) -> None:
        self.attempts += 1
        full = self.fail_after is not None and len(self.published) >= self.fail_after
        if self.down or full:
            raise ConnectionError("broker unreachable")
        self.published.append(event)

    def of(self, kind: type[T], vehicle_id: str | None = None) -> list[T]:
        """What was published of type ``kind`` (of one vehicle when given), in order."""
        return [
            e
            for e in self.published
            if isinstance(e, kind)
            and (vehicle_id is None or getattr(e, "vehicle_id", None) == vehicle_id)
        ]


class RecordedSleeps:
    """An ``async sleep(delay)`` that returns at once and remembers each delay asked for."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)
