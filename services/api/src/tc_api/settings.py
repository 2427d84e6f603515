"""Settings of the api service, read from ``API_*`` environment variables."""

import json
from typing import Annotated, Any, ClassVar

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import NoDecode, SettingsConfigDict

from tc_common.settings import PostgresSettings, ServiceSettings, reject_placeholder
from tc_db.accounts import MIN_CHOSEN_KEY_LENGTH
from tc_vault import VaultSettings
from tc_vault_kms import KmsVaultSettings, check_one_keyring

# One rule for every key the api accepts, chosen or issued (tc_db.accounts decides it).
MIN_API_KEY_LENGTH = MIN_CHOSEN_KEY_LENGTH


class ApiSettings(ServiceSettings):
    """Read from ``API_POSTGRES__URL``, ``API_API_KEYS`` (comma-separated or a JSON list),
    ``API_HTTP__PORT``, ``API_DB_TIMEOUT_S``, ``API_LOG_LEVEL``, the token intake's
    ``API_VAULT__KEYS``/``API_VAULT__CURRENT_VERSION`` (or, keys in AWS KMS,
    ``API_VAULT_KMS__REGION``/``API_VAULT_KMS__KEY_IDS``/``API_VAULT_KMS__CURRENT_VERSION``),
    ``API_TESSIE_BASE_URL`` and
    ``API_TESSIE_TIMEOUT_S``, and the broker's ``API_KAFKA__*``."""

    model_config = SettingsConfigDict(
        env_prefix="API_",
        env_nested_delimiter="__",
        extra="ignore",
        env_ignore_empty=True,
        # A rejected key must not be echoed in the error that stops the service.
        hide_input_in_errors=True,
    )

    # The api publishes what a customer changes (accounts, Tessie tokens) and waits for the
    # broker's acknowledgement before it answers.
    uses_kafka: ClassVar[bool] = True

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

    vault: VaultSettings | None = Field(
        default=None,
        description="The key-encryption keys that seal customers' Tessie tokens (the same "
        "keyring as ingest's). Unset: PUT /v1/account/tessie-token answers 503. Production "
        "requires it, or vault_kms.",
    )
    vault_kms: KmsVaultSettings | None = Field(
        default=None,
        description="The same keyring with its keys in AWS KMS instead of in settings (the "
        "same KMS keys as ingest's); exclusive with vault.",
    )
    tessie_base_url: str = Field(
        default="https://api.tessie.com",
        description="Where a customer's Tessie token is checked (GET /vehicles) before it is "
        "stored.",
    )
    tessie_timeout_s: float = Field(
        default=10.0,
        gt=0,
        le=60,
        description="How long the check of a token with Tessie may take before 503.",
    )

    publish_timeout_s: float = Field(
        default=10.0,
        gt=0,
        le=120,
        description="How long a change waits for the broker's acknowledgement before 503 "
        "(the change is saved; the customer repeats the request).",
    )

    @model_validator(mode="after")
    def _vault_in_production(self) -> "ApiSettings":
        check_one_keyring(self.vault, self.vault_kms)
        if self.environment == "production" and self.vault is None and self.vault_kms is None:
            raise ValueError(
                "production needs vault (API_VAULT__KEYS, API_VAULT__CURRENT_VERSION) "
                "or vault_kms (API_VAULT_KMS__REGION, __KEY_IDS, __CURRENT_VERSION)"
            )
        return self

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
