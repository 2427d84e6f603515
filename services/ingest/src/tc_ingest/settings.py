"""The ingest service's settings: environment variables prefixed ``INGEST_``."""

import json
from datetime import time
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import NoDecode, SettingsConfigDict

from tc_common.events.market import BiddingZone
from tc_common.settings import HttpSettings, ServiceSettings
from tc_vault import VaultSettings
from tc_vault_kms import KmsVaultSettings, check_one_keyring


class TessieSettings(BaseModel):
    """``INGEST_TESSIE__TOKEN``, ``INGEST_TESSIE__BASE_URL``...

    The token is the operator's own fleet, polled with no account. Unset, ingest polls only
    the accounts' tokens (``accounts.tessie_tokens.v1``, opened with ``INGEST_VAULT__*``).
    """

    model_config = ConfigDict(hide_input_in_errors=True)

    base_url: str = Field(default="https://api.tessie.com", description="Tessie REST base URL.")
    token: SecretStr | None = Field(
        default=None,
        description="The operator's own Tessie access token (dash.tessie.com); unset: only "
        "the accounts' tokens are polled.",
    )
    timeout_s: float = Field(default=30.0, gt=0, le=120)
    max_attempts: int = Field(
        default=4, ge=1, le=10, description="Attempts per request for transient errors."
    )
    backoff_base_s: float = Field(default=1.0, gt=0)
    backoff_cap_s: float = Field(
        default=20.0, gt=0, description="Upper bound of one wait, also for Retry-After."
    )


class HistorySettings(BaseModel):
    """``INGEST_HISTORY__*``: drive and charge history from Tessie's ``/drives``, ``/charges``."""

    enabled: bool = True
    backfill_days: int = Field(
        default=30, ge=0, le=366, description="History fetched per vehicle on the first sync."
    )
    backfill_chunk_days: float = Field(
        default=7.0, gt=0, le=31, description="Days per request while catching up."
    )
    poll_interval_s: float = Field(
        default=300.0, ge=10.0, description="Seconds between syncs of a vehicle's history."
    )
    overlap_s: float = Field(
        default=86_400.0,
        ge=0,
        description="How far each request reaches back before the part not fetched yet: "
        "longer than the longest drive or charge, so one still running at the last fetch is "
        "listed by a later one.",
    )
    page_limit: int = Field(
        default=500,
        ge=2,
        le=10_000,
        description="Records per request; a full page is followed by one for the older part "
        "(Tessie has no pagination).",
    )
    error_backoff_base_s: float = Field(default=5.0, gt=0)


class HttpRetrySettings(BaseModel):
    """Timeouts and bounded retries shared by the market and weather clients."""

    timeout_s: float = Field(default=30.0, gt=0, le=120)
    max_attempts: int = Field(default=4, ge=1, le=10)
    backoff_base_s: float = Field(default=2.0, gt=0)
    backoff_cap_s: float = Field(
        default=60.0, gt=0, description="Upper bound of one wait, also for Retry-After."
    )


class MarketSettings(HttpRetrySettings):
    """``INGEST_MARKET__*``: day-ahead prices and exchange rates."""

    model_config = ConfigDict(hide_input_in_errors=True)

    enabled: bool = True
    zones: list[BiddingZone] = Field(default=["NO1", "NO2", "NO3", "NO4", "NO5"])
    entsoe_token: SecretStr | None = Field(
        default=None,
        description="ENTSO-E Transparency Platform token; unset: hvakosterstrommen (NO only).",
    )
    entsoe_base_url: str = Field(
        default="https://web-api.tp.entsoe.eu/api", description="The A44 endpoint itself."
    )
    hvakosterstrommen_base_url: str = "https://www.hvakosterstrommen.no"
    norgesbank_base_url: str = "https://data.norges-bank.no"
    publication_time_cet: time = Field(
        default=time(13, 0), description="Local CET/CEST time from which tomorrow is polled."
    )
    retry_interval_s: float = Field(
        default=600.0, ge=1.0, description="Re-poll pace while a due day is incomplete."
    )
    max_sleep_s: float = Field(
        default=3600.0, ge=1.0, description="Longest sleep of the price loop (re-plans after)."
    )
    backfill_days: int = Field(default=60, ge=0, le=366)
    backfill_chunk_days: int = Field(
        default=7, ge=1, le=31, description="Days per ENTSO-E backfill request."
    )
    fx_refresh_interval_s: float = Field(
        default=6 * 3600.0, ge=60.0, description="Age after which cached rates are re-read."
    )
    nok_refill_days: int = Field(
        default=7,
        ge=0,
        le=366,
        description="Days back (and tomorrow) that a day published without øre/kWh, for want "
        "of an EUR→NOK rate, is re-published with them once a rate arrives.",
    )


