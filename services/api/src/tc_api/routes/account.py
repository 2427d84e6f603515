"""The caller's own account, and the Tessie token it polls with: the api's writes.

Only an account key acts here (the operator's key is refused with 403: a token is the
customer's to give; an operator revokes one with ``tc-admin revoke-token``). A change is saved
through ``tc_db``, published (accounts.changes.v1, accounts.tessie_tokens.v1) and acknowledged by
the broker before the answer, so a 2xx means the rest of the system will learn of it.

The token is a secret from the moment it arrives: registered for redaction from every log
line, checked with Tessie, sealed by the vault, and never put in an answer, an error or a log.
"""

import asyncio
import logging
import uuid
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, HTTPException, Request, Response, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse

from tc_api import examples
from tc_api.account_schemas import (
    AccountOut,
    AccountPatch,
    ErasureAccepted,
    TessieTokenIn,
    TessieTokenOut,
)
from tc_api.body_limit import MAX_BODY_BYTES
from tc_api.deps import API_KEY_HEADER, Authenticated, ClockDep, PrincipalDep
from tc_api.domain import Principal
from tc_api.ports import (
    AccountRegistry,
    EventSink,
    TessieFleet,
    TessieRefusedError,
    TessieUnavailableError,
)
from tc_api.schemas import ErrorBody, UnavailableBody
from tc_common.events.base import Event
from tc_common.logging import register_secret
from tc_common.publishing import PublishFailedError
from tc_common.topics import ACCOUNT_CHANGED_V1, API_KEY_CHANGED_V1, TESSIE_TOKEN_CHANGED_V1
from tc_db.accounts import (
    AccountNotChangeableError,
    EmailTakenError,
    InvalidInputError,
    VehicleOwnedElsewhereError,
)
from tc_db.tokens import TokenNotFoundError
from tc_vault import Vault, VaultError

# When to repeat a change that was saved but not acknowledged by the broker.
PUBLISH_RETRY_AFTER_S = 5

_log = logging.getLogger(__name__)
router = APIRouter(
    prefix="/v1",
    tags=["account"],
    dependencies=[Authenticated],
    responses={
        400: {"model": ErrorBody, "description": "The body could not be read (not JSON)."},
        413: {
            "model": ErrorBody,
            "description": f"The body is larger than {MAX_BODY_BYTES} bytes (any route).",
        },
        401: {"model": ErrorBody, "description": f"{API_KEY_HEADER} missing or wrong."},
        403: {
            "model": ErrorBody,
            "description": "An operator key (these routes are the customer's), or the key's "
            "account is suspended, being erased or erased.",
        },
        503: {
            "model": UnavailableBody,
            "description": "The database, the broker or Tessie is unavailable; retry after "
            "Retry-After seconds.",
        },
    },
)


async def get_registry(request: Request) -> AccountRegistry:
    registry: AccountRegistry = request.app.state.account_registry
    return registry


async def get_events(request: Request) -> EventSink:
    events: EventSink = request.app.state.events
    return events


async def get_tessie(request: Request) -> TessieFleet:
    tessie: TessieFleet = request.app.state.tessie
    return tessie


async def get_vault(request: Request) -> Vault:
    vault: Vault | None = request.app.state.vault
    if vault is None:
        raise _unavailable(
            "the token vault is not configured (API_VAULT__KEYS or API_VAULT_KMS__KEY_IDS); "
            "retry later",
            60,
        )
    return vault


RegistryDep = Annotated[AccountRegistry, Depends(get_registry)]
EventsDep = Annotated[EventSink, Depends(get_events)]
TessieDep = Annotated[TessieFleet, Depends(get_tessie)]
VaultDep = Annotated[Vault, Depends(get_vault)]


class RetryLaterError(Exception):
    """Answered 503 with ``Retry-After`` and the ``UnavailableBody`` the document declares."""

    def __init__(self, detail: str, retry_after_s: int) -> None:
        super().__init__(detail)
        self.detail = detail
        self.retry_after_s = retry_after_s


async def on_retry_later(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RetryLaterError)
    body = UnavailableBody(detail=error.detail, retry_after_s=error.retry_after_s)
    return JSONResponse(
        body.model_dump(),
        status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
        headers={"Retry-After": str(error.retry_after_s)},
    )


def _unavailable(detail: str, retry_after_s: int) -> RetryLaterError:
    return RetryLaterError(detail, retry_after_s)


