"""Kafka security settings: consistent or refused at start, the password never shown, and the
same connection arguments for every client (``tc_common.kafka_security``)."""

import logging
import ssl
from pathlib import Path
from typing import Any

import pytest
from faststream.kafka.security import parse_security
from faststream.security import BaseSecurity, SASLScram256, SASLScram512
from pydantic import ValidationError

from tc_common.kafka_security import broker_security, client_options
from tc_common.logging import RedactingFilter
from tc_common.settings import KafkaSettings, ServiceSettings

PASSWORD = "kafka-pw-7Hq2ZxR9"
SASL_SSL: dict[str, Any] = {
    "bootstrap_servers": "kafka-0.example:9093",
    "security_protocol": "SASL_SSL",
    "sasl_mechanism": "SCRAM-SHA-512",
    "sasl_username": "tc-store",
    "sasl_password": PASSWORD,
}
REPLICATED = {"replication_factor": 3, "min_insync_replicas": 2}


@pytest.mark.parametrize(
    ("settings", "refusal"),
    [
        ({"security_protocol": "SASL_SSL"}, "needs sasl_username and sasl_password"),
        ({"security_protocol": "SASL_PLAINTEXT", "sasl_username": "u"}, "needs sasl_username"),
        ({**SASL_SSL, "sasl_username": None}, "needs sasl_username"),
        ({"sasl_username": "u", "sasl_password": PASSWORD}, "need security_protocol SASL"),
        ({"ssl_cafile": "/ca.pem"}, "need security_protocol SSL or SASL_SSL"),
        ({"security_protocol": "SASL_PLAINTEXT", "sasl_username": "u", "sasl_password": PASSWORD,
          "ssl_cafile": "/ca.pem"}, "need security_protocol SSL or SASL_SSL"),
        ({"ssl_check_hostname": False}, "need security_protocol SSL or SASL_SSL"),
        ({"security_protocol": "SSL", "ssl_keyfile": "/k.pem"}, "needs ssl_certfile"),
        ({**SASL_SSL, "sasl_password": "changeme"}, "placeholder"),
        ({**SASL_SSL, "sasl_mechanism": "PLAIN"}, "sasl_mechanism"),
    ],
)  # fmt: skip
def test_inconsistent_security_settings_are_refused_without_echoing_the_password(
    settings: dict[str, Any], refusal: str
) -> None:
    with pytest.raises(ValidationError) as error:
        KafkaSettings.model_validate(settings)

    assert refusal in str(error.value)
    assert PASSWORD not in str(error.value)
    assert "changeme" not in str(error.value)


def test_the_password_shows_in_no_repr_string_dump_or_log_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    kafka = KafkaSettings.model_validate(SASL_SSL)
    service = ServiceSettings(environment="production", kafka={**SASL_SSL, **REPLICATED})
    logger = logging.getLogger("tc.test.kafka_settings")
    logger.addFilter(RedactingFilter())

    client_options(kafka)  # registers the password with the redacting filter
    with caplog.at_level(logging.INFO, logger="tc.test.kafka_settings"):
        logger.info("connecting with %s and %s", kafka, PASSWORD)

    shown = [repr(kafka), str(kafka), kafka.model_dump_json(), repr(service), str(service)]
    shown += [service.model_dump_json(), caplog.text, repr(broker_security(kafka))]
    assert [text for text in shown if PASSWORD in text] == []
    assert "connecting with" in caplog.text


def test_sasl_ssl_gives_every_client_tls_that_checks_the_broker_and_scram_with_the_user() -> None:
    kafka = KafkaSettings.model_validate(SASL_SSL)

    options = client_options(kafka)
    security = broker_security(kafka)

    context = options.pop("ssl_context")
    assert options == {
        "bootstrap_servers": "kafka-0.example:9093",
        "security_protocol": "SASL_SSL",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "tc-store",
        "sasl_plain_password": PASSWORD,
    }
    assert isinstance(context, ssl.SSLContext)
    assert context.check_hostname is True
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.minimum_version >= ssl.TLSVersion.TLSv1_2
    # FastStream turns its security object into the same arguments for its own clients.
    assert isinstance(security, SASLScram512)
    from_broker = parse_security(security)
    assert isinstance(from_broker.pop("ssl_context"), ssl.SSLContext)
    assert from_broker == {k: v for k, v in options.items() if k != "bootstrap_servers"}


@pytest.mark.parametrize(
    ("settings", "kind", "protocol"),
    [
        ({}, type(None), "PLAINTEXT"),
        ({"security_protocol": "SSL"}, BaseSecurity, "SSL"),
        ({**SASL_SSL, "security_protocol": "SASL_PLAINTEXT"}, SASLScram512, "SASL_PLAINTEXT"),
        ({**SASL_SSL, "sasl_mechanism": "SCRAM-SHA-256"}, SASLScram256, "SASL_SSL"),
    ],
)
def test_each_security_protocol_becomes_the_matching_client_arguments(
    settings: dict[str, Any], kind: type, protocol: str
) -> None:
    kafka = KafkaSettings.model_validate(settings)

    options = client_options(kafka)
    security = broker_security(kafka)

    assert options["security_protocol"] == protocol
    assert ("ssl_context" in options) == protocol.endswith("SSL")
    assert ("sasl_mechanism" in options) == protocol.startswith("SASL")
    assert isinstance(security, kind)
    assert parse_security(security).get("security_protocol", "PLAINTEXT") == protocol


def test_a_client_certificate_is_loaded_for_mutual_tls(tmp_path: Path) -> None:
    kafka = KafkaSettings(
        security_protocol="SSL",
        ssl_certfile=tmp_path / "missing-client.pem",
        ssl_keyfile=tmp_path / "missing-client.key",
    )
    with pytest.raises(FileNotFoundError):
        client_options(kafka)


@pytest.mark.parametrize(
    ("kafka", "refusal"),
    [
        ({}, "security_protocol SSL or SASL_SSL"),
        ({**SASL_SSL, "security_protocol": "SASL_PLAINTEXT"}, "security_protocol SSL or SASL_SSL"),
        ({"security_protocol": "SSL", "ssl_check_hostname": False}, "ssl_check_hostname"),
    ],
)
def test_production_refuses_kafka_without_tls_that_checks_the_host(
    kafka: dict[str, Any], refusal: str
) -> None:
    with pytest.raises(ValidationError, match=refusal) as error:
        ServiceSettings(environment="production", kafka={**kafka, **REPLICATED})
    assert PASSWORD not in str(error.value)


def test_production_accepts_sasl_ssl_and_ssl() -> None:
    for kafka in (SASL_SSL, {"security_protocol": "SSL"}):
        settings = ServiceSettings(environment="production", kafka={**kafka, **REPLICATED})
        assert settings.kafka.uses_tls


def test_kafka_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {**SASL_SSL, "ssl_cafile": "/etc/tc/kafka-ca/ca.crt"}.items():
        monkeypatch.setenv(f"KAFKA__{name.upper()}", value)

    kafka = ServiceSettings().kafka

    assert (kafka.security_protocol, kafka.sasl_username) == ("SASL_SSL", "tc-store")
    assert kafka.ssl_cafile == Path("/etc/tc/kafka-ca/ca.crt")
    assert kafka.sasl_password is not None
    assert kafka.sasl_password.get_secret_value() == PASSWORD