class HomeLocation(BaseModel):
    """An extra forecast point, e.g. a vehicle's home area (``id`` like ``home:<vin>``)."""

    id: str = Field(min_length=1)
    latitude_deg: float = Field(ge=-90, le=90)
    longitude_deg: float = Field(ge=-180, le=180)


class WeatherSettings(HttpRetrySettings):
    """``INGEST_WEATHER__*``: MET Norway locationforecast for zone points and homes."""

    enabled: bool = True
    met_base_url: str = "https://api.met.no"
    user_agent: str = Field(
        default="teslaconnectivity/0.1 operator@teslaconnectivity.com",
        min_length=8,
        description="MET requires an identifying User-Agent with a contact (403 otherwise).",
    )
    homes: list[HomeLocation] = Field(default=[])
    poll_interval_s: float = Field(
        default=900.0, ge=1.0, description="Pace of the weather loop; Expires is honoured."
    )


class IngestSettings(ServiceSettings):
    """Env: ``INGEST_TESSIE__TOKEN``, ``INGEST_VAULT__KEYS``, ``INGEST_POLL_INTERVAL_S``..."""

    model_config = SettingsConfigDict(
        env_prefix="INGEST_",
        env_nested_delimiter="__",
        extra="ignore",
        env_ignore_empty=True,
        # A validation error would otherwise echo the raw input, token included.
        hide_input_in_errors=True,
    )

    http: HttpSettings = HttpSettings(port=8101)
    tessie: TessieSettings = TessieSettings()
    vault: VaultSettings | None = Field(
        default=None,
        description="Key-encryption keys that open the accounts' sealed Tessie tokens "
        "(INGEST_VAULT__KEYS, INGEST_VAULT__CURRENT_VERSION); unset (and vault_kms too): no "
        "account is polled.",
    )
    vault_kms: KmsVaultSettings | None = Field(
        default=None,
        description="The same keyring with its keys in AWS KMS (INGEST_VAULT_KMS__REGION, "
        "INGEST_VAULT_KMS__KEY_IDS, INGEST_VAULT_KMS__CURRENT_VERSION); exclusive with vault.",
    )
    market: MarketSettings = MarketSettings()
    weather: WeatherSettings = WeatherSettings()
    history: HistorySettings = HistorySettings()
    # Tessie refreshes its cache about every 10-15 s while a car is awake: polling faster only
    # returns duplicates, so 5 s is a hard floor.
    poll_interval_s: float = Field(default=30.0, ge=5.0, description="Seconds between polls.")
    rediscover_interval_s: float = Field(
        default=600.0, ge=30.0, description="Seconds between re-reads of the vehicle list."
    )
    activity_heartbeat_s: float = Field(
        default=300.0,
        ge=5.0,
        description="A vehicle's activity (asleep, awake, driving, charging) is published on "
        "every change and at least this often while it stays the same.",
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

    @model_validator(mode="after")
    def _one_keyring(self) -> "IngestSettings":
        check_one_keyring(self.vault, self.vault_kms)
        return self
