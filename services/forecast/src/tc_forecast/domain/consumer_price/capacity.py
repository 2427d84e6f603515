"""The monthly capacity charge (kapasitetsledd / effekttrinn) and what charging adds to it.

The step is chosen from the average of the highest hourly loads on the ``peak_days`` (3)
different days with the highest peaks in the Oslo calendar month: two peaks on one day count
once. An hour's load in kW equals the kWh metered in that hour.
"""

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime

from tc_forecast.domain.consumer_price.local_time import oslo, oslo_date, oslo_month
from tc_forecast.domain.consumer_price.profile import ConsumerProfile
from tc_forecast.domain.consumer_price.rulebook import GridTariffRule, TariffRules


@dataclass(frozen=True, kw_only=True)
class CapacityStep:
    """The step a month lands in, and the peaks that put it there."""

    from_kw: float
    to_kw: float | None
    nok_per_month_ex_vat: float
    average_peak_kw: float
    peak_days: tuple[date, ...]


def daily_peaks_kw(load_kw_by_hour: Mapping[datetime, float]) -> dict[date, float]:
    """Each Oslo day's highest hourly load; keys MUST be aware UTC hour starts."""
    peaks: dict[date, float] = {}
    for hour, kw in load_kw_by_hour.items():
        _check_hour(hour)
        day = oslo_date(hour)
        peaks[day] = max(kw, peaks.get(day, kw))
    return peaks


def capacity_step(
    hourly_peaks_kw_by_day: Mapping[date, float], tariff: GridTariffRule
) -> CapacityStep:
    """The step of one month from each day's highest hourly load (see ``daily_peaks_kw``).

    With fewer metered days than ``peak_days`` (early in the month) the average is over the
    days there are; with none the load is 0 kW.
    """
    top = sorted(hourly_peaks_kw_by_day.items(), key=lambda item: (-item[1], item[0]))
    top = top[: tariff.peak_days]
    average_kw = sum(kw for _, kw in top) / len(top) if top else 0.0
    band = tariff.band_for(average_kw)
    return CapacityStep(
        from_kw=band.from_kw,
        to_kw=band.to_kw,
        nok_per_month_ex_vat=band.nok_per_month_ex_vat,
        average_peak_kw=average_kw,
        peak_days=tuple(sorted(day for day, _ in top)),
    )


def marginal_capacity_cost_nok(
    existing_load_kw_by_hour: Mapping[datetime, float],
    added_load_kw_by_hour: Mapping[datetime, float],
    profile: ConsumerProfile,
    rules: TariffRules,
) -> float:
    """How much ``added_load`` raises the capacity charges of the months it falls in, NOK
    incl. VAT where VAT applies.

    ``existing_load_kw_by_hour`` is the household's other load in those months (metered so far
    plus whatever is expected for the rest of the month); keys of both maps are aware UTC
    hour starts. The charge is per month, not prorated.
    """
    months: dict[tuple[int, int], datetime] = {}
    for hour in added_load_kw_by_hour:
        _check_hour(hour)
        months.setdefault(oslo_month(hour), hour)
    total_nok = 0.0
    for month, first_hour in months.items():
        day = oslo_date(first_hour)
        tariff = rules.grid_tariff_on(profile.grid_tariff_id, day)
        vat = rules.vat_on(day)
        vat_rate = 0.0 if vat.is_exempt(profile.county) or profile.in_tiltakssone else vat.rate
        before = _month_load(existing_load_kw_by_hour, month)
        after: dict[datetime, float] = defaultdict(float, before)
        for hour, kw in _month_load(added_load_kw_by_hour, month).items():
            after[hour] += kw
        step_before = capacity_step(daily_peaks_kw(before), tariff)
        step_after = capacity_step(daily_peaks_kw(after), tariff)
        delta = step_after.nok_per_month_ex_vat - step_before.nok_per_month_ex_vat
        total_nok += delta * (1.0 + vat_rate)
    return total_nok


def _month_load(
    load_kw_by_hour: Mapping[datetime, float], month: tuple[int, int]
) -> dict[datetime, float]:
    return {h: kw for h, kw in load_kw_by_hour.items() if oslo_month(h) == month}


def _check_hour(hour: datetime) -> None:
    oslo(hour)  # rejects naive datetimes
    utc = hour.astimezone(UTC)
    if (utc.minute, utc.second, utc.microsecond) != (0, 0, 0):
        raise ValueError(f"{hour.isoformat()} is not the start of an hour")
