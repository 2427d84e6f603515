"""A vehicle's drive and charge history, its learned behaviour profile and its charge plans.
Every route needs an API key, and answers only about the vehicles that key may see
(``deps.visible_vehicle``)."""

from dataclasses import replace
from datetime import datetime
from typing import Annotated, Any, NoReturn

from fastapi import APIRouter, HTTPException, Query, Request, status
from fastapi.exceptions import RequestValidationError

from tc_api import domain, examples, paging
from tc_api.deps import (
    API_KEY_HEADER,
    Authenticated,
    ClockDep,
    HistoryDep,
    VisibleVehicleId,
    unknown_vehicle,
)
from tc_api.params import IsoDateTime
from tc_api.ports import HistoryReader
from tc_api.schemas import (
    BehaviourProfileOut,
    ChargeOut,
    ChargePlanOut,
    ChargePlansPage,
    ChargesPage,
    DriveOut,
    DrivesPage,
    ErrorBody,
    UnavailableBody,
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

From = Annotated[
    IsoDateTime | None,
    Query(
        alias="from",
        description="Inclusive start, ISO-8601 with a timezone "
        f"(default: {domain.DEFAULT_HISTORY_WINDOW.days} days before 'to'). Must be before 'to'.",
        examples=["2026-11-01T00:00:00+01:00"],
    ),
]
To = Annotated[
    IsoDateTime | None,
    Query(
        alias="to",
        description="Exclusive end, ISO-8601 with a timezone (default: now). Must be after "
        f"'from', and at most {domain.MAX_HISTORY_WINDOW.days} days after it.",
        examples=["2026-12-01T00:00:00+01:00"],
    ),
]
PlansFrom = Annotated[
    IsoDateTime | None,
    Query(
        alias="from",
        description="Inclusive start, ISO-8601 with a timezone "
        f"(default: {domain.DEFAULT_PLANS_WINDOW.days} days before 'to'). Must be before 'to'.",
        examples=["2026-11-24T00:00:00+01:00"],
    ),
]
PlansTo = Annotated[
    IsoDateTime | None,
    Query(
        alias="to",
        description="Exclusive end, ISO-8601 with a timezone (default: now). Must be after "
        f"'from', and at most {domain.MAX_WINDOW.days} days after it.",
        examples=["2026-12-01T00:00:00+01:00"],
    ),
]
_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {
        "model": ErrorBody,
        "description": "No such vehicle, or another account's (the same answer).",
    }
}


def _refuse(error: domain.InvalidQueryError) -> NoReturn:
    # Same body as FastAPI's own parameter errors, so clients parse one 422 format.
    raise RequestValidationError(
        [{"type": "value_error", "loc": ("query", error.parameter), "msg": error.message}]
    ) from error


def _history_window(
    from_at: datetime | None, to_at: datetime | None, now: datetime
) -> domain.TimeWindow:
    try:
        return domain.resolve_history_window(from_at=from_at, to_at=to_at, now=now)
    except domain.InvalidQueryError as error:
        _refuse(error)


async def _require_known(history: HistoryReader, vehicle_id: str) -> None:
    if not await history.is_known(vehicle_id):
        raise unknown_vehicle(vehicle_id)


@router.get(
    "/vehicles/{vehicle_id}/drives",
    response_model=DrivesPage,
    response_model_by_alias=True,
    responses={**_NOT_FOUND, **examples.ok(examples.DRIVES)},
)
async def get_drives(
    vehicle_id: VisibleVehicleId,
    history: HistoryDep,
    clock: ClockDep,
    from_at: From = None,
    to_at: To = None,
) -> DrivesPage:
    """Drives that started in the window (at most 92 days), oldest first."""
    window = _history_window(from_at, to_at, clock.now())
    await _require_known(history, vehicle_id)
    drives = await history.drives(vehicle_id, window)
    return DrivesPage(
        vehicle_id=vehicle_id,
        from_=window.from_at,
        to=window.to_at,
        count=len(drives),
        distance_km=round(sum(d.distance_km for d in drives), 3),
        drives=[DriveOut.from_event(d) for d in drives],
    )


