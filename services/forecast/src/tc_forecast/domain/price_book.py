"""Every published spot price the forecast service has seen, per zone, and views of it.

The model works on naive hourly series in **CET (UTC+1, no summer time)**: every day then has
exactly 24 hours, so DST days need no special mapping. Prices follow local wall-clock habits,
so in summer the model's hour-of-day is one hour off local time; the model learns that shift
from the data it is given (all of it in the same convention).
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

import pandas as pd

from tc_forecast.domain.anomalies import PricePoint

CET = timezone(timedelta(hours=1))


@dataclass(frozen=True)
class _Stored:
    end_at: datetime
    price_eur_per_mwh: float
    revision: int


class PriceBook:
    """Published prices by zone; a later revision of a slot replaces an earlier one."""

    def __init__(self) -> None:
        self._zones: dict[str, dict[datetime, _Stored]] = {}

    def add(
        self, zone: str, slots: Iterable[tuple[datetime, datetime, float]], revision: int
    ) -> list[PricePoint]:
        """Record slots; return those that are new or changed (sorted by start)."""
        book = self._zones.setdefault(zone, {})
        changed = []
        for start_at, end_at, price in slots:
            old = book.get(start_at)
            if old is not None and (
                old.revision > revision or (old.price_eur_per_mwh == price and old.end_at == end_at)
            ):
                continue
            book[start_at] = _Stored(end_at, price, revision)
            changed.append(PricePoint(start_at, end_at, price))
        return sorted(changed, key=lambda p: p.start_at)

    def zones(self) -> list[str]:
        return sorted(self._zones)

    def known_until(self, zone: str) -> datetime | None:
        book = self._zones.get(zone)
        return max(s.end_at for s in book.values()) if book else None

    def points(self, zone: str, start: datetime, end: datetime) -> list[PricePoint]:
        book = self._zones.get(zone, {})
        return sorted(
            (
                PricePoint(t, s.end_at, s.price_eur_per_mwh)
                for t, s in book.items()
                if t < end and s.end_at > start
            ),
            key=lambda p: p.start_at,
        )

    def hourly_history(self, zone: str, max_days: int = 1500) -> pd.DataFrame:
        """Hourly mean prices as a naive-CET-indexed frame with one ``price`` column."""
        book = self._zones.get(zone, {})
        if not book:
            return pd.DataFrame({"price": pd.Series(dtype=float)})
        index = pd.DatetimeIndex([t.astimezone(CET).replace(tzinfo=None) for t in book])
        series = pd.Series([s.price_eur_per_mwh for s in book.values()], index=index)
        hourly = series.groupby(series.index.floor("1h")).mean().sort_index()
        cutoff = hourly.index[-1] - pd.Timedelta(days=max_days)
        return pd.DataFrame({"price": hourly[hourly.index > cutoff]})


def cet_hour_to_utc(naive_cet: datetime) -> datetime:
    return naive_cet.replace(tzinfo=CET).astimezone(UTC)