def own_account(
    principal: Principal,
    operator_hint: str = "an operator revokes a token with tc-admin revoke-token",
) -> UUID:
    """The caller's account; 403 for the operator key, with what an operator uses instead."""
    if principal.account_id is None:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            "the operator key has no account: these routes act on the caller's own account, "
            f"with an account key ({operator_hint})",
        )
    return principal.account_id


async def _publish(events: EventSink, messages: list[tuple[str, Event]]) -> None:
    try:
        await events.publish(messages)
    except PublishFailedError:
        raise _unavailable(
            "the change is saved but the broker did not acknowledge it, so the rest of the "
            "system has not learnt of it; repeat the same request",
            PUBLISH_RETRY_AFTER_S,
        ) from None


_ACCOUNT_EXAMPLE = examples.ok(examples.ACCOUNT)
_TOKEN_EXAMPLE = examples.ok(examples.TESSIE_TOKEN)


@router.get("/account", response_model=AccountOut, responses=_ACCOUNT_EXAMPLE)
async def get_account(principal: PrincipalDep, registry: RegistryDep) -> AccountOut:
    """The caller's account: its email, state, vehicles and whether (and when) a Tessie token
    is registered. Never the token."""
    return AccountOut.from_view(await registry.account(own_account(principal)))


@router.patch(
    "/account",
    response_model=AccountOut,
    responses={
        **_ACCOUNT_EXAMPLE,
        409: {"model": ErrorBody, "description": "Another account has that email address."},
    },
)
async def patch_account(
    body: AccountPatch,
    principal: PrincipalDep,
    registry: RegistryDep,
    events: EventsDep,
    clock: ClockDep,
) -> AccountOut:
    """Rectify the account's email address; published on accounts.changes.v1 before the
    answer."""
    account_id = own_account(principal)
    try:
        event = await registry.change_email(account_id, body.email, clock.now())
    except InvalidInputError as error:
        # The schema's pattern refuses what tc_db would; should they ever differ, the answer
        # still has the one 422 shape the document declares.
        raise RequestValidationError(
            [{"type": "value_error", "loc": ("body", "email"), "msg": str(error)}]
        ) from None
    except EmailTakenError as error:
        raise HTTPException(status.HTTP_409_CONFLICT, str(error)) from None
    except AccountNotChangeableError as error:
        raise HTTPException(status.HTTP_403_FORBIDDEN, str(error)) from None
    await _publish(events, [(ACCOUNT_CHANGED_V1, event)])
    return AccountOut.from_view(await registry.account(account_id))


@router.put(
    "/account/tessie-token",
    response_model=TessieTokenOut,
    responses={
        **_TOKEN_EXAMPLE,
        409: {
            "model": ErrorBody,
            "description": "Tessie lists a vehicle that belongs to another account; nothing "
            "was stored. The operator can resolve it.",
        },
        422: {
            "description": "The body is not a token of 16 to 512 characters, or Tessie "
            "refused the token (401/403; then the error's loc is body.token): nothing was "
            "stored.",
        },
    },
)
async def put_tessie_token(
    body: TessieTokenIn,
    principal: PrincipalDep,
    registry: RegistryDep,
    events: EventsDep,
    tessie: TessieDep,
    vault: VaultDep,
    clock: ClockDep,
) -> TessieTokenOut:
    """Register the account's Tessie token, replacing any earlier one. It is checked with
    Tessie (``GET /vehicles``), sealed (only ciphertext is stored and published), the vehicles
    Tessie lists become the account's, and the change is acknowledged by the broker before
    this answers. A 503 after the token was saved asks to repeat the request."""
    account_id = own_account(principal)
    token = body.token.get_secret_value()
    register_secret(token)
    try:
        vehicle_ids = await tessie.vehicle_ids(token)
    except TessieRefusedError as refused:
        # The API's one 422 shape, naming the field, like every other refused input.
        raise RequestValidationError(
            [
                {
                    "type": "value_error",
                    "loc": ("body", "token"),
                    "msg": f"Tessie refused this token (HTTP {refused.http_status}): check "
                    "that it is the access token of your Tessie account (Tessie: Settings, "
                    "API) and that it has not been revoked; nothing was stored",
                }
            ]
        ) from None
    except TessieUnavailableError as unavailable:
        raise _unavailable(
            f"the token could not be checked: {unavailable.reason}; nothing was stored, "
            "retry later",
            unavailable.retry_after_s,
        ) from None
    now = clock.now()
    try:
        # In a thread: with KMS keys, sealing is a network call (Encrypt) that must not hold
        # up the event loop.
        sealed = await asyncio.to_thread(vault.seal, account_id, uuid.uuid4(), token, now)
    except VaultError as error:
        # KMS unreachable, throttling or refusing: the error names the key version, no bytes.
        _log.error("a Tessie token could not be sealed: %s", error)
        raise _unavailable(
            "the token vault cannot seal the token now; nothing was stored, retry later", 60
        ) from None
    del token
    try:
        registered = await registry.register_token(sealed, vehicle_ids, now)
    except VehicleOwnedElsewhereError as error:
        raise HTTPException(status.HTTP_409_CONFLICT, f"{error}; nothing was stored") from None
    except AccountNotChangeableError as error:
        raise HTTPException(status.HTTP_403_FORBIDDEN, str(error)) from None
    await _publish(
        events,
        [(ACCOUNT_CHANGED_V1, registered.account), (TESSIE_TOKEN_CHANGED_V1, registered.token)],
    )
    return TessieTokenOut(
        token_id=registered.token.token_id,
        vehicle_ids=registered.token.vehicle_ids,
        registered_at=registered.token.changed_at,
    )


