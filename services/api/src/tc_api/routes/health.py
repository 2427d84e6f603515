"""Operational endpoints: liveness, readiness with a database check, and Prometheus metrics.
No auth.

Kubernetes restarts a pod whose liveness fails and only takes it out of its Service while
readiness fails. So ``/livez`` (liveness) depends on nothing outside the process: a database
outage must not restart every api pod, it makes ``/healthz`` (readiness) answer 503.
"""

from fastapi import APIRouter, Request, Response, status
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from tc_api import examples
from tc_api.deps import ReaderDep
from tc_api.ports import TelemetryUnavailableError
from tc_api.schemas import Alive, Health

RETRY_AFTER_S = 5

router = APIRouter(tags=["operations"])


@router.get("/livez", response_model=Alive, responses=examples.ok(examples.ALIVE))
async def get_liveness() -> Alive:
    """200 while the process serves HTTP; asks no database."""
    return Alive()


@router.get(
    "/healthz",
    response_model=Health,
    responses={
        **examples.ok(examples.HEALTH),
        503: {"model": Health, "description": "The database does not answer."},
    },
)
async def get_health(reader: ReaderDep) -> JSONResponse:
    """Readiness: 200 while the database answers, else 503."""
    try:
        await reader.ping()
    except TelemetryUnavailableError:
        return JSONResponse(
            Health(status="unavailable", database="unavailable").model_dump(),
            status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": str(RETRY_AFTER_S)},
        )
    return JSONResponse(Health(status="ok", database="ok").model_dump())


@router.get("/metrics", include_in_schema=False)
async def get_metrics(request: Request) -> Response:
    return Response(generate_latest(request.app.state.registry), media_type=CONTENT_TYPE_LATEST)
