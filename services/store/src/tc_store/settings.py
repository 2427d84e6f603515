from pydantic import Field
from pydantic_settings import SettingsConfigDict

from tc_common.settings import HttpSettings, PostgresSettings, ServiceSettings


class StoreSettings(ServiceSettings):
    """Settings of the store service; environment variables start with ``STORE_``."""

    model_config = SettingsConfigDict(
        env_prefix="STORE_", env_nested_delimiter="__", extra="ignore", env_ignore_empty=True
    )

    postgres: PostgresSettings
    http: HttpSettings = HttpSettings(port=8102)
    consumer_group: str = Field(
        default="store",
        min_length=1,
        description="Kafka consumer group; change only to replay into a new database.",
    )
    retention_days: int | None = Field(
        default=None, ge=1, description="TimescaleDB only: drop raw telemetry older than this."
    )
    db_retry_initial_s: float = Field(default=0.5, gt=0)
    db_retry_max_s: float = Field(default=15.0, gt=0)
    db_connect_timeout_s: float = Field(default=5.0, gt=0)
