"""Settings parts every service composes: one ``BaseSettings`` per service, nested models here.

Settings are built once, in a service's composition root (``create_app(settings=None)``), and
fail fast: a missing or placeholder secret stops the service at start, not at first use.
"""

from pathlib import Path
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from tc_common.clock import Clock, system_or_shifted

PLACEHOLDER_SECRETS = frozenset({"", "changethis", "changeme", "secret", "password", "xxx"})


def reject_placeholder(name: str, value: SecretStr | None) -> None:
    """Raise when a secret is a well-known placeholder; never echoes the value."""
    if value is not None and value.get_secret_value().strip().lower() in PLACEHOLDER_SECRETS:
        raise ValueError(f"{name} is empty or a placeholder; set a real secret")


class KafkaSettings(BaseModel):
    # A refused setting must not echo the SASL password in the start-up error.
    model_config = ConfigDict(hide_input_in_errors=True)

    bootstrap_servers: str = Field(
        default="localhost:9092", description="Comma-separated host:port list."
    )
    # How clients reach the brokers (tc_common.kafka_security builds every client from these):
    # TLS with SSL and SASL_SSL, SASL/SCRAM authentication with SASL_PLAINTEXT and SASL_SSL.
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = Field(
        default="PLAINTEXT",
        description="PLAINTEXT | SSL | SASL_PLAINTEXT | SASL_SSL. Production refuses the two "
        "without TLS.",
    )
    ssl_cafile: Path | None = Field(
        default=None,
        description="PEM file of the CA(s) that signed the brokers' certificates; unset: the "
        "system's trust store. SSL and SASL_SSL only.",
    )
    ssl_certfile: Path | None = Field(
        default=None,
        description="PEM file of this client's certificate, for brokers that require one "
        "(mutual TLS). SSL and SASL_SSL only.",
    )
    ssl_keyfile: Path | None = Field(
        default=None,
        description="PEM file of the client certificate's private key; unset: it is in "
        "ssl_certfile.",
    )
    ssl_check_hostname: bool = Field(
        default=True,
        description="Refuse a broker whose certificate is not for the host connected to. "
        "Production refuses false.",
    )
    sasl_mechanism: Literal["SCRAM-SHA-256", "SCRAM-SHA-512"] = Field(
        default="SCRAM-SHA-512",
        description="The SASL mechanism of SASL_PLAINTEXT and SASL_SSL (PLAIN is not offered: "
        "it sends the password itself).",
    )
    sasl_username: str | None = Field(
        default=None, description="The SCRAM user; SASL_PLAINTEXT and SASL_SSL only."
    )
    sasl_password: SecretStr | None = Field(
        default=None, description="The SCRAM user's password (a secret); with sasl_username."
    )
    # The topic contract's deployment part (tc_common.topics.CONTRACT has each topic's
    # retention): applied when a service creates a missing topic, checked on existing ones.
    partitions: int = Field(default=6, ge=1, description="Partitions of a topic created.")
    replication_factor: int = Field(
        default=1,
        ge=1,
        description="Copies of each partition. With 1, acks=all waits for one broker only: "
        "production needs at least 2 (3 with min_insync_replicas 2 is usual).",
    )
    min_insync_replicas: int | None = Field(
        default=None,
        ge=1,
        description="Copies a write needs before acks=all acknowledges it; unset: the "
        "broker's default.",
    )
    retention_ms: dict[str, int] = Field(
        default={},
        description="Per-topic retention overrides in ms (-1: forever), as a JSON object.",
    )
    request_timeout_ms: int = Field(default=30_000, ge=1_000)
    max_poll_interval_ms: int = Field(
        default=300_000,
        ge=1_000,
        description="A consumer that does not poll for this long leaves its group. A handler "
        "that waits longer (a database outage) keeps polling with its partitions paused.",
    )

    @property
    def uses_tls(self) -> bool:
        return self.security_protocol in ("SSL", "SASL_SSL")

    @property
    def uses_sasl(self) -> bool:
        return self.security_protocol in ("SASL_PLAINTEXT", "SASL_SSL")

    @model_validator(mode="after")
    def _security_consistent(self) -> "KafkaSettings":
        # A setting that would be ignored is a mistake in the deployment: refuse it.
        tls_options = (self.ssl_cafile, self.ssl_certfile, self.ssl_keyfile)
        if not self.uses_tls and (any(tls_options) or not self.ssl_check_hostname):
            raise ValueError(
                "ssl_cafile, ssl_certfile, ssl_keyfile and ssl_check_hostname need "
                "security_protocol SSL or SASL_SSL"
            )
        if self.ssl_keyfile is not None and self.ssl_certfile is None:
            raise ValueError("ssl_keyfile needs ssl_certfile (the certificate it belongs to)")
        if self.uses_sasl and (not self.sasl_username or self.sasl_password is None):
            raise ValueError(f"{self.security_protocol} needs sasl_username and sasl_password")
        if not self.uses_sasl and (self.sasl_username or self.sasl_password is not None):
            raise ValueError(
                "sasl_username and sasl_password need security_protocol SASL_PLAINTEXT or SASL_SSL"
            )
        reject_placeholder("sasl_password", self.sasl_password)
        return self

    @model_validator(mode="after")
    def _insync_within_replicas(self) -> "KafkaSettings":
        if self.min_insync_replicas is not None and (
            self.min_insync_replicas > self.replication_factor
        ):
            raise ValueError("min_insync_replicas cannot exceed replication_factor")
        return self


