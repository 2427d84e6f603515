"""Schemathesis over the committed contract, against the real app on a real PostgreSQL.

The app runs under uvicorn in a thread of its own (its lifespan opens the database pool there)
and is called over HTTP, as a generated client would. For every operation, schemathesis sends
examples the schema allows and requests it must refuse, and checks: no 5xx, every response
fits its documented schema, status and content type, and what the schema refuses the server
refuses too. Seeded with two tenants' vehicles; calls carry tenant A's key and, on vehicle
routes, ask for A's own car (another tenant's is a plain 404, tested in test_tenancy_postgres).
"""

import base64
import os
import secrets
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tc_api.main import create_app
from tc_api.settings import ApiSettings
from tc_common.clock import FixedClock
from tc_devstack.net import free_port
from tc_tessie_sim.server import RunningSimulator, running_simulator

from ..support import KEY, NOW  # noqa: TID252
from .test_tenancy_postgres import A_KEY, OWN, tenants_url  # noqa: F401 - a fixture

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

EXAMPLES = 20  # per operation and mode
TESSIE_DECIDES = {"PUT /v1/account/tessie-token"}


@pytest.fixture
def tessie() -> Iterator[RunningSimulator]:
    # Tessie refuses every token schemathesis makes up: PUT is then a 422, as documented.
    with running_simulator(
        token=f"tessie-{secrets.token_urlsafe(24)}", vehicles=1, now=FixedClock(NOW)
    ) as sim:
        yield sim


@pytest.fixture
def api_base_url(
    tenants_url: str,  # noqa: F811 - the imported fixture
    kafka: Any,
    tessie: RunningSimulator,
) -> Iterator[str]:
    key = base64.b64encode(os.urandom(32)).decode()
    settings = ApiSettings(
        postgres={"url": tenants_url},
        api_keys=[KEY],
        kafka={"bootstrap_servers": kafka.bootstrap_servers, "partitions": 1},
        vault={"keys": {1: key}, "current_version": 1},
        tessie_base_url=tessie.base_url,
        tessie_timeout_s=3,
    )
    app = create_app(settings, clock=FixedClock(NOW))
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, name="api-under-schemathesis", daemon=True)
    thread.start()
    try:
        for _ in range(600):
            if server.started:
                break
            threading.Event().wait(0.05)
        else:
            raise AssertionError("the api did not start within 30 s")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def _fuzz(operation: schemathesis.APIOperation, mode: GenerationMode, base_url: str) -> None:
    """One hypothesis run over one operation; raises what schemathesis found."""
    path_parameters = {"vehicle_id": OWN} if "{vehicle_id}" in operation.path else None
    # A window's bounds depend on each other ('from' before 'to', at most N days apart):
    # OpenAPI cannot say so (the descriptions do), so a schema-valid pair may be refused.
    query = {p.name for p in operation.query}
    # Tessie, not the schema, says whether a token is good: a well-formed one is refused (422).
    decided_elsewhere = {"from", "to"} <= query or operation.label in TESSIE_DECIDES
    excluded = [positive_data_acceptance] if decided_elsewhere else []

    @given(case=operation.as_strategy(mode, path_parameters=path_parameters))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.generate],
    )
    def call(case: schemathesis.Case) -> None:
        case.call_and_validate(
            base_url=base_url, headers={"X-API-Key": A_KEY}, excluded_checks=excluded
        )

    call()


@pytest.mark.parametrize("mode", list(GenerationMode), ids=lambda m: m.value)
def test_no_request_breaks_the_contract_or_the_server(
    api_base_url: str, mode: GenerationMode
) -> None:
    # Driven by hand rather than by schemathesis' pytest plugin, which does not run on this
    # pytest (9): one hypothesis run per operation, every failure collected.
    schema = schemathesis.openapi.from_url(f"{api_base_url}/openapi.json")
    # The erasure revokes the calling key: last, so that the others are fuzzed with a valid one.
    operations = sorted(
        (result.ok() for result in schema.get_all_operations()),
        key=lambda op: op.label == "DELETE /v1/account",
    )
    failures: dict[str, str] = {}
    for operation in operations:
        try:
            _fuzz(operation, mode, api_base_url)
        except Unsatisfiable:
            # Nothing to get wrong: an operation without parameters has no negative cases.
            assert mode is GenerationMode.NEGATIVE, operation.label
        except (Exception, BaseExceptionGroup) as error:  # all operations', reported below
            failures[operation.label] = str(error)[:2000]
    assert len(operations) >= 10
    assert not failures, "\n\n".join(f"{k}:\n{v}" for k, v in failures.items())
