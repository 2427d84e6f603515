"""Request dependencies: the reader, the clock and API-key authentication.

``create_app`` puts the readers, the clock and the accepted keys on ``app.state``; routes ask
for them through the ``Annotated`` aliases below and never build infrastructure themselves.
The dependencies are ``async`` only so FastAPI runs them on the loop, not in a thread.
"""

import hmac
from typing import Annotated

from fastapi import Depends, HTTPException, Request, Security, status
from fastapi.security import APIKeyHeader

from tc_api.ports import HistoryReader, MarketReader, TelemetryReader
from tc_common.clock import Clock

API_KEY_HEADER = "X-API-Key"

_api_key_header = APIKeyHeader(
    name=API_KEY_HEADER,
    auto_error=False,
    description="One of the keys configured in API_API_KEYS.",
)


async def get_reader(request: Request) -> TelemetryReader:
    reader: TelemetryReader = request.app.state.reader
    return reader


async def get_market(request: Request) -> MarketReader:
    market: MarketReader = request.app.state.market
    return market


async def get_history(request: Request) -> HistoryReader:
    history: HistoryReader = request.app.state.history
    return history


async def get_clock(request: Request) -> Clock:
    clock: Clock = request.app.state.clock
    return clock


def _unauthorised(detail: str) -> HTTPException:
    return HTTPException(
        status_code=status.HTTP_401_UNAUTHORIZED,
        detail=detail,
        headers={"WWW-Authenticate": f'APIKey header="{API_KEY_HEADER}"'},
    )


async def require_api_key(
    request: Request, presented: Annotated[str | None, Security(_api_key_header)]
) -> None:
    """Accept the request when ``X-API-Key`` equals one of the configured keys."""
    if not presented:
        raise _unauthorised(f"missing {API_KEY_HEADER} header")
    accepted: tuple[bytes, ...] = request.app.state.api_keys
    candidate = presented.encode()
    # Compare against every key, without stopping at a match, so the time taken does not
    # reveal which key (or how much of one) matched.
    matched = False
    for key in accepted:
        matched |= hmac.compare_digest(candidate, key)
    if not matched:
        raise _unauthorised(f"invalid {API_KEY_HEADER}")


ReaderDep = Annotated[TelemetryReader, Depends(get_reader)]
MarketDep = Annotated[MarketReader, Depends(get_market)]
HistoryDep = Annotated[HistoryReader, Depends(get_history)]
ClockDep = Annotated[Clock, Depends(get_clock)]
Authenticated = Depends(require_api_key)
