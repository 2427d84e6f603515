"""``python -m tc_provisioner`` runs as a real process configured from its environment."""

import pytest

from tc_devstack import LocalKafka
from tc_devstack.service_process import run_service_process

pytestmark = [pytest.mark.integration, pytest.mark.timeout(90)]


def test_service_process_serves_healthz_and_metrics(kafka: LocalKafka, database_url: str) -> None:
    run = run_service_process(
        "tc_provisioner",
        "PROVISIONER",
        kafka.bootstrap_servers,
        {"PROVISIONER_POSTGRES__URL": database_url},
    )

    assert run.health_status == 204
    assert "tc_dead_letters_total" in run.metrics_text
    assert run.stopped_cleanly
