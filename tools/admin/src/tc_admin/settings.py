"""tc-admin's settings: environment variables prefixed ``ADMIN_``, like the services'."""

from pydantic_settings import SettingsConfigDict

from tc_common.settings import PostgresSettings, ServiceSettings


class AdminSettings(ServiceSettings):
    """Read from ``ADMIN_POSTGRES__URL``, ``ADMIN_KAFKA__BOOTSTRAP_SERVERS`` (and the TLS/SASL
    settings of ``KafkaSettings``: ``ADMIN_KAFKA__SECURITY_PROTOCOL``...)."""

    model_config = SettingsConfigDict(
        env_prefix="ADMIN_",
        env_nested_delimiter="__",
        extra="ignore",
        env_ignore_empty=True,
        hide_input_in_errors=True,
    )

    postgres: PostgresSettings
