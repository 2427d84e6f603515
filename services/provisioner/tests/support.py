"""What the provisioner's tests share: one way to build a provisioning request.

The domain, handler and broker tests each had their own ``request(...)``.
"""

import uuid
from datetime import UTC, datetime

from tc_common.events import ProvisioningRequested

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def request(
    code: str = "INVITE-000",
    *,
    email: str = "ada@example.org",
    device: str = "pixel-8",
    request_id: uuid.UUID | None = None,
    requested_at: datetime = NOW,
) -> ProvisioningRequested:
    """A request with invitation ``code`` from ``email``'s ``device``, with a new id unless
    ``request_id`` is given (a redelivery)."""
    return ProvisioningRequested(
        request_id=request_id or uuid.uuid4(),
        requested_at=requested_at,
        email=email,
        device_name=device,
        invitation_code=code,
    )
