"""Versioned event contracts, one module per event family."""

from tc_common.events.accounts import (
    AccountChanged,
    AccountState,
    ApiKeyChanged,
    SealedTokenRecord,
    TessieAccessChanged,
    TessieTokenChanged,
    api_key_sha256,
    new_api_key,
)
from tc_common.events.activity import VehicleActivity, VehicleActivityObserved
from tc_common.events.base import Event
from tc_common.events.behaviour import (
    BehaviourProfileUpdated,
    ChargePlanPublished,
    ChargeRecorded,
    ChargingLocation,
    DriveRecorded,
    LearningState,
    PlanSlot,
    WeekdayRhythm,
)
from tc_common.events.deadletter import MessageDeadLettered
from tc_common.events.erasure import ERASURE_STEPS, ErasureStep, ErasureStepDone
from tc_common.events.market import (
    ExchangeRatesPublished,
    SpotPriceSlot,
    SpotPricesPublished,
)
from tc_common.events.price_forecast import (
    PriceAnomalyDetected,
    PriceForecastPublished,
    PriceForecastSlot,
)
from tc_common.events.provisioning import (
    ProvisioningAcknowledged,
    ProvisioningRequested,
    invitation_sha256,
    new_invitation_code,
)
from tc_common.events.soc import StateOfChargeChanged
from tc_common.events.telemetry import TelemetrySampled
from tc_common.events.vpn import (
    DeviceAccessRequested,
    DeviceCertificateChanged,
    ProfileDeliveryChanged,
    VpnCrlPublished,
)
from tc_common.events.weather import WeatherForecastPublished, WeatherSlot

__all__ = [
    "ERASURE_STEPS",
    "AccountChanged",
    "AccountState",
    "ApiKeyChanged",
    "BehaviourProfileUpdated",
    "ChargePlanPublished",
    "ChargeRecorded",
    "ChargingLocation",
    "DeviceAccessRequested",
    "DeviceCertificateChanged",
    "DriveRecorded",
    "ErasureStep",
    "ErasureStepDone",
    "Event",
    "ExchangeRatesPublished",
    "LearningState",
    "MessageDeadLettered",
    "PlanSlot",
    "PriceAnomalyDetected",
    "PriceForecastPublished",
    "PriceForecastSlot",
    "ProfileDeliveryChanged",
    "ProvisioningAcknowledged",
    "ProvisioningRequested",
    "SealedTokenRecord",
    "SpotPriceSlot",
    "SpotPricesPublished",
    "StateOfChargeChanged",
    "TelemetrySampled",
    "TessieAccessChanged",
    "TessieTokenChanged",
    "VehicleActivity",
    "VehicleActivityObserved",
    "VpnCrlPublished",
    "WeatherForecastPublished",
    "WeatherSlot",
    "WeekdayRhythm",
    "api_key_sha256",
    "invitation_sha256",
    "new_api_key",
    "new_invitation_code",
]
