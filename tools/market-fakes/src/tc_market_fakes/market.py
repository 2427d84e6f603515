"""A deterministic synthetic Nordic day-ahead market and the EUR exchange rates beside it.

Pure: no I/O and no clock; "now" is always an argument.

Prices of ``(seed, zone, delivery day)`` are drawn from a generator seeded by exactly that, so
any day, years back or ahead, always gives the same curve. A delivery day is the CET/CEST
calendar day, and its market time units are generated from UTC over it: 23/25 hours on the
daylight-saving days (92/100 quarters from 2025-10-01, when SDAC moved to a 15-minute MTU).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Literal, NamedTuple
from zoneinfo import ZoneInfo

from tc_market_fakes.rng import seeded
from tc_market_fakes.weather import ZONES, Zone, temperature_anomaly_c, wind_index

# The delivery day is CET/CEST for every Nordic zone (Finland included: SDAC's market day).
CET = ZoneInfo("Europe/Oslo")
QUARTER_MTU_FROM = date(2025, 10, 1)
HISTORY_FROM = date(2015, 1, 1)

ZONE_EIC: dict[Zone, str] = {
    "NO1": "10YNO-1--------2",
    "NO2": "10YNO-2--------T",
    "NO3": "10YNO-3--------J",
    "NO4": "10YNO-4--------9",
    "NO5": "10Y1001A1001A48H",
    "SE1": "10Y1001A1001A44P",
    "SE2": "10Y1001A1001A45N",
    "SE3": "10Y1001A1001A46L",
    "SE4": "10Y1001A1001A47J",
    "DK1": "10YDK-1--------W",
    "DK2": "10YDK-2--------M",
    "FI": "10YFI-1--------U",
}
EIC_ZONE: dict[str, Zone] = {eic: zone for zone, eic in ZONE_EIC.items()}

# Yearly mean level, EUR/MWh: hydro-rich north cheap, the south tied to the Continent dear.
_ZONE_LEVEL: dict[Zone, float] = {
    "NO1": 62.0, "NO2": 70.0, "NO3": 30.0, "NO4": 14.0, "NO5": 52.0, "SE1": 28.0,
    "SE2": 30.0, "SE3": 52.0, "SE4": 78.0, "DK1": 85.0, "DK2": 88.0, "FI": 55.0,
}  # fmt: skip
# How hard strong wind pulls a zone's price down (wind share of its supply).
_WIND_SENSITIVITY: dict[Zone, float] = {
    "NO1": 0.40, "NO2": 0.35, "NO3": 0.35, "NO4": 0.20, "NO5": 0.25, "SE1": 0.30,
    "SE2": 0.40, "SE3": 0.55, "SE4": 0.75, "DK1": 0.95, "DK2": 0.85, "FI": 0.60,
}  # fmt: skip
_HYDRO = frozenset({"NO1", "NO2", "NO3", "NO4", "NO5", "SE1", "SE2"})
# Weekday load shape by local hour: night trough, morning and evening peaks.
_SHAPE = (
    0.80, 0.77, 0.75, 0.75, 0.77, 0.85, 0.98, 1.12, 1.18, 1.12, 1.05, 1.00,
    0.97, 0.95, 0.96, 1.00, 1.08, 1.18, 1.20, 1.12, 1.03, 0.96, 0.90, 0.84,
)  # fmt: skip
PRICE_FLOOR_EUR_PER_MWH = -500.0
PRICE_CAP_EUR_PER_MWH = 4000.0

Currency = Literal["EUR", "SEK", "DKK"]
FX_CURRENCIES: tuple[Currency, ...] = ("EUR", "SEK", "DKK")
# Norges Bank quotes NOK per 1 EUR but NOK per 100 SEK and per 100 DKK (UNIT_MULT 0 / 2).
FX_UNIT_MULT: dict[Currency, int] = {"EUR": 0, "SEK": 2, "DKK": 2}
FX_DECIMALS: dict[Currency, int] = {"EUR": 4, "SEK": 2, "DKK": 2}
# Norges Bank fixes at the ECB concertation (14:15 CET) and publishes around 16:00.
FX_PUBLISHED_AT = time(16, 0)


class PricePoint(NamedTuple):
    start_at: datetime
    end_at: datetime
    eur_per_mwh: float


def delivery_day_bounds(day: date) -> tuple[datetime, datetime]:
    """The UTC start and end of CET delivery day ``day`` (23, 24 or 25 hours apart)."""
    start = datetime.combine(day, time(0), CET).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(0), CET).astimezone(UTC)
    return start, end


def delivery_day_of(t: datetime) -> date:
    return t.astimezone(CET).date()


def resolution_min(day: date) -> Literal[15, 60]:
    return 15 if day >= QUARTER_MTU_FROM else 60


def easter_sunday(year: int) -> date:
    """Gregorian Easter (anonymous Gregorian algorithm)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = b // 4, b % 4
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    m = (32 + 2 * e + 2 * i - h - k) % 7
    n = (a + 11 * h + 22 * m) // 451
    month, day = divmod(h + m - 7 * n + 114, 31)
    return date(year, month, day + 1)


