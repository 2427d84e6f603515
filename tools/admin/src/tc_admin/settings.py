"""tc-admin's settings: environment variables prefixed ``ADMIN_``, like the services'."""

from pydantic import Field, model_validator
from pydantic_settings import SettingsConfigDict

from tc_common.settings import PostgresSettings, ServiceSettings
from tc_vault import VaultSettings
from tc_vault_kms import KmsVaultSettings, check_one_keyring


class AdminSettings(ServiceSettings):
    """Read from ``ADMIN_POSTGRES__URL``, ``ADMIN_KAFKA__BOOTSTRAP_SERVERS`` (and the TLS/SASL
    settings of ``KafkaSettings``: ``ADMIN_KAFKA__SECURITY_PROTOCOL``...), and for
    ``rotate-keys`` the keyring, ``ADMIN_VAULT__KEYS`` and ``ADMIN_VAULT__CURRENT_VERSION``, or
    with the keys in AWS KMS ``ADMIN_VAULT_KMS__REGION``, ``ADMIN_VAULT_KMS__KEY_IDS`` and
    ``ADMIN_VAULT_KMS__CURRENT_VERSION``."""

    model_config = SettingsConfigDict(
        env_prefix="ADMIN_",
        env_nested_delimiter="__",
        extra="ignore",
        env_ignore_empty=True,
        hide_input_in_errors=True,
    )

    postgres: PostgresSettings
    vault: VaultSettings | None = Field(
        default=None,
        description="The key-encryption keys (rotate-keys only): the current one and every "
        "version a stored token may still be wrapped by.",
    )
    vault_kms: KmsVaultSettings | None = Field(
        default=None,
        description="The same keyring with its keys in AWS KMS (rotate-keys only); exclusive "
        "with vault.",
    )

    @model_validator(mode="after")
    def _one_keyring(self) -> "AdminSettings":
        check_one_keyring(self.vault, self.vault_kms)
        return self
