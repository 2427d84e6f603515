"""Vehicles and their telemetry, for the customer's dashboard. Every route needs an API key, and
answers only about the vehicles that key may see (``deps.visible_vehicle``)."""

from dataclasses import replace
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, status
from fastapi.exceptions import RequestValidationError

from tc_api import domain, examples, paging
from tc_api.deps import (
    API_KEY_HEADER,
    Authenticated,
    ClockDep,
    PrincipalDep,
    ReaderDep,
    VisibleVehicleId,
    unknown_vehicle,
)
from tc_api.params import IsoDateTime
from tc_api.schemas import (
    ErrorBody,
    LatestSample,
    TelemetryPage,
    UnavailableBody,
    VehicleOut,
)

router = APIRouter(
    prefix="/v1",
    tags=["vehicles"],
    dependencies=[Authenticated],
    responses={
        401: {"model": ErrorBody, "description": f"{API_KEY_HEADER} missing or wrong."},
        403: {
            "model": ErrorBody,
            "description": "The key's account is suspended, being erased or erased.",
        },
        503: {"model": UnavailableBody, "description": "The database is unavailable; retry."},
    },
)

_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {
        "model": ErrorBody,
        "description": "No such vehicle, or another account's (the same answer).",
    }
}


@router.get("/vehicles", response_model=list[VehicleOut], responses=examples.ok(examples.VEHICLES))
async def list_vehicles(reader: ReaderDep, principal: PrincipalDep) -> list[VehicleOut]:
    """Every vehicle with stored telemetry that the key may see (an account key: the account's
    own), and what each is doing as last seen."""
    return [VehicleOut.from_vehicle(v) for v in await reader.list_vehicles(principal)]


@router.get(
    "/vehicles/{vehicle_id}/latest",
    response_model=LatestSample,
    responses={**_NOT_FOUND, **examples.ok(examples.LATEST)},
)
async def get_latest_sample(vehicle_id: VisibleVehicleId, reader: ReaderDep) -> LatestSample:
    """The newest sample, with what the car is doing now as last seen (an asleep car's newest
    sample is from before it fell asleep)."""
    vehicle = await reader.get_vehicle(vehicle_id)
    sample = await reader.latest_sample(vehicle_id)
    if sample is None:
        if vehicle is None:
            raise unknown_vehicle(vehicle_id)
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, f"vehicle {vehicle_id!r} has no telemetry yet"
        )
    return LatestSample.build(sample, vehicle)


@router.get(
    "/vehicles/{vehicle_id}/telemetry",
    response_model=TelemetryPage,
    response_model_by_alias=True,
    responses={**_NOT_FOUND, **examples.ok(examples.TELEMETRY)},
)
async def get_telemetry(
    request: Request,
    vehicle_id: VisibleVehicleId,
    reader: ReaderDep,
    clock: ClockDep,
    from_at: Annotated[
        IsoDateTime | None,
        Query(
            alias="from",
            description="Inclusive start, ISO-8601 with a timezone "
            f"(default: {domain.describe_duration(domain.DEFAULT_WINDOW)} before 'to'). Must be "
            "before 'to'.",
            examples=["2026-11-25T00:00:00Z"],
        ),
    ] = None,
    to_at: Annotated[
        IsoDateTime | None,
        Query(
            alias="to",
            description="Exclusive end, ISO-8601 with a timezone (default: now). Must be after "
            f"'from', and at most {domain.MAX_WINDOW.days} days after it.",
            examples=["2026-11-26T00:00:00Z"],
        ),
    ] = None,
    # The defaults are the domain's own, written here so the document shows them as values;
    # the bounds are declared for clients, the domain checks them and names them in its 422.
    limit: Annotated[
        int,
        Query(
            description=f"Most samples to return, a count of {domain.MIN_LIMIT}.."
            f"{domain.MAX_LIMIT}.",
            json_schema_extra={"minimum": domain.MIN_LIMIT, "maximum": domain.MAX_LIMIT},
        ),
    ] = domain.DEFAULT_LIMIT,
    order: Annotated[domain.SortOrder, Query(description="By sampled_at.")] = (
        domain.DEFAULT_ORDER
    ),
    cursor: Annotated[str | None, Query(description=paging.CURSOR_DESCRIPTION)] = None,
) -> TelemetryPage:
    """Samples of the window in order, a page of at most ``limit``; ``next_cursor`` pages on."""
    try:
        paging.refuse_mixed(cursor, set(request.query_params))
        if cursor is not None:
            from_at, to_at, order = paging.decode(cursor)
        query = domain.resolve_query(
            from_at=from_at, to_at=to_at, limit=limit, order=order, now=clock.now()
        )
    except domain.InvalidQueryError as error:
        # Same body as FastAPI's own parameter errors, so clients parse one 422 format.
        raise RequestValidationError(
            [{"type": "value_error", "loc": ("query", error.parameter), "msg": error.message}]
        ) from error
    if await reader.get_vehicle(vehicle_id) is None:
        raise unknown_vehicle(vehicle_id)
    # One more than the page holds: whether a next page exists, without asking again.
    samples = await reader.samples(vehicle_id, replace(query, limit=query.limit + 1))
    page, more = samples[: query.limit], len(samples) > query.limit
    next_cursor = (
        paging.rest_after(query.from_at, query.to_at, query.order, page[-1].sampled_at)
        if more
        else None
    )
    return TelemetryPage.build(vehicle_id, query, page, next_cursor)
