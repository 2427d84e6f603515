"""The ingest service's settings: environment variables prefixed ``INGEST_``."""

import json
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator
from pydantic_settings import NoDecode, SettingsConfigDict

from tc_common.settings import HttpSettings, ServiceSettings


class TessieSettings(BaseModel):
    """``INGEST_TESSIE__TOKEN`` (required), ``INGEST_TESSIE__BASE_URL``..."""

    model_config = ConfigDict(hide_input_in_errors=True)

    base_url: str = Field(default="https://api.tessie.com", description="Tessie REST base URL.")
    token: SecretStr = Field(description="Tessie personal access token (dash.tessie.com).")
    timeout_s: float = Field(default=30.0, gt=0, le=120)
    max_attempts: int = Field(
        default=4, ge=1, le=10, description="Attempts per request for transient errors."
    )
    backoff_base_s: float = Field(default=1.0, gt=0)
    backoff_cap_s: float = Field(
        default=20.0, gt=0, description="Upper bound of one wait, also for Retry-After."
    )


class IngestSettings(ServiceSettings):
    """Env: ``INGEST_TESSIE__TOKEN``, ``INGEST_POLL_INTERVAL_S``, ``INGEST_VINS``..."""

    model_config = SettingsConfigDict(
        env_prefix="INGEST_",
        env_nested_delimiter="__",
        extra="ignore",
        env_ignore_empty=True,
        # A validation error would otherwise echo the raw input, token included.
        hide_input_in_errors=True,
    )

    http: HttpSettings = HttpSettings(port=8101)
    tessie: TessieSettings
    # Tessie refreshes its cache about every 10-15 s while a car is awake: polling faster only
    # returns duplicates, so 5 s is a hard floor.
    poll_interval_s: float = Field(default=30.0, ge=5.0, description="Seconds between polls.")
    rediscover_interval_s: float = Field(
        default=600.0, ge=30.0, description="Seconds between re-reads of the vehicle list."
    )
    auth_backoff_s: float = Field(
        default=600.0,
        ge=5.0,
        description="Pause after Tessie rejected the token (401/403), before trying again.",
    )
    vins: Annotated[list[str] | None, NoDecode] = Field(
        default=None,
        description="Poll only these VINs (comma-separated or a JSON list); "
        "unset: discover them with GET /vehicles?only_active=true.",
    )

    @field_validator("vins", mode="before")
    @classmethod
    def _split_vins(cls, value: Any) -> Any:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [v.strip() for v in text.split(",") if v.strip()] or None
        return value
