"""GDPR erasure: who has done their part of erasing an account.

An erasure starts when an account's state becomes ``erasure_pending`` (``AccountChanged`` on
``accounts.changes.v1``, carrying the account's VINs). Each service that holds the account's
data erases its part (its tables, its in-memory state, its compacted topics by tombstones) and
then says so with ``ErasureStepDone``; once every step is done the store finishes the erasure
(the account row blanked, state ``erased``). A step is idempotent: a redelivered request
erases nothing more and reports the same step again.

No personal data travels here: the account's random id, the step, times and counts.
"""

from typing import Literal
from uuid import UUID

from pydantic import AwareDatetime, Field

from tc_common.events.base import Event

ErasureStep = Literal["store", "forecast", "provisioner"]
ERASURE_STEPS: tuple[ErasureStep, ...] = ("store", "forecast", "provisioner")
"""Every step an erasure waits for before it is finished."""


class ErasureStepDone(Event):
    """One service erased its part of an account."""

    schema_version: Literal[1] = 1
    account_id: UUID = Field(description="The account being erased.")
    step: ErasureStep = Field(description="Which service's part is done.")
    requested_at: AwareDatetime = Field(
        description="When the erasure was requested (the erasure_pending change's changed_at, "
        "UTC): tells one erasure from a later one of the same account id."
    )
    finished_at: AwareDatetime = Field(description="When this step finished (UTC).")
    removed: dict[str, int] = Field(
        default_factory=dict,
        description="What the step removed: rows per table, tombstones per topic, entries per "
        "in-memory store. Counts only.",
        examples=[{"telemetry": 1440, "drives": 12, "forecast.changelog.drives.v1": 12}],
    )

    def kafka_key(self) -> bytes:
        return str(self.account_id).encode()
