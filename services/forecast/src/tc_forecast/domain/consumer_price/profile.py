"""A household's settings that shape its price, and the spot slots it is priced from."""

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

NorwegianZone = Literal["NO1", "NO2", "NO3", "NO4", "NO5"]
SupportScheme = Literal["stromstotte", "norgespris", "none"]


class SpotSlotLike(Protocol):
    """What the model reads from a spot slot; ``tc_common.events.SpotPriceSlot`` fits.

    ``start_at``/``end_at`` are aware UTC instants. When ``price_nok_ore_per_kwh`` is ``None``
    the caller MUST pass the day's EUR→NOK rate.
    """

    @property
    def start_at(self) -> datetime: ...

    @property
    def end_at(self) -> datetime: ...

    @property
    def price_eur_per_mwh(self) -> float: ...

    @property
    def price_nok_ore_per_kwh(self) -> float | None: ...


@dataclass(frozen=True, kw_only=True)
class ConsumerProfile:
    """One metering point. The supplier mark-up is quoted ex VAT.

    ``in_tiltakssone`` marks the Finnmark/Nord-Troms zone (no elavgift); it is a property of
    the municipality, so it cannot be derived from the county.
    """

    zone: NorwegianZone
    county: str
    grid_tariff_id: str
    supplier_markup_ore_per_kwh_ex_vat: float = 0.0
    support_scheme: SupportScheme = "stromstotte"
    in_tiltakssone: bool = False
    is_cabin: bool = False

    def __post_init__(self) -> None:
        if self.is_cabin and self.support_scheme == "stromstotte":
            raise ValueError("strømstøtte is not available for cabins (fritidsbolig)")
