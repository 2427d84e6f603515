"""Messages a consumer could not accept, kept with the reason instead of being lost."""

from typing import Literal

from pydantic import AwareDatetime, Field

from tc_common.events.base import Event


class MessageDeadLettered(Event):
    """A message that failed validation (or was otherwise unprocessable), verbatim, with why."""

    schema_version: Literal[1] = 1
    consumer: str = Field(description="The service that rejected it.", examples=["store"])
    source_topic: str = Field(description="Where the message came from.")
    source_partition: int | None = Field(default=None, description="Its partition.")
    source_offset: int | None = Field(default=None, description="Its offset.")
    key: str | None = Field(default=None, description="Its key, decoded as UTF-8 (replaced).")
    payload: str = Field(description="The message body, decoded as UTF-8 (invalid bytes replaced).")
    reason: str = Field(description="Why it was rejected: the validation errors, in short.")
    failed_at: AwareDatetime = Field(description="When it was rejected (UTC).")

    def kafka_key(self) -> bytes | None:
        return self.key.encode() if self.key is not None else None
