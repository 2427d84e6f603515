"""Request dependencies: the readers, the clock, API-key authentication and vehicle scoping.

``create_app`` puts the readers, the clock and the accepted keys on ``app.state``; routes ask
for them through the ``Annotated`` aliases below and never build infrastructure themselves.
The dependencies are ``async`` only so FastAPI runs them on the loop, not in a thread.
"""

import hmac
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException, Path, Request, Security, status
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from fastapi.security import APIKeyHeader

from tc_api.domain import OPERATOR, Principal
from tc_api.ports import AccountDirectory, HistoryReader, MarketReader, TelemetryReader
from tc_common.clock import Clock
from tc_common.events.accounts import api_key_sha256

API_KEY_HEADER = "X-API-Key"

_api_key_header = APIKeyHeader(
    name=API_KEY_HEADER,
    auto_error=False,
    description="Two kinds of key are accepted. An operator key (one of those configured in "
    "API_API_KEYS) sees every account's vehicles. An account key is issued to one customer "
    "account (shown once, stored only as its SHA-256 digest) and sees only the vehicles linked "
    "to that account; another account's vehicle answers exactly like an unknown one (404). "
    "A revoked or unknown key is refused with 401; a key of an account that is suspended, "
    "being erased or erased with 403. Prices, forecasts, rates and weather are shared: any "
    "accepted key reads them.",
)

# Every id the system produces: 17-character VINs, and the simulator's and tests' ids of up to
# 32 (the events' limit). Checked before any query, so an id PostgreSQL text cannot hold (a NUL)
# is a 422 naming the rule instead of a 500.
VEHICLE_ID_PATTERN = "^[A-Za-z0-9_-]{1,32}$"
VehicleId = Annotated[
    str,
    Path(
        pattern=VEHICLE_ID_PATTERN,
        description="The vehicle's VIN: 1 to 32 letters, digits, '_' or '-'.",
        examples=["5YJ3E7EB0KF000001"],
    ),
]


async def get_reader(request: Request) -> TelemetryReader:
    reader: TelemetryReader = request.app.state.reader
    return reader


async def get_market(request: Request) -> MarketReader:
    market: MarketReader = request.app.state.market
    return market


async def get_history(request: Request) -> HistoryReader:
    history: HistoryReader = request.app.state.history
    return history


async def get_accounts(request: Request) -> AccountDirectory:
    accounts: AccountDirectory = request.app.state.accounts
    return accounts


async def get_clock(request: Request) -> Clock:
    clock: Clock = request.app.state.clock
    return clock


def _unauthorised(detail: str) -> HTTPException:
    return HTTPException(
        status_code=status.HTTP_401_UNAUTHORIZED,
        detail=detail,
        headers={"WWW-Authenticate": f'APIKey header="{API_KEY_HEADER}"'},
    )


def unknown_vehicle(vehicle_id: str) -> HTTPException:
    """The one 404 for a vehicle the caller cannot see: unknown, or another account's; the two
    must not be told apart."""
    return HTTPException(
        status.HTTP_404_NOT_FOUND,
        f"vehicle {vehicle_id!r} is not known; GET /v1/vehicles lists the known vehicles",
    )


async def require_api_key(
    request: Request,
    presented: Annotated[str | None, Security(_api_key_header)],
    accounts: Annotated[AccountDirectory, Depends(get_accounts)],
    clock: Annotated[Clock, Depends(get_clock)],
) -> Principal:
    """Who the request acts for: the operator when ``X-API-Key`` equals one of the configured
    keys, else the active account holding that (unrevoked) key."""
    if not presented:
        raise _unauthorised(f"missing {API_KEY_HEADER} header")
    accepted: tuple[bytes, ...] = request.app.state.api_keys
    candidate = presented.encode()
    # Compare against every key, without stopping at a match, so the time taken does not
    # reveal which key (or how much of one) matched.
    matched = False
    for key in accepted:
        matched |= hmac.compare_digest(candidate, key)
    if matched:
        return OPERATOR
    account_key = await accounts.find_key(api_key_sha256(presented))
    if account_key is None:
        raise _unauthorised(f"invalid {API_KEY_HEADER}")
    if not account_key.account_active:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            f"account suspended: the account of this {API_KEY_HEADER} is "
            f"{account_key.account_state.replace('_', ' ')}, so its keys are refused; the operator "
            "can tell why",
        )
    now = clock.now()
    if account_key.use_is_stale(now):
        await accounts.record_key_use(account_key.key_id, now)
    return Principal(account_id=account_key.account_id)


PrincipalDep = Annotated[Principal, Depends(require_api_key)]


async def visible_vehicle(
    vehicle_id: VehicleId,
    principal: PrincipalDep,
    accounts: Annotated[AccountDirectory, Depends(get_accounts)],
) -> str:
    """The path's vehicle id once the caller may see it: the operator sees every vehicle, an
    account only those linked to it. Anything else is the unknown vehicle's 404, decided before
    the route reads (or validates a query for) the vehicle, so nothing tells the two apart."""
    if principal.account_id is not None and not await accounts.owns(
        principal.account_id, vehicle_id
    ):
        raise unknown_vehicle(vehicle_id)
    return vehicle_id


ReaderDep = Annotated[TelemetryReader, Depends(get_reader)]
MarketDep = Annotated[MarketReader, Depends(get_market)]
HistoryDep = Annotated[HistoryReader, Depends(get_history)]
ClockDep = Annotated[Clock, Depends(get_clock)]
Authenticated = Depends(require_api_key)
VisibleVehicleId = Annotated[str, Depends(visible_vehicle)]


async def reject_unknown_query_parameters(request: Request) -> None:
    """422 for a query parameter the route does not take, as its OpenAPI operation lists
    them: a misspelt ``form=`` would otherwise be ignored and the answer silently cover the
    default window."""
    route = request.scope.get("route")
    if not request.query_params or not isinstance(route, APIRoute):
        return
    known = _query_parameters(request.app).get((route.path, request.method.lower()), set())
    unknown = sorted({name for name in request.query_params if name not in known})
    if unknown:
        takes = ", ".join(sorted(known)) or "none"
        raise RequestValidationError(
            [
                {
                    "type": "value_error",
                    "loc": ("query", name),
                    "msg": f"unknown query parameter; this route takes: {takes}",
                }
                for name in unknown
            ]
        )


def _query_parameters(app: FastAPI) -> dict[tuple[str, str], set[str]]:
    """(path template, method) → the query parameters its OpenAPI operation declares."""
    cached: dict[tuple[str, str], set[str]] | None = getattr(app.state, "query_parameters", None)
    if cached is None:
        cached = {
            (path, method): {p["name"] for p in op.get("parameters", []) if p["in"] == "query"}
            for path, item in app.openapi()["paths"].items()
            for method, op in item.items()
        }
        app.state.query_parameters = cached
    return cached
