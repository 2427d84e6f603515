"""Settings of the api service, read from ``API_*`` environment variables."""

import json
from typing import Annotated, Any, ClassVar

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import NoDecode, SettingsConfigDict

from tc_common.settings import PostgresSettings, ServiceSettings, reject_placeholder

MIN_API_KEY_LENGTH = 16


class ApiSettings(ServiceSettings):
    """Read from ``API_POSTGRES__URL``, ``API_API_KEYS`` (comma-separated or a JSON list),
    ``API_HTTP__PORT``, ``API_DB_TIMEOUT_S`` and ``API_LOG_LEVEL``."""

    model_config = SettingsConfigDict(
        env_prefix="API_",
        env_nested_delimiter="__",
        extra="ignore",
        env_ignore_empty=True,
        # A rejected key must not be echoed in the error that stops the service.
        hide_input_in_errors=True,
    )

    # The api reads PostgreSQL only; the Kafka settings it inherits are unused.
    uses_kafka: ClassVar[bool] = False

    postgres: PostgresSettings
    # NoDecode: a plain comma-separated env value must reach the validator below instead of
    # failing pydantic-settings' JSON decoding of list fields.
    api_keys: Annotated[list[SecretStr], NoDecode] = Field(
        min_length=1,
        description="Keys accepted in the X-API-Key header; several allow rotation.",
    )
    db_timeout_s: float = Field(
        default=5.0,
        gt=0,
        le=60,
        description="How long a request waits for a database connection before answering 503.",
    )

    @field_validator("api_keys", mode="before")
    @classmethod
    def _split_keys(cls, value: Any) -> Any:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [part.strip() for part in text.split(",") if part.strip()]
        return value

    @field_validator("api_keys")
    @classmethod
    def _real_keys_only(cls, keys: list[SecretStr]) -> list[SecretStr]:
        # The base validator only sees SecretStr fields, not SecretStr inside a list.
        for index, key in enumerate(keys):
            reject_placeholder(f"api_keys[{index}]", key)
            if len(key.get_secret_value()) < MIN_API_KEY_LENGTH:
                raise ValueError(
                    f"api_keys[{index}] is shorter than {MIN_API_KEY_LENGTH} characters"
                )
        return keys
