"""The forecast service's spot-price forecasts (with uncertainty) and price anomalies."""

from typing import Literal

from pydantic import AwareDatetime, Field

from tc_common.events.base import Event
from tc_common.events.market import BiddingZone
from tc_common.slots import Slot


class PriceForecastSlot(Slot):
    p10_eur_per_mwh: float = Field(description="10 % quantile, EUR/MWh.")
    p50_eur_per_mwh: float = Field(description="Median, EUR/MWh.")
    p90_eur_per_mwh: float = Field(description="90 % quantile, EUR/MWh.")


class PriceForecastPublished(Event):
    """Forecast spot prices of one zone from the first unpublished slot up to 7 days ahead."""

    schema_version: Literal[1] = 1
    zone: BiddingZone
    issued_at: AwareDatetime = Field(description="When the forecast was made (UTC).")
    model: str = Field(description="Model name and version.", examples=["lear-lgbm-ens/1"])
    known_until: AwareDatetime = Field(
        description="End of the published (known) prices the forecast was conditioned on."
    )
    slots: tuple[PriceForecastSlot, ...]

    def kafka_key(self) -> bytes:
        return self.zone.encode()


class PriceAnomalyDetected(Event):
    """A published price that is unusual: a spike, a negative price, or a regime shift where
    realised prices leave the forecast band."""

    schema_version: Literal[1] = 1
    zone: BiddingZone
    kind: Literal["spike", "negative", "regime_shift"]
    start_at: AwareDatetime
    end_at: AwareDatetime
    price_eur_per_mwh: float = Field(description="The realised (or mean realised) price.")
    expected_eur_per_mwh: float | None = Field(
        default=None, description="What the forecast expected (p50), if any."
    )
    detected_at: AwareDatetime
    detail: str = Field(description="Why it was flagged, in words.")

    def kafka_key(self) -> bytes:
        return self.zone.encode()
