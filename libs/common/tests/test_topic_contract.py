"""The topic contract: every topic's retention, and the deployment's replication, applied."""

import uuid
from typing import Any

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from pydantic import ValidationError

from tc_common.messaging import ensure_topics, topic_configs
from tc_common.settings import KafkaSettings, ServiceSettings
from tc_common.topics import (
    ALL_TOPICS,
    BEHAVIOUR_PROFILE_UPDATED_V1,
    CONTRACT,
    DEAD_LETTER_V1,
    TELEMETRY_SAMPLED_V1,
)

DAY_MS = 24 * 3600 * 1000


def test_every_topic_has_a_retention_and_a_reason() -> None:
    assert set(CONTRACT) == set(ALL_TOPICS)
    assert all(policy.why for policy in CONTRACT.values())


def test_raw_topics_expire_and_the_profile_changelog_is_compacted() -> None:
    kafka = KafkaSettings()

    assert topic_configs(TELEMETRY_SAMPLED_V1, kafka) == {
        "cleanup.policy": "delete",
        "retention.ms": str(7 * DAY_MS),
    }
    assert topic_configs(BEHAVIOUR_PROFILE_UPDATED_V1, kafka) == {
        "cleanup.policy": "compact",
        "retention.ms": "-1",
    }


def test_a_deployment_sets_replication_and_overrides_a_retention() -> None:
    kafka = KafkaSettings(
        replication_factor=3, min_insync_replicas=2, retention_ms={DEAD_LETTER_V1: 3 * DAY_MS}
    )

    assert topic_configs(DEAD_LETTER_V1, kafka) == {
        "cleanup.policy": "delete",
        "retention.ms": str(3 * DAY_MS),
        "min.insync.replicas": "2",
    }


def test_production_refuses_a_single_copy_of_each_message() -> None:
    with pytest.raises(ValidationError, match="replication_factor >= 2"):
        ServiceSettings(environment="production")
    with pytest.raises(ValidationError, match="cannot exceed replication_factor"):
        KafkaSettings(replication_factor=1, min_insync_replicas=2)
    replicated = ServiceSettings(
        environment="production",
        kafka={"replication_factor": 3, "min_insync_replicas": 2, "security_protocol": "SSL"},
    )
    assert replicated.kafka.replication_factor == 3


async def describe(bootstrap: str, topics: list[str]) -> dict[str, dict[str, Any]]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        responses = await admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, t) for t in topics]
        )
        partitions = {t: len(admin._client.cluster.partitions_for_topic(t) or ()) for t in topics}
    finally:
        await admin.close()
    out: dict[str, dict[str, Any]] = {}
    for response in responses:
        for resource in response.resources:
            out[resource[3]] = {entry[0]: entry[1] for entry in resource[4]}
    for topic, count in partitions.items():
        out.setdefault(topic, {})["partitions"] = count
    return out


@pytest.mark.integration
async def test_topics_are_created_by_the_contract_and_drift_is_reported(kafka: Any) -> None:
    # Fresh names, so that the session broker's topics of other tests are not involved.
    telemetry = f"{TELEMETRY_SAMPLED_V1}.{uuid.uuid4().hex[:8]}"
    profiles = f"{BEHAVIOUR_PROFILE_UPDATED_V1}.{uuid.uuid4().hex[:8]}"
    contract = {
        telemetry: CONTRACT[TELEMETRY_SAMPLED_V1],
        profiles: CONTRACT[BEHAVIOUR_PROFILE_UPDATED_V1],
    }
    settings = KafkaSettings(bootstrap_servers=kafka.bootstrap_servers, partitions=3)

    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(CONTRACT, telemetry, contract[telemetry])  # type: ignore[arg-type]
        patch.setitem(CONTRACT, profiles, contract[profiles])  # type: ignore[arg-type]
        created = await ensure_topics(settings, [telemetry, profiles])
        shorter = settings.model_copy(update={"retention_ms": {telemetry: DAY_MS}})
        drift = await ensure_topics(shorter, [telemetry, profiles])

    described = await describe(kafka.bootstrap_servers, [telemetry, profiles])
    assert created == {}
    assert described[telemetry]["retention.ms"] == str(7 * DAY_MS)
    assert described[telemetry]["cleanup.policy"] == "delete"
    assert described[profiles]["cleanup.policy"] == "compact"
    assert described[telemetry]["partitions"] == 3
    assert list(drift) == [telemetry]
    assert "retention.ms" in drift[telemetry]
