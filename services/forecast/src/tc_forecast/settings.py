"""The forecast service's settings: environment variables prefixed ``FORECAST_``."""

from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from tc_common.events.market import BiddingZone
from tc_common.settings import HttpSettings, ServiceSettings
from tc_forecast.adapters.calendar import NO_HOLIDAYS, supported_countries
from tc_forecast.domain.consumer_price import SupportScheme
from tc_forecast.plan_prices import PriceMode
from tc_forecast.plan_runner import SCHEDULED_DEPARTURE_MARGIN_MIN


class ForecastSettings(ServiceSettings):
    """Read from ``FORECAST_SOC_STEP_PCT``, ``FORECAST_KAFKA__BOOTSTRAP_SERVERS``, etc."""

    model_config = SettingsConfigDict(
        env_prefix="FORECAST_",
        env_nested_delimiter="__",
        extra="ignore",
        env_ignore_empty=True,
    )

    http: HttpSettings = HttpSettings(port=8103)
    consumer_group: str = Field(
        default="forecast",
        min_length=1,
        description="Prefix of the Kafka consumer groups: <group> (telemetry), "
        "<group>.changelog.<topic> (the changelog copies), <group>.erasure; change only to "
        "read everything again from the start.",
    )
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
    # --- behaviour profiles -------------------------------------------------------------
    timezone: str = Field(
        default="Europe/Oslo", description="Local time of the learned rhythm (IANA name)."
    )
    behaviour_half_life_days: float = Field(
        default=21.0, gt=0, description="Age at which a day counts half as much in a profile."
    )
    behaviour_debounce_s: float = Field(
        default=2.0,
        gt=0,
        description="A vehicle's profile is rebuilt once no new drive/charge arrived this long.",
    )
    behaviour_refresh_s: float = Field(
        default=3600.0, gt=0, description="Profiles are also rebuilt this often (and at midnight)."
    )
    holiday_country: str = Field(
        default="NO",
        description="Country (ISO 3166 alpha-2) whose public holidays the departure model "
        f"treats as days off, like weekends; {NO_HOLIDAYS!r} for none.",
    )

    @field_validator("holiday_country")
    @classmethod
    def _known_holiday_country(cls, value: str) -> str:
        code = value.strip().upper()
        if code.lower() != NO_HOLIDAYS and code not in supported_countries():
            raise ValueError(f"no public holiday calendar for {value!r} (ISO alpha-2, e.g. NO)")
        return code.lower() if code.lower() == NO_HOLIDAYS else code

    # --- charge plans -------------------------------------------------------------------
    risk_target: float = Field(
        default=0.95, gt=0, lt=1, description="Wanted probability of being ready at departure."
    )
    scheduled_departure_trust: float = Field(
        default=0.9,
        ge=0,
        le=1,
        description="Probability the planner gives the departure the owner scheduled in the "
        "car (the rest stays with the learned departure distribution); 0 ignores it.",
    )
    scheduled_departure_margin_min: float = Field(
        default=SCHEDULED_DEPARTURE_MARGIN_MIN,
        ge=0,
        description="Plans are done this long before the departure the owner scheduled.",
    )
    default_zone: BiddingZone = Field(
        default="NO1", description="Bidding zone of a vehicle without an entry in vehicle_zones."
    )
    vehicle_zones: dict[str, BiddingZone] = Field(
        default_factory=dict, description='Per-VIN bidding zone, JSON: {"VIN": "NO3"}.'
    )
    vehicle_targets_pct: dict[str, float] = Field(
        default_factory=dict,
        description='Per-VIN customer charge target in percent, JSON: {"VIN": 80}. Without one '
        "the learned energy need (plus the reserve) is the target.",
    )
    reserve_pct: float = Field(
        default=20.0, ge=0, le=100, description="SoC the learned target keeps on top of the need."
    )
    default_charger_kw: float = Field(
        default=11.0, gt=0, description="Charger power (at the wall) when none was learned."
    )
    default_efficiency: float = Field(
        default=0.9, gt=0, le=1, description="Charging efficiency when none was learned."
    )
    default_charge_limit_pct: float = Field(
        default=80.0, gt=0, le=100, description="Charge limit when telemetry has none."
    )
    plan_soc_step_pct: float = Field(
        default=5.0, gt=0, description="A plugged-in car is re-planned when SoC moved this much."
    )
    plan_interval_s: float = Field(
        default=3600.0, gt=0, description="A plugged-in car is re-planned at least this often."
    )
    plan_tick_s: float = Field(default=1.0, gt=0, description="How often pending plans run.")
    plan_startup_grace_s: float = Field(
        default=15.0,
        ge=0,
        description="No plans this long after start, while the episode topics are replayed.",
    )
    price_mode: PriceMode = Field(
        default="consumer",
        description="consumer: spot + grid tariff + taxes + VAT - support (consumer_price "
        "rules); spot_incl_vat: spot + 25 % VAT only.",
    )
    consumer_county: str = Field(default="Oslo", description="County (VAT exemption).")
    consumer_grid_tariff_id: str = Field(
        default="example-dso", description="Grid tariff id in the consumer price rules."
    )
    consumer_support_scheme: SupportScheme = Field(default="stromstotte")
    consumer_markup_ore_per_kwh: float = Field(
        default=0.0, description="Supplier mark-up, øre/kWh ex VAT."
    )
    fallback_eur_nok: float = Field(
        default=11.5, gt=0, description="EUR->NOK when no published slot implies a rate yet."
    )