class PostgresSettings(BaseModel):
    url: SecretStr = Field(
        description="libpq connection string, e.g. postgresql://user:pass@host:5432/db"
    )
    pool_max_size: int = Field(default=5, ge=1, le=100)


class HttpSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)


class ServiceSettings(BaseSettings):
    """Base of every service's settings; subclasses set ``env_prefix`` (``INGEST_``...)."""

    # hide_input_in_errors: a rejected secret must not be echoed in the start-up error.
    model_config = SettingsConfigDict(
        env_nested_delimiter="__", extra="ignore", env_ignore_empty=True, hide_input_in_errors=True
    )

    uses_kafka: ClassVar[bool] = True
    environment: Literal["development", "production"] = "development"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    kafka: KafkaSettings = KafkaSettings()
    http: HttpSettings = HttpSettings()
    clock_offset_s: float = Field(
        default=0.0,
        description="Development and tests only: the service's clock runs this many seconds "
        "ahead of (negative: behind) the system clock, so that a whole local stack plays one "
        "chosen moment (make run's SIM_START_AT). Refused in production.",
    )

    def clock(self) -> Clock:
        """The clock the service runs on: the system clock, shifted in development if asked."""
        return system_or_shifted(self.clock_offset_s)

    @model_validator(mode="after")
    def _clock_is_real_in_production(self) -> "ServiceSettings":
        if self.environment == "production" and self.clock_offset_s:
            raise ValueError(
                "clock_offset_s is for development and tests; production runs on the system clock"
            )
        return self

    @model_validator(mode="after")
    def _replicated_in_production(self) -> "ServiceSettings":
        # acks="all" means "every in-sync replica": with one copy it protects nothing.
        if (
            self.uses_kafka
            and self.environment == "production"
            and (self.kafka.replication_factor < 2 or (self.kafka.min_insync_replicas or 0) < 2)
        ):
            raise ValueError(
                "production needs kafka.replication_factor >= 2 and kafka.min_insync_replicas "
                ">= 2, so that an acknowledged message is on two brokers"
            )
        return self

    @model_validator(mode="after")
    def _kafka_encrypted_in_production(self) -> "ServiceSettings":
        # Telemetry (positions), invitation codes and email addresses cross the network to the
        # brokers: in production only over TLS that checks whom it talks to.
        if self.uses_kafka and self.environment == "production":
            if not self.kafka.uses_tls:
                raise ValueError(
                    "production needs kafka.security_protocol SSL or SASL_SSL (TLS); "
                    f"{self.kafka.security_protocol} sends everything in clear"
                )
            if not self.kafka.ssl_check_hostname:
                raise ValueError("production needs kafka.ssl_check_hostname true")
        return self

    @model_validator(mode="after")
    def _no_placeholder_secrets(self) -> "ServiceSettings":
        for name, value in self:
            if isinstance(value, SecretStr):
                reject_placeholder(name, value)
            elif isinstance(value, BaseModel):
                for inner, inner_value in value:
                    if isinstance(inner_value, SecretStr):
                        reject_placeholder(f"{name}.{inner}", inner_value)
        return self
