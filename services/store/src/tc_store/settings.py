from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from tc_common.settings import HttpSettings, PostgresSettings, ServiceSettings
from tc_store.domain import MIN_TELEMETRY_RETENTION_DAYS


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
    telemetry_retention_days: int | None = Field(
        default=None,
        ge=1,
        description="Drop raw telemetry sampled more than this many days ago; unset keeps "
        f"everything. At least {MIN_TELEMETRY_RETENTION_DAYS}.",
    )
    retention_interval_s: float = Field(
        default=3600.0, gt=0, description="How often the retention policy runs (plain mode)."
    )
    db_retry_initial_s: float = Field(default=0.5, gt=0)
    db_retry_max_s: float = Field(default=15.0, gt=0)
    db_connect_timeout_s: float = Field(default=5.0, gt=0)

    @field_validator("telemetry_retention_days")
    @classmethod
    def _retention_keeps_at_least_the_topic(cls, days: int | None) -> int | None:
        if days is not None and days < MIN_TELEMETRY_RETENTION_DAYS:
            raise ValueError(
                f"telemetry_retention_days={days} is too short: the database must keep at "
                f"least the {MIN_TELEMETRY_RETENTION_DAYS} days the raw telemetry topic keeps "
                "(unset keeps everything)"
            )
        return days
