"""The provisioner app's own HTTP endpoints."""

import httpx

from tc_provisioner.main import create_app
from tc_provisioner.settings import ProvisionerSettings


async def test_livez_answers_without_a_reachable_broker_or_database() -> None:
    # The liveness probe: a Kafka or database outage must not get the pod restarted.
    app = create_app(
        ProvisionerSettings(
            kafka={"bootstrap_servers": "127.0.0.1:9"},
            postgres={"url": "postgresql://tc:unused@127.0.0.1:9/nothing"},
        )
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://provisioner") as client:
        response = await client.get("/livez")

    assert response.status_code == 204
