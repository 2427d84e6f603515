"""The forecast service's settings: environment variables prefixed ``FORECAST_``."""

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from tc_common.settings import HttpSettings, ServiceSettings


class ForecastSettings(ServiceSettings):
    """Read from ``FORECAST_SOC_STEP_PCT``, ``FORECAST_KAFKA__BOOTSTRAP_SERVERS``, etc."""

    model_config = SettingsConfigDict(
        env_prefix="FORECAST_",
        env_nested_delimiter="__",
        extra="ignore",
        env_ignore_empty=True,
    )

    http: HttpSettings = HttpSettings(port=8103)
    soc_step_pct: float = Field(
        default=1.0,
        gt=0,
        le=100,
        description="Publish a state-of-charge change once it moved by at least this much.",
    )
    price_horizon_days: int = Field(
        default=7, ge=1, le=7, description="Days ahead the price forecast covers (1-7)."
    )
    price_refit_debounce_s: float = Field(
        default=10.0,
        gt=0,
        description="A zone is refitted at most this often while new prices keep arriving.",
    )