@router.delete(
    "/account/tessie-token",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses={
        204: {
            "description": "Revoked (or revoked already: published again). Ingest stops "
            "polling with it; the ciphertext is erased.",
        },
        404: {"model": ErrorBody, "description": "The account never registered a token."},
    },
)
async def delete_tessie_token(
    principal: PrincipalDep, registry: RegistryDep, events: EventsDep, clock: ClockDep
) -> Response:
    """Revoke the account's Tessie token; published (status revoked) before the answer.
    Repeating it publishes the revocation again."""
    account_id = own_account(principal)
    try:
        event = await registry.revoke_token(account_id, clock.now())
    except TokenNotFoundError:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            "this account has no Tessie token; PUT /v1/account/tessie-token registers one",
        ) from None
    await _publish(events, [(TESSIE_TOKEN_CHANGED_V1, event)])
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.delete(
    "/account",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=ErasureAccepted,
    responses={
        202: {
            "description": "The erasure has started: every key of the account is revoked now "
            "(this one too), and the account's data is erased by the services, well within the "
            "7 days GDPR allows.",
            "content": {"application/json": {"example": examples.ERASURE}},
        },
    },
)
async def delete_account(
    principal: PrincipalDep, registry: RegistryDep, events: EventsDep, clock: ClockDep
) -> ErasureAccepted:
    """Erase the account and everything stored of its vehicles (GDPR art. 17). Cannot be
    undone; export first (GET /v1/account/export) to keep a copy. The request is published
    (accounts.changes.v1, the keys' revocation on accounts.api_keys.v1) before the answer."""
    account_id = own_account(principal)
    try:
        requested = await registry.request_erasure(account_id, clock.now())
    except AccountNotChangeableError as error:
        raise HTTPException(status.HTTP_403_FORBIDDEN, str(error)) from None
    await _publish(
        events,
        [(ACCOUNT_CHANGED_V1, requested.account)]
        + [(API_KEY_CHANGED_V1, key) for key in requested.keys],
    )
    return ErasureAccepted(
        account_id=account_id, state="erasure_pending", requested_at=requested.requested_at
    )


@router.get(
    "/account/export",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "A zip: account.json, one CSV per table (vehicles, API keys, the "
            "Tessie token's metadata, devices admitted, telemetry, activity, drives, charges, "
            "behaviour profiles, charge plans) and manifest.json (each file's columns, rows "
            "and SHA-256). Streamed as it is read, from one consistent snapshot.",
            "content": {
                "application/zip": {
                    "schema": {"type": "string", "format": "binary"},
                    # A zip cannot be shown; what its manifest.json says can.
                    "examples": {
                        "manifest.json": {
                            "summary": "the archive's manifest.json",
                            "value": examples.EXPORT_MANIFEST,
                        }
                    },
                }
            },
        },
    },
)
async def export_account(
    principal: PrincipalDep, registry: RegistryDep, clock: ClockDep
) -> StreamingResponse:
    """Everything stored of the account, to download (GDPR art. 15 and 20)."""
    account_id = own_account(principal)
    now = clock.now()
    name = f"teslaconnectivity-export-{account_id}-{now:%Y%m%dT%H%M%SZ}.zip"
    return StreamingResponse(
        registry.export(account_id, now),
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
