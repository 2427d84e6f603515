"""Operational endpoints: liveness with a database check, and Prometheus metrics. No auth."""

from fastapi import APIRouter, Request, Response, status
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from tc_api.deps import ReaderDep
from tc_api.ports import TelemetryUnavailableError
from tc_api.schemas import Health

RETRY_AFTER_S = 5

router = APIRouter(tags=["operations"])


@router.get(
    "/healthz",
    response_model=Health,
    responses={503: {"model": Health, "description": "The database does not answer."}},
)
async def get_health(reader: ReaderDep) -> JSONResponse:
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
