"""Settings fail fast on placeholder secrets; logs never carry a secret."""

import logging

import pytest
from pydantic import SecretStr, ValidationError
from pydantic_settings import SettingsConfigDict

from tc_common.clock import FixedClock
from tc_common.logging import RedactingFilter, redact, register_secret
from tc_common.settings import PostgresSettings, ServiceSettings


class DemoSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="DEMO_")
    token: SecretStr
    postgres: PostgresSettings


def test_nested_settings_come_from_prefixed_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEMO_TOKEN", "a-real-looking-token")
    monkeypatch.setenv("DEMO_POSTGRES__URL", "postgresql://u:p@db/x")
    monkeypatch.setenv("DEMO_KAFKA__BOOTSTRAP_SERVERS", "kafka:9092")
    settings = DemoSettings()  # type: ignore[call-arg]
    assert settings.kafka.bootstrap_servers == "kafka:9092"
    assert settings.postgres.url.get_secret_value() == "postgresql://u:p@db/x"


@pytest.mark.parametrize("placeholder", ["changethis", "changeme", "  "])
def test_placeholder_secrets_stop_the_service_without_echoing_them(placeholder: str) -> None:
    with pytest.raises(ValidationError) as error:
        DemoSettings(token=placeholder, postgres={"url": "postgresql://u:p@db/x"})  # type: ignore[arg-type]
    assert "placeholder" in str(error.value)
    if placeholder.strip():
        assert placeholder not in str(error.value)


def test_missing_secret_stops_the_service(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DEMO_TOKEN", raising=False)
    with pytest.raises(ValidationError, match="token"):
        DemoSettings(postgres={"url": "postgresql://u:p@db/x"})  # type: ignore[arg-type,call-arg]


@pytest.mark.parametrize(
    ("line", "leak"),
    [
        ("GET /x with Authorization: Bearer abcDEF123456789", "abcDEF123456789"),
        ("GET https://api.tessie.com/V/state?access_token=tok_987654321&x=1", "tok_987654321"),
        ("connect postgresql://tc:s3cretPass@127.0.0.1:5432/db failed", "s3cretPass"),
        ("api_key=XyZ-very-secret-key", "XyZ-very-secret-key"),
    ],
)
def test_redaction_removes_secrets_from_log_text(line: str, leak: str) -> None:
    assert leak not in redact(line)
    assert "***" in redact(line)


def test_registered_secrets_never_reach_a_log_record_or_its_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    register_secret("registered-secret-value-42")
    logger = logging.getLogger("tc.test.redaction")
    logger.addFilter(RedactingFilter())
    try:
        raise RuntimeError("failed with registered-secret-value-42 in the message")
    except RuntimeError:
        with caplog.at_level(logging.INFO, logger="tc.test.redaction"):
            logger.exception("token was %s", "registered-secret-value-42")
    text = caplog.text
    assert "registered-secret-value-42" not in text
    assert "token was ***" in text


def test_fixed_clock_refuses_naive_time_and_moves_only_when_told() -> None:
    from datetime import UTC, datetime, timedelta

    with pytest.raises(ValueError, match="aware"):
        FixedClock(datetime(2026, 1, 1))  # noqa: DTZ001
    clock = FixedClock(datetime(2026, 1, 1, tzinfo=UTC))
    clock.advance(timedelta(minutes=5))
    assert clock.now() == datetime(2026, 1, 1, 0, 5, tzinfo=UTC)
