"""The provisioner's settings: environment variables prefixed ``PROVISIONER_``."""

import re

from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from tc_common.settings import HttpSettings, PostgresSettings, ServiceSettings

_SHA256_HEX = re.compile(r"[0-9a-f]{64}")


class ProvisionerSettings(ServiceSettings):
    """Read from ``PROVISIONER_POSTGRES__URL``, ``PROVISIONER_BETA_CAP``, etc."""

    model_config = SettingsConfigDict(
        env_prefix="PROVISIONER_",
        env_nested_delimiter="__",
        extra="ignore",
        env_ignore_empty=True,
        # A plaintext invitation code pasted by mistake must not be echoed into a startup log.
        hide_input_in_errors=True,
    )

    postgres: PostgresSettings
    http: HttpSettings = HttpSettings(port=8105)
    # At most an int4: each decision stores the cap it was taken under.
    beta_cap: int = Field(
        default=100, ge=0, le=2**31 - 1, description="Devices the private beta accepts."
    )
    invitation_sha256: tuple[str, ...] = Field(
        default=(),
        description="SHA-256 hex digests of the valid invitation codes, as a JSON list. "
        "Plaintext codes are never configured, stored or logged.",
    )
    db_retry_initial_s: float = Field(
        default=0.5, gt=0, description="First pause while waiting for the database at start."
    )
    db_retry_max_s: float = Field(default=15.0, gt=0, description="Longest such pause.")
    db_connect_timeout_s: float = Field(default=5.0, gt=0)

    @field_validator("invitation_sha256")
    @classmethod
    def _hex_digests(cls, digests: tuple[str, ...]) -> tuple[str, ...]:
        normalised = tuple(d.strip().lower() for d in digests)
        for position, digest in enumerate(normalised):
            if not _SHA256_HEX.fullmatch(digest):
                raise ValueError(f"entry {position} is not a SHA-256 hex digest (64 hex digits)")
        return normalised