@router.get(
    "/vehicles/{vehicle_id}/charges",
    response_model=ChargesPage,
    response_model_by_alias=True,
    responses={**_NOT_FOUND, **examples.ok(examples.CHARGES)},
)
async def get_charges(
    vehicle_id: VisibleVehicleId,
    history: HistoryDep,
    clock: ClockDep,
    from_at: From = None,
    to_at: To = None,
) -> ChargesPage:
    """Charging sessions that started in the window (at most 92 days), oldest first."""
    window = _history_window(from_at, to_at, clock.now())
    await _require_known(history, vehicle_id)
    charges = await history.charges(vehicle_id, window)
    return ChargesPage(
        vehicle_id=vehicle_id,
        from_=window.from_at,
        to=window.to_at,
        count=len(charges),
        energy_added_kwh=round(sum(c.energy_added_kwh for c in charges), 3),
        charges=[ChargeOut.from_event(c) for c in charges],
    )


@router.get(
    "/vehicles/{vehicle_id}/profile",
    response_model=BehaviourProfileOut,
    responses={
        **examples.ok(examples.PROFILE),
        404: {
            "model": ErrorBody,
            "description": "No such vehicle (or another account's), or no profile yet (the "
            "detail says how much history is stored and what happens next).",
        },
    },
)
async def get_profile(vehicle_id: VisibleVehicleId, history: HistoryDep) -> BehaviourProfileOut:
    """The learned weekly rhythm, charging locations and learning state."""
    profile = await history.latest_profile(vehicle_id)
    if profile is None:
        await _require_known(history, vehicle_id)
        counts = await history.history_counts(vehicle_id)
        raise HTTPException(status.HTTP_404_NOT_FOUND, domain.no_profile_yet(vehicle_id, counts))
    return BehaviourProfileOut.from_event(profile)


@router.get(
    "/vehicles/{vehicle_id}/plan",
    response_model=ChargePlanOut,
    responses={
        **examples.ok(examples.PLAN),
        404: {
            "model": ErrorBody,
            "description": "No such vehicle (or another account's), or no plan yet.",
        },
    },
)
async def get_plan(vehicle_id: VisibleVehicleId, history: HistoryDep) -> ChargePlanOut:
    """The newest charge plan: slots, energy, expected cost with its range, and the reason."""
    plan = await history.latest_plan(vehicle_id)
    if plan is None:
        await _require_known(history, vehicle_id)
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            f"vehicle {vehicle_id!r} has no charge plan yet; the forecast service plans when "
            "the car is plugged in, when prices are published and when its state or profile "
            "changes",
        )
    return ChargePlanOut.from_event(plan)


@router.get(
    "/vehicles/{vehicle_id}/plans",
    response_model=ChargePlansPage,
    response_model_by_alias=True,
    responses={**_NOT_FOUND, **examples.ok(examples.PLANS)},
)
async def get_plans(
    request: Request,
    vehicle_id: VisibleVehicleId,
    history: HistoryDep,
    clock: ClockDep,
    from_at: PlansFrom = None,
    to_at: PlansTo = None,
    limit: Annotated[
        int,
        Query(
            description=f"Most plans to return, a count of {domain.MIN_LIMIT}.."
            f"{domain.MAX_PLANS_LIMIT}.",
            json_schema_extra={"minimum": domain.MIN_LIMIT, "maximum": domain.MAX_PLANS_LIMIT},
        ),
    ] = domain.DEFAULT_PLANS_LIMIT,
    cursor: Annotated[str | None, Query(description=paging.CURSOR_DESCRIPTION)] = None,
) -> ChargePlansPage:
    """Every plan issued in the window (at most 31 days), newest first, a page of at most
    ``limit``; ``next_cursor`` pages on."""
    try:
        paging.refuse_mixed(cursor, set(request.query_params))
        if cursor is not None:
            from_at, to_at, _ = paging.decode(cursor)
        query = domain.resolve_plans_query(
            from_at=from_at, to_at=to_at, limit=limit, now=clock.now()
        )
    except domain.InvalidQueryError as error:
        _refuse(error)
    await _require_known(history, vehicle_id)
    # One more than the page holds: whether a next page exists, without asking again.
    found = await history.plans(vehicle_id, replace(query, limit=query.limit + 1))
    plans = found[: query.limit]
    window = query.window
    next_cursor = (
        paging.rest_after(window.from_at, window.to_at, "desc", plans[-1].issued_at)
        if len(found) > query.limit
        else None
    )
    return ChargePlansPage(
        vehicle_id=vehicle_id,
        from_=window.from_at,
        to=window.to_at,
        limit=query.limit,
        count=len(plans),
        plans=[ChargePlanOut.from_event(p) for p in plans],
        next_cursor=next_cursor,
    )
