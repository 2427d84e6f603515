"""The price a Norwegian household pays for a kWh: spot plus grid, taxes and support.

Pure: rules arrive parsed (see ``tc_forecast.adapters.tariff_rules``), time arrives with the
slots. CONSUMER_PRICE.md beside the service explains the formula and every rule's source.
"""

from tc_forecast.domain.consumer_price.capacity import (
    CapacityStep,
    capacity_step,
    daily_peaks_kw,
    marginal_capacity_cost_nok,
)
from tc_forecast.domain.consumer_price.cost import ChargeCost, ChargeCostLine, charge_cost
from tc_forecast.domain.consumer_price.price import (
    Amount,
    ConsumerPriceBreakdown,
    consumer_price,
    consumer_prices,
    grid_period,
    hourly_mean_spots,
    spot_ore_per_kwh,
)
from tc_forecast.domain.consumer_price.profile import (
    ConsumerProfile,
    NorwegianZone,
    SpotSlotLike,
    SupportScheme,
)
from tc_forecast.domain.consumer_price.rulebook import (
    CapacityBand,
    DatedRule,
    ElectricityTaxRule,
    EnergySeason,
    EnovaFeeRule,
    GridTariffRule,
    NorgesprisRule,
    NoRuleError,
    RuleBookError,
    StromstotteRule,
    TariffRules,
    VatRule,
)

__all__ = [
    "Amount",
    "CapacityBand",
    "CapacityStep",
    "ChargeCost",
    "ChargeCostLine",
    "ConsumerPriceBreakdown",
    "ConsumerProfile",
    "DatedRule",
    "ElectricityTaxRule",
    "EnergySeason",
    "EnovaFeeRule",
    "GridTariffRule",
    "NoRuleError",
    "NorgesprisRule",
    "NorwegianZone",
    "RuleBookError",
    "SpotSlotLike",
    "StromstotteRule",
    "SupportScheme",
    "TariffRules",
    "VatRule",
    "capacity_step",
    "charge_cost",
    "consumer_price",
    "consumer_prices",
    "daily_peaks_kw",
    "grid_period",
    "hourly_mean_spots",
    "marginal_capacity_cost_nok",
    "spot_ore_per_kwh",
]
