"""Messages a consumer could not accept, kept with the reason instead of being lost."""

from typing import Literal

from pydantic import AwareDatetime, Field

from tc_common.events.base import Event


class MessageDeadLettered(Event):
    """A message that failed validation (or was otherwise unprocessable): where it is, why it
    failed and its shape, never its values (``tc_common.dead_letters``).

    The message itself stays in its source topic at ``source_partition``/``source_offset`` for
    that topic's retention; ``body_sha256`` tells it apart from anything else there.

    Within version 1: ``key`` is no longer filled (a key can be personal data, a VIN; see
    ``key_sha256``), and ``payload`` carries the body's shape instead of the body. Letters
    written before that still parse, and these still parse for readers written before.
    """

    schema_version: Literal[1] = 1
    consumer: str = Field(description="The service that rejected it.", examples=["store"])
    source_topic: str = Field(description="Where the message came from.")
    source_partition: int | None = Field(default=None, description="Its partition.")
    source_offset: int | None = Field(default=None, description="Its offset.")
    key: str | None = Field(
        default=None,
        description="No longer filled: a key can be personal data (a VIN). See key_sha256. "
        "(Letters of earlier releases carried the key, decoded as UTF-8.)",
    )
    key_sha256: str | None = Field(
        default=None,
        description="SHA-256 (hex) of the message's key; none for a message without one.",
        pattern=r"^[0-9a-f]{64}$",
    )
    payload: str = Field(
        description="The body's shape without its values: field names the event contracts "
        "define (any other object key shows as <key>), each value's type, strings and arrays "
        "with their length, a top-level schema_version; or why the body is not JSON. "
        "(Letters of earlier releases carried the body itself.)",
        examples=["{vehicle_id: string(17), sampled_at: string(25), battery_level_pct: number}"],
    )
    body_sha256: str | None = Field(
        default=None,
        description="SHA-256 (hex) of the message's body, to find it at its source offset.",
        pattern=r"^[0-9a-f]{64}$",
    )
    body_bytes: int | None = Field(default=None, ge=0, description="The body's size in bytes.")
    reason: str = Field(
        description="Why it was rejected: the validation errors, in short, with every value of "
        "the message withheld."
    )
    failed_at: AwareDatetime = Field(description="When it was rejected (UTC).")

    def kafka_key(self) -> bytes | None:
        """The source key's digest: a message's letters share a partition, under no VIN."""
        if self.key_sha256 is not None:
            return self.key_sha256.encode()
        return self.key.encode() if self.key is not None else None