@lru_cache(maxsize=64)
def norwegian_bank_holidays(year: int) -> frozenset[date]:
    easter = easter_sunday(year)
    movable = (-3, -2, 1, 39, 50)  # Maundy Thu, Good Fri, Easter Mon, Ascension, Whit Mon
    fixed = ((1, 1), (5, 1), (5, 17), (12, 24), (12, 25), (12, 26), (12, 31))
    return frozenset(
        [easter + timedelta(days=n) for n in movable] + [date(year, m, d) for m, d in fixed]
    )


def is_business_day(day: date) -> bool:
    return day.weekday() < 5 and day not in norwegian_bank_holidays(day.year)


def _round_price(value: float) -> float:
    value = round(min(PRICE_CAP_EUR_PER_MWH, max(PRICE_FLOOR_EUR_PER_MWH, value)), 2)
    return value + 0.0  # no "-0.0" on the wire


@lru_cache(maxsize=8192)
def day_ahead_prices(seed: int, zone: Zone, day: date) -> tuple[PricePoint, ...]:
    """The day-ahead curve of ``zone`` for CET delivery day ``day``, EUR/MWh, sorted."""
    rng = seeded(seed, "prices", zone, day)
    start, end = delivery_day_bounds(day)
    doy = day.timetuple().tm_yday
    winterness = (1 + math.cos(2 * math.pi * (doy - 15) / 365.25)) / 2
    weekday = day.weekday()
    quiet_day = weekday >= 5 or day in norwegian_bank_holidays(day.year)
    level = _ZONE_LEVEL[zone] * (0.6 + 0.8 * winterness) * rng.uniform(0.85, 1.15)
    if quiet_day:
        level *= 0.88 if weekday == 5 else 0.82  # Saturdays a little dearer than Sundays
    sensitivity = _WIND_SENSITIVITY[zone]

    spike_hours: set[int] = set()
    if rng.random() < 0.03 + 0.06 * winterness:
        first = rng.choice((7, 8, 17, 18))
        spike_hours = set(range(first, first + rng.randint(1, 3)))
    spike_factor = rng.uniform(2.0, 4.5)
    negative_day = rng.random() < 0.05 * sensitivity * (1.5 - winterness)
    flat_chance = 0.3 if zone in _HYDRO else 0.08

    hourly: list[tuple[datetime, float]] = []
    t = start
    while t < end:
        local_hour = t.astimezone(CET).hour
        shape = _SHAPE[local_hour]
        if quiet_day:
            shape = 1 + (shape - 1) * 0.6
        if 10 <= local_hour <= 15:  # solar noon dip, strongest in summer
            shape -= 0.25 * (1 - winterness) * sensitivity
        wind = wind_index(seed, zone, t)
        wind_pull = 1.1 * sensitivity * max(0.0, wind - 0.35) / 0.65
        cold_push = 1 - 0.02 * temperature_anomaly_c(seed, zone, t)
        price = level * shape * (1 - wind_pull) * cold_push * (1 + rng.gauss(0.0, 0.03))
        if local_hour in spike_hours:
            price *= spike_factor
        if negative_day and (local_hour <= 5 or 11 <= local_hour <= 15):
            price = -rng.uniform(0.01, 12.0)
        if hourly and rng.random() < flat_chance:
            price = hourly[-1][1]
        hourly.append((t, _round_price(price)))
        t += timedelta(hours=1)

    if resolution_min(day) == 60:
        return tuple(PricePoint(s, s + timedelta(hours=1), p) for s, p in hourly)

    points: list[PricePoint] = []
    quarter = timedelta(minutes=15)
    for i, (hour_start, price) in enumerate(hourly):
        previous = hourly[i - 1][1] if i else price
        following = hourly[i + 1][1] if i + 1 < len(hourly) else price
        flat = rng.random() < 0.45 or price == previous == following
        slope = (following - previous) / 8 * (1 + rng.gauss(0.0, 0.2))
        for q in range(4):
            value = price if flat else _round_price(price + slope * (q - 1.5))
            points.append(
                PricePoint(hour_start + q * quarter, hour_start + (q + 1) * quarter, value)
            )
    return tuple(points)


def curve_type(seed: int, zone: Zone, day: date) -> Literal["A01", "A03"]:
    """ENTSO-E sends most days as A03 (repeats omitted) and some as A01 (every position)."""
    return "A01" if seeded(seed, "curve", zone, day).random() < 0.1 else "A03"


