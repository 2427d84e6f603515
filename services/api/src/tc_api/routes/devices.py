"""The caller's VPN devices: list them, revoke a lost one, have a profile emailed again.

Only an account key acts here (the operator's key is refused with 403: an operator uses
``tc-admin devices`` and its siblings). The api changes nothing itself: the provisioner alone
holds the certificate authority. A request is published (``vpn.requests.v1``) and acknowledged
by the broker before the 202, so a 202 means the provisioner will act on it.
"""

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, HTTPException, Path, Request, status

from tc_api import examples
from tc_api.body_limit import MAX_BODY_BYTES
from tc_api.deps import API_KEY_HEADER, Authenticated, ClockDep, PrincipalDep
from tc_api.device_schemas import DeviceOut, DeviceRequestAccepted
from tc_api.devices import DEVICE_NAME_MAX_LENGTH, Device, find_device, group_devices
from tc_api.ports import DeviceDirectory, EventSink
from tc_api.routes.account import PUBLISH_RETRY_AFTER_S, EventsDep, RetryLaterError, own_account
from tc_api.schemas import ErrorBody, UnavailableBody
from tc_common.events.vpn import DEVICE_NAME_PATTERN, DeviceAccessRequested
from tc_common.publishing import PublishFailedError
from tc_common.topics import VPN_REQUESTS_V1

_OPERATOR_HINT = "an operator uses tc-admin devices, revoke-device and resend-profile"

router = APIRouter(
    prefix="/v1",
    tags=["account"],
    dependencies=[Authenticated],
    responses={
        401: {"model": ErrorBody, "description": f"{API_KEY_HEADER} missing or wrong."},
        413: {
            "model": ErrorBody,
            "description": f"The body is larger than {MAX_BODY_BYTES} bytes (any route; these "
            "take none).",
        },
        403: {
            "model": ErrorBody,
            "description": "An operator key (these routes are the customer's), or the key's "
            "account is suspended, being erased or erased.",
        },
        503: {
            "model": UnavailableBody,
            "description": "The database or the broker is unavailable; retry after "
            "Retry-After seconds.",
        },
    },
)


async def get_devices(request: Request) -> DeviceDirectory:
    devices: DeviceDirectory = request.app.state.devices
    return devices


DevicesDep = Annotated[DeviceDirectory, Depends(get_devices)]
DeviceName = Annotated[
    str,
    Path(
        min_length=1,
        max_length=DEVICE_NAME_MAX_LENGTH,
        pattern=DEVICE_NAME_PATTERN,
        description=f"The device's name, any case; 1 to {DEVICE_NAME_MAX_LENGTH} characters: "
        "a letter or digit, then letters, digits, '.', '_' or '-'.",
        examples=["laptop"],
    ),
]

_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorBody, "description": "The account has no device of that name."}
}


async def _device_of(devices: DeviceDirectory, account_id: UUID, name: str) -> Device:
    device = find_device(group_devices(await devices.certificates(account_id)), name)
    if device is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            f"this account has no device named {name!r}; GET /v1/account/devices lists them",
        )
    return device


async def _request(
    events: EventSink,
    account_id: UUID,
    device: Device,
    kind: Literal["revoke", "resend_profile"],
    now: datetime,
) -> DeviceRequestAccepted:
    request = DeviceAccessRequested(
        request_id=uuid.uuid4(),
        account_id=account_id,
        device_name=device.name,
        kind=kind,
        requested_by="customer",
        requested_at=now,
    )
    try:
        await events.publish([(VPN_REQUESTS_V1, request)])
    except PublishFailedError:
        raise RetryLaterError(
            "the broker did not acknowledge the request, so the provisioner may not learn of "
            "it; repeat the same request",
            PUBLISH_RETRY_AFTER_S,
        ) from None
    return DeviceRequestAccepted(
        request_id=request.request_id,
        device_name=device.name,
        kind=kind,
        requested_at=request.requested_at,
    )


@router.get(
    "/account/devices", response_model=list[DeviceOut], responses=examples.ok(examples.DEVICES)
)
async def list_devices(
    principal: PrincipalDep, devices: DevicesDep, clock: ClockDep
) -> list[DeviceOut]:
    """The account's VPN devices, sorted by name, each with its certificates newest first.
    A device whose certificates are all revoked is still listed (it says what became of it)."""
    account_id = own_account(principal, _OPERATOR_HINT)
    now = clock.now()
    return [
        DeviceOut.from_device(d, now) for d in group_devices(await devices.certificates(account_id))
    ]


@router.delete(
    "/account/devices/{device_name}",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=DeviceRequestAccepted,
    responses={
        202: {
            "description": "The revocation is requested: the provisioner revokes every "
            "certificate of the device (ending its sessions) within seconds. Revoking a device "
            "that is revoked already changes nothing.",
            "content": {"application/json": {"example": examples.DEVICE_REVOKE}},
        },
        **_NOT_FOUND,
    },
)
async def revoke_device(
    device_name: DeviceName,
    principal: PrincipalDep,
    devices: DevicesDep,
    events: EventsDep,
    clock: ClockDep,
) -> DeviceRequestAccepted:
    """Revoke a lost or retired device: it can no longer connect. Cannot be undone; a new
    device is provisioned instead."""
    account_id = own_account(principal, _OPERATOR_HINT)
    device = await _device_of(devices, account_id, device_name)
    return await _request(events, account_id, device, "revoke", clock.now())


@router.post(
    "/account/devices/{device_name}/profile-email",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=DeviceRequestAccepted,
    responses={
        202: {
            "description": "The re-send is requested: the newest valid profile is emailed to "
            "the account's address (retried for a while if the mail server is unavailable).",
            "content": {"application/json": {"example": examples.DEVICE_RESEND}},
        },
        **_NOT_FOUND,
        409: {
            "model": ErrorBody,
            "description": "The device has no valid certificate (each is revoked, on hold or "
            "expired): there is no profile to send.",
        },
    },
)
async def resend_profile(
    device_name: DeviceName,
    principal: PrincipalDep,
    devices: DevicesDep,
    events: EventsDep,
    clock: ClockDep,
) -> DeviceRequestAccepted:
    """Email the device's newest valid OpenVPN profile again (a lost or deleted email)."""
    account_id = own_account(principal, _OPERATOR_HINT)
    device = await _device_of(devices, account_id, device_name)
    now = clock.now()
    if device.newest_valid(now) is None:
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            f"device {device.name!r} has no valid certificate (revoked, on hold or expired): "
            "there is no profile to send",
        )
    return await _request(events, account_id, device, "resend_profile", now)
