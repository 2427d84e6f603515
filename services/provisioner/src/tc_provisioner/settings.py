"""The provisioner's settings: environment variables prefixed ``PROVISIONER_``."""

import re
from datetime import timedelta

from pydantic import BaseModel, Field, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from tc_common.settings import HttpSettings, PostgresSettings, ServiceSettings
from tc_provisioner.adapters.smtp import SmtpSettings
from tc_vault import VaultSettings
from tc_vault_kms import KmsVaultSettings, check_one_keyring

_SHA256_HEX = re.compile(r"[0-9a-f]{64}")


_HOST = re.compile(r"[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\]")


class VpnSettings(BaseModel):
    """What the provisioner needs to issue each device its OpenVPN profile."""

    public_host: str = Field(
        description="The host name (or address) customers' devices connect to; goes into every "
        "profile's `remote` line.",
        examples=["vpn.example.com"],
    )
    public_port: int = Field(default=1194, ge=1, le=65535, description="Its UDP port.")
    server_name: str = Field(
        default="vpn.teslaconnectivity.internal",
        description="The server certificate's name, which profiles pin (verify-x509-name).",
    )
    network: str = Field(
        default="10.8.0.0/24", description="The tunnel network the server hands addresses from."
    )
    api_address: str = Field(
        default="10.8.0.1",
        description="The API's address in the tunnel: the one route pushed to devices.",
    )
    api_port: int = Field(default=8000, ge=1, le=65535, description="The API's port there.")
    device_lifetime_days: int = Field(
        default=365, ge=2, le=3650, description="How long a device certificate is valid."
    )
    renew_before_days: int = Field(
        default=30,
        ge=1,
        le=365,
        description="A certificate that expires within this is renewed: a new profile is "
        "emailed; the old one works until it expires.",
    )
    crl_lifetime_days: int = Field(
        default=30, ge=2, le=365, description="The CRL's validity (nextUpdate)."
    )
    crl_refresh_before_days: int = Field(
        default=23,
        ge=1,
        le=364,
        description="The CRL is signed again when it expires within this: OpenVPN refuses "
        "every device once it has expired.",
    )
    delivery_initial_backoff_s: float = Field(
        default=30.0, gt=0, description="First pause before a failed email is tried again."
    )
    delivery_max_backoff_s: float = Field(
        default=3600.0, gt=0, description="Longest such pause (it doubles each time)."
    )
    delivery_max_attempts: int = Field(
        default=12, ge=1, le=1000, description="Attempts before a delivery is given up."
    )
    maintenance_interval_s: float = Field(
        default=60.0,
        gt=0,
        description="How often renewals, the CRL's freshness and the expiry gauge are looked at.",
    )
    delivery_poll_s: float = Field(
        default=2.0, gt=0, description="How often due deliveries are looked for."
    )

    @field_validator("public_host", "server_name")
    @classmethod
    def _plain_host(cls, host: str) -> str:
        # Both end up in configuration lines: a blank or a newline would inject an option.
        if not _HOST.fullmatch(host) or len(host) > 253:
            raise ValueError("not a plain host name or address")
        return host

    @model_validator(mode="after")
    def _windows(self) -> "VpnSettings":
        if self.renew_before_days >= self.device_lifetime_days:
            raise ValueError("renew_before_days must be shorter than device_lifetime_days")
        if self.crl_refresh_before_days >= self.crl_lifetime_days:
            raise ValueError("crl_refresh_before_days must be shorter than crl_lifetime_days")
        return self

    @property
    def device_lifetime(self) -> timedelta:
        return timedelta(days=self.device_lifetime_days)


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
    vpn: VpnSettings | None = Field(
        default=None,
        description="Issue each accepted device a certificate and email its profile. Unset: "
        "requests are only decided (development). Production requires it.",
    )
    vault: VaultSettings | None = Field(
        default=None,
        description="Key-encryption keys that seal the CA's and devices' private keys at rest "
        "(PROVISIONER_VAULT__KEYS, __CURRENT_VERSION); required with vpn, or vault_kms.",
    )
    vault_kms: KmsVaultSettings | None = Field(
        default=None, description="The same keyring in AWS KMS; exclusive with vault."
    )
    smtp: SmtpSettings | None = Field(
        default=None, description="Where profiles are emailed from; required with vpn."
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

    @model_validator(mode="after")
    def _vpn_complete(self) -> "ProvisionerSettings":
        check_one_keyring(self.vault, self.vault_kms)
        if self.vpn is not None:
            if self.vault is None and self.vault_kms is None:
                raise ValueError(
                    "vpn needs a keyring for the private keys: PROVISIONER_VAULT__KEYS and "
                    "__CURRENT_VERSION, or PROVISIONER_VAULT_KMS__*"
                )
            if self.smtp is None:
                raise ValueError("vpn needs smtp (PROVISIONER_SMTP__HOST, ...) to send profiles")
        if self.environment == "production":
            if self.vpn is None:
                raise ValueError("production needs vpn (PROVISIONER_VPN__PUBLIC_HOST, ...)")
            assert self.smtp is not None
            self.smtp.check_production()
        return self
