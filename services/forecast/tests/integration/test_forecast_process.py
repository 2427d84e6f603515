"""``python -m tc_forecast`` runs as a real process configured from its environment."""

import uuid

import pytest

from tc_devstack import LocalKafka
from tc_devstack.service_process import run_service_process

pytestmark = [pytest.mark.integration, pytest.mark.timeout(90)]


def test_service_process_serves_healthz_and_metrics(kafka: LocalKafka) -> None:
    run = run_service_process(
        "tc_forecast",
        "FORECAST",
        kafka.bootstrap_servers,
        # Groups of its own on the session's shared broker (see test_behaviour_over_real_kafka).
        {"FORECAST_CONSUMER_GROUP": f"forecast-it-{uuid.uuid4().hex[:8]}"},
    )

    assert run.health_status == 204
    assert "tc_dead_letters_total" in run.metrics_text
    assert run.stopped_cleanly
