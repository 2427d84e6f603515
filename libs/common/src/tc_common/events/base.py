"""The base every event contract shares."""

from pydantic import BaseModel, ConfigDict


class Event(BaseModel):
    """A frozen, tolerant event contract.

    Consumers are tolerant readers: unknown fields are ignored, so producers may add optional
    fields within a major version without breaking anyone. Every datetime is timezone-aware
    UTC (``AwareDatetime`` rejects naive values at the boundary).
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    def kafka_key(self) -> bytes | None:
        """The partitioning key; vehicle events override this with the vehicle id."""
        return None
