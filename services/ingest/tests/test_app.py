"""Composition: settings from the environment, the AsyncAPI contract, the Kafka edge."""

import base64
import json

import httpx
import pytest
from faststream.kafka import KafkaBroker, TestKafkaBroker
from faststream.kafka.annotations import KafkaMessage
from pydantic import ValidationError

from tc_common.events import TelemetrySampled
from tc_common.topics import TELEMETRY_SAMPLED_V1
from tc_ingest.adapters.kafka import KafkaSamplePublisher
from tc_ingest.main import create_app
from tc_ingest.settings import IngestSettings
from tc_testkit.events import telemetry_sample

from .support import NOW, TOKEN, VIN_A


@pytest.fixture
def settings() -> IngestSettings:
    return IngestSettings(
        tessie={"token": TOKEN, "base_url": "http://127.0.0.1:9"},
        kafka={"bootstrap_servers": "127.0.0.1:9"},
    )


class TestSettings:
    def test_settings_are_read_from_ingest_prefixed_variables(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("INGEST_TESSIE__TOKEN", TOKEN)
        monkeypatch.setenv("INGEST_POLL_INTERVAL_S", "15")
        monkeypatch.setenv("INGEST_KAFKA__BOOTSTRAP_SERVERS", "127.0.0.1:19092")

        settings = IngestSettings()

        assert settings.tessie.token.get_secret_value() == TOKEN
        assert settings.tessie.base_url == "https://api.tessie.com"
        assert settings.poll_interval_s == 15
        assert settings.kafka.bootstrap_servers == "127.0.0.1:19092"
        assert settings.http.port == 8101
        assert settings.vins is None

    @pytest.mark.parametrize(
        "raw", ["5YJ3E7EB0KF000001, 5YJ3E7EB0KF000002", '["5YJ3E7EB0KF000001","5YJ3E7EB0KF000002"]']
    )
    def test_vins_may_be_a_comma_list_or_json(
        self, monkeypatch: pytest.MonkeyPatch, raw: str
    ) -> None:
        monkeypatch.setenv("INGEST_TESSIE__TOKEN", TOKEN)
        monkeypatch.setenv("INGEST_VINS", raw)

        assert IngestSettings().vins == ["5YJ3E7EB0KF000001", "5YJ3E7EB0KF000002"]

    def test_without_a_token_or_vault_keys_the_settings_are_still_valid(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # Unset, ingest polls only the accounts' tokens (none without vault keys).
        monkeypatch.delenv("INGEST_TESSIE__TOKEN", raising=False)
        monkeypatch.delenv("INGEST_VAULT__KEYS", raising=False)

        settings = IngestSettings()

        assert settings.tessie.token is None
        assert settings.vault is None

    def test_vault_keys_are_read_from_ingest_prefixed_variables(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        key = base64.b64encode(bytes(range(32))).decode()
        monkeypatch.setenv("INGEST_VAULT__KEYS", json.dumps({"1": key}))
        monkeypatch.setenv("INGEST_VAULT__CURRENT_VERSION", "1")

        settings = IngestSettings()

        assert settings.vault is not None
        assert settings.vault.current_version == 1

    def test_the_vault_keys_may_live_in_kms_instead(self, monkeypatch: pytest.MonkeyPatch) -> None:
        arn = "arn:aws:kms:eu-central-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
        monkeypatch.delenv("INGEST_VAULT__KEYS", raising=False)
        monkeypatch.setenv("INGEST_VAULT_KMS__REGION", "eu-central-1")
        monkeypatch.setenv("INGEST_VAULT_KMS__KEY_IDS", json.dumps({"1": arn}))
        monkeypatch.setenv("INGEST_VAULT_KMS__CURRENT_VERSION", "1")

        settings = IngestSettings()

        assert settings.vault is None
        assert settings.vault_kms is not None
        assert settings.vault_kms.key_ids == {1: arn}

    def test_local_and_kms_vault_keys_at_once_stop_ingest(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        key = base64.b64encode(bytes(range(32))).decode()
        monkeypatch.setenv("INGEST_VAULT__KEYS", json.dumps({"1": key}))
        monkeypatch.setenv("INGEST_VAULT__CURRENT_VERSION", "1")
        monkeypatch.setenv("INGEST_VAULT_KMS__REGION", "eu-central-1")
        monkeypatch.setenv("INGEST_VAULT_KMS__KEY_IDS", '{"1": "alias/tc-vault-v1"}')
        monkeypatch.setenv("INGEST_VAULT_KMS__CURRENT_VERSION", "1")

        with pytest.raises(ValidationError, match="not both"):
            IngestSettings()
        assert key not in repr(settings)

    def test_a_malformed_vault_key_is_refused_without_echoing_it(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("INGEST_VAULT__KEYS", '{"1": "c2hvcnQta2V5LXNlY3JldA=="}')
        monkeypatch.setenv("INGEST_VAULT__CURRENT_VERSION", "1")

        with pytest.raises(ValidationError) as raised:
            IngestSettings()

        assert "c2hvcnQta2V5LXNlY3JldA" not in str(raised.value)

    def test_a_placeholder_token_is_refused_without_echoing_it(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("INGEST_TESSIE__TOKEN", "changeme")

        with pytest.raises(ValidationError) as raised:
            IngestSettings()

        assert "changeme" not in str(raised.value)

    def test_polling_faster_than_every_5_seconds_is_refused(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("INGEST_TESSIE__TOKEN", TOKEN)
        monkeypatch.setenv("INGEST_POLL_INTERVAL_S", "2")

        with pytest.raises(ValidationError):
            IngestSettings()

    def test_the_token_is_hidden_in_the_settings_repr(self, settings: IngestSettings) -> None:
        assert TOKEN not in repr(settings)
        assert TOKEN not in str(settings.model_dump())


class TestApp:
    def test_the_asyncapi_document_names_the_telemetry_schema(
        self, settings: IngestSettings
    ) -> None:
        app = create_app(settings)

        document = json.loads(app.schema.to_specification().to_json())

        [channel] = [
            c
            for c in document["channels"].values()
            if "address" in c and c["address"] == TELEMETRY_SAMPLED_V1
        ]
        assert "TelemetrySampled" in document["components"]["schemas"]
        assert "battery_range_km" in json.dumps(document["components"]["schemas"])
        assert channel

    async def test_livez_answers_with_neither_broker_nor_tessie_reachable(
        self, settings: IngestSettings
    ) -> None:
        # The liveness probe: a Kafka or Tessie outage must not get the pod restarted.
        transport = httpx.ASGITransport(app=create_app(settings))
        async with httpx.AsyncClient(transport=transport, base_url="http://ingest") as client:
            response = await client.get("/livez")

        assert response.status_code == 204

    async def test_samples_are_published_keyed_by_vin(self) -> None:
        broker = KafkaBroker()
        publisher = broker.publisher(TELEMETRY_SAMPLED_V1, schema=TelemetrySampled)
        received: list[tuple[bytes | None, TelemetrySampled]] = []

        @broker.subscriber(TELEMETRY_SAMPLED_V1)
        async def capture(event: TelemetrySampled, message: KafkaMessage) -> None:
            received.append((message.raw_message.key, event))  # type: ignore[union-attr]

        sample = telemetry_sample(VIN_A, NOW)

        async with TestKafkaBroker(broker):
            await KafkaSamplePublisher(publisher).publish(sample)

        [(key, event)] = received
        assert key == VIN_A.encode()
        assert event == sample
