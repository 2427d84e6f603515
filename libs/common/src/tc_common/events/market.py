"""Market data: day-ahead spot prices per bidding zone, and exchange rates."""

from datetime import date
from typing import Annotated, Literal

from pydantic import AwareDatetime, Field

from tc_common.events.base import Event
from tc_common.slots import Slot

BiddingZone = Literal[
    "NO1", "NO2", "NO3", "NO4", "NO5", "SE1", "SE2", "SE3", "SE4", "DK1", "DK2", "FI"
]


class SpotPriceSlot(Slot):
    """The day-ahead price of one market time unit (15 or 60 minutes)."""

    price_eur_per_mwh: float = Field(description="Spot price, EUR/MWh (may be negative).")
    price_nok_ore_per_kwh: float | None = Field(
        default=None,
        description="The same price in NOK øre/kWh (ex VAT) at the day's EUR→NOK rate; "
        "None when no rate is known yet.",
    )


class SpotPricesPublished(Event):
    """Day-ahead prices of one bidding zone for one delivery day (CET), as published.

    Re-published (with ``revision`` + 1) when a source corrects or completes a day, or when
    øre/kWh is filled in once an exchange rate arrives; consumers key on ``(zone, start_at)``
    of each slot and keep the latest revision.
    """

    schema_version: Literal[1] = 1
    zone: BiddingZone = Field(description="Bidding zone.", examples=["NO3"])
    delivery_date: date = Field(description="The delivery day in CET/CEST (market day).")
    resolution_min: Literal[15, 60] = Field(description="Market time unit of the slots, min.")
    source: Literal["entsoe", "hvakosterstrommen", "simulated"] = Field(
        description="Where the prices came from."
    )
    fetched_at: AwareDatetime = Field(description="When ingest fetched them (UTC).")
    revision: int = Field(
        default=0, ge=0, le=2**31 - 1, description="0 for the first publication of a day."
    )
    eur_nok: float | None = Field(default=None, gt=0, description="EUR→NOK rate used, if any.")
    slots: tuple[SpotPriceSlot, ...] = Field(
        description="Sorted, non-overlapping; 92/96/100 quarter-hours or 23/24/25 hours."
    )

    def kafka_key(self) -> bytes:
        return self.zone.encode()


class ExchangeRatesPublished(Event):
    """Reference exchange rates of one business day (Norges Bank)."""

    schema_version: Literal[1] = 1
    rate_date: date = Field(description="The business day the rates are for.")
    base: Literal["EUR"] = "EUR"
    rates: dict[Literal["NOK", "SEK", "DKK"], Annotated[float, Field(gt=0)]] = Field(
        description="Units of each currency per 1 EUR.", examples=[{"NOK": 11.7, "SEK": 11.2}]
    )
    source: Literal["norges-bank", "simulated"] = "norges-bank"
    fetched_at: AwareDatetime

    def kafka_key(self) -> bytes:
        return b"EUR"