def _fx_wave(seed: int, name: str, day: date, periods_days: tuple[float, ...]) -> float:
    phases = seeded(seed, "fx-phase", name)
    n = day.toordinal()
    return sum(
        math.sin(2 * math.pi * n / period + phases.uniform(0, 2 * math.pi)) / (k + 1)
        for k, period in enumerate(periods_days)
    )


@lru_cache(maxsize=16_384)
def norges_bank_quote(seed: int, currency: Currency, day: date) -> float | None:
    """Norges Bank's figure for ``day``: NOK per 1 EUR, per 100 SEK, per 100 DKK.

    None on weekends and Norwegian bank holidays (no fixing).
    """
    if not is_business_day(day):
        return None
    noise = seeded(seed, "fx", day)
    eur_nok = 11.55 + 0.3 * _fx_wave(seed, "NOK", day, (410.0, 83.0)) + noise.gauss(0, 0.03)
    eur_sek = 11.20 + 0.3 * _fx_wave(seed, "SEK", day, (365.0, 61.0)) + noise.gauss(0, 0.03)
    eur_dkk = 7.4600 + 0.004 * _fx_wave(seed, "DKK", day, (120.0,))
    per_unit = {"EUR": eur_nok, "SEK": eur_nok / eur_sek, "DKK": eur_nok / eur_dkk}[currency]
    scale: float = 10 ** FX_UNIT_MULT[currency]
    return round(per_unit * scale, FX_DECIMALS[currency])


def eur_rates(seed: int, day: date) -> dict[Literal["NOK", "SEK", "DKK"], float] | None:
    """Units per 1 EUR on business day ``day``, derived from Norges Bank's quotes as a client
    would: EURSEK = EURNOK / (NOK per 100 SEK / 100)."""
    eur = norges_bank_quote(seed, "EUR", day)
    sek = norges_bank_quote(seed, "SEK", day)
    dkk = norges_bank_quote(seed, "DKK", day)
    if eur is None or sek is None or dkk is None:
        return None
    return {"NOK": eur, "SEK": eur / (sek / 100), "DKK": eur / (dkk / 100)}


def fx_published_at(day: date) -> datetime:
    return datetime.combine(day, FX_PUBLISHED_AT, CET).astimezone(UTC)


@dataclass(frozen=True)
class MarketModel:
    """The synthetic market of one seed with its publication rules."""

    seed: int = 1
    publication_cet: time = time(12, 45)
    publication_jitter_min: int = 15

    def prices(self, zone: Zone, day: date) -> list[PricePoint]:
        """``(start_utc, end_utc, eur_per_mwh)`` of every MTU of CET day ``day``."""
        return list(day_ahead_prices(self.seed, zone, day))

    def published_at(self, day: date) -> datetime:
        """When delivery day ``day`` becomes available: the day before, at the configured CET
        time plus a deterministic 0..jitter minutes, never earlier."""
        jitter_s = 0
        if self.publication_jitter_min > 0:
            jitter_s = seeded(self.seed, "publication", day).randrange(
                self.publication_jitter_min * 60
            )
        base = datetime.combine(day - timedelta(days=1), self.publication_cet, CET)
        return base.astimezone(UTC) + timedelta(seconds=jitter_s)

    def is_published(self, day: date, now: datetime) -> bool:
        return day >= HISTORY_FROM and now >= self.published_at(day)

    def curve_type(self, zone: Zone, day: date) -> Literal["A01", "A03"]:
        return curve_type(self.seed, zone, day)

    def norges_bank_quote(self, currency: Currency, day: date, now: datetime) -> float | None:
        """The quote for ``day`` as visible at ``now`` (None before 16:00 CET or off days)."""
        if now < fx_published_at(day):
            return None
        return norges_bank_quote(self.seed, currency, day)

    def eur_rates(self, day: date) -> dict[Literal["NOK", "SEK", "DKK"], float] | None:
        return eur_rates(self.seed, day)

    def exr_for_prices(self, day: date) -> float:
        """The EUR→NOK rate a price site uses for delivery day ``day``: Norges Bank's latest
        fixing already published when the day's prices were."""
        cutoff = self.published_at(day)
        candidate = day
        while True:
            quote = norges_bank_quote(self.seed, "EUR", candidate)
            if quote is not None and fx_published_at(candidate) <= cutoff:
                return quote
            candidate -= timedelta(days=1)


__all__ = [
    "CET",
    "EIC_ZONE",
    "FX_CURRENCIES",
    "QUARTER_MTU_FROM",
    "ZONES",
    "ZONE_EIC",
    "MarketModel",
    "PricePoint",
    "Zone",
    "day_ahead_prices",
    "delivery_day_bounds",
    "delivery_day_of",
    "eur_rates",
    "is_business_day",
    "resolution_min",
]
