"""The pure market model: deterministic curves, DST days, MTU change, publication, FX."""

import itertools
import statistics
from datetime import UTC, date, datetime, time, timedelta

import pytest

from tc_market_fakes.market import (
    CET,
    MarketModel,
    day_ahead_prices,
    delivery_day_bounds,
    eur_rates,
    is_business_day,
    norges_bank_quote,
    resolution_min,
)
from tc_market_fakes.weather import Zone, wind_index

MODEL = MarketModel(seed=1)


def _year(zone: Zone, year: int = 2024, seed: int = 1) -> list[float]:
    prices: list[float] = []
    day = date(year, 1, 1)
    while day.year == year:
        prices.extend(p.eur_per_mwh for p in day_ahead_prices(seed, zone, day))
        day += timedelta(days=1)
    return prices


class TestDeterminism:
    def test_the_same_seed_zone_and_day_always_give_the_same_curve(self) -> None:
        day_ahead_prices.cache_clear()
        first = MarketModel(seed=7).prices("NO3", date(2025, 11, 4))
        day_ahead_prices.cache_clear()
        assert MarketModel(seed=7).prices("NO3", date(2025, 11, 4)) == first

    def test_a_day_does_not_depend_on_which_days_were_asked_for_before(self) -> None:
        day_ahead_prices.cache_clear()
        direct = MODEL.prices("DK1", date(2026, 2, 10))
        day_ahead_prices.cache_clear()
        for offset in range(5):
            MODEL.prices("DK1", date(2026, 2, 5) + timedelta(days=offset))
        assert MODEL.prices("DK1", date(2026, 2, 10)) == direct

    def test_another_seed_gives_another_curve(self) -> None:
        day = date(2025, 11, 4)
        assert MarketModel(seed=1).prices("NO1", day) != MarketModel(seed=2).prices("NO1", day)

    def test_zones_differ_on_the_same_day(self) -> None:
        day = date(2025, 11, 4)
        assert MODEL.prices("NO1", day) != MODEL.prices("NO2", day)


class TestDeliveryDays:
    @pytest.mark.parametrize(
        ("day", "resolution", "count"),
        [
            (date(2024, 3, 31), 60, 23),
            (date(2024, 10, 27), 60, 25),
            (date(2025, 3, 30), 60, 23),
            (date(2025, 9, 30), 60, 24),
            (date(2025, 10, 1), 15, 96),
            (date(2025, 10, 26), 15, 100),
            (date(2026, 3, 29), 15, 92),
            (date(2026, 6, 15), 15, 96),
        ],
        ids=[
            "spring-2024-23h",
            "fall-2024-25h",
            "spring-2025-23h",
            "last-hourly-day",
            "first-quarter-day",
            "fall-2025-100q",
            "spring-2026-92q",
            "summer-96q",
        ],
    )
    def test_a_delivery_day_has_its_utc_length_in_market_time_units(
        self, day: date, resolution: int, count: int
    ) -> None:
        points = MODEL.prices("NO1", day)
        assert resolution_min(day) == resolution
        assert len(points) == count
        assert {p.end_at - p.start_at for p in points} == {timedelta(minutes=resolution)}

    def test_units_tile_the_cet_day_without_gaps(self) -> None:
        for day in (date(2025, 10, 26), date(2026, 3, 29), date(2025, 6, 1)):
            points = MODEL.prices("SE3", day)
            start, end = delivery_day_bounds(day)
            assert points[0].start_at == start
            assert points[-1].end_at == end
            assert all(a.end_at == b.start_at for a, b in itertools.pairwise(points))
            assert start.astimezone(CET).time() == time(0)

    def test_winter_and_summer_days_start_at_local_midnight_in_utc(self) -> None:
        assert delivery_day_bounds(date(2025, 11, 4))[0] == datetime(2025, 11, 3, 23, tzinfo=UTC)
        assert delivery_day_bounds(date(2025, 6, 1))[0] == datetime(2025, 5, 31, 22, tzinfo=UTC)


class TestPriceShape:
    def test_zones_are_ordered_like_the_nordic_market(self) -> None:
        zones: tuple[Zone, ...] = ("NO2", "NO3", "NO4", "DK2")
        mean = {zone: statistics.mean(_year(zone)) for zone in zones}
        assert mean["NO4"] < mean["NO3"] < mean["NO2"] < mean["DK2"]

    def test_a_year_has_negative_prices_spikes_and_repeated_values(self) -> None:
        prices = _year("DK1")
        assert any(p < 0 for p in prices)
        assert max(prices) > 3 * statistics.mean(prices)
        repeats = sum(a == b for a, b in itertools.pairwise(prices))
        assert repeats > 0.05 * len(prices)

    def test_winter_is_dearer_than_summer(self) -> None:
        january = [p for d in range(1, 29) for p in MODEL.prices("NO1", date(2025, 1, d))]
        july = [p for d in range(1, 29) for p in MODEL.prices("NO1", date(2025, 7, d))]
        assert statistics.mean(x.eur_per_mwh for x in january) > statistics.mean(
            x.eur_per_mwh for x in july
        )

    def test_evening_peak_is_dearer_than_the_night_on_average(self) -> None:
        night: list[float] = []
        evening: list[float] = []
        for d in range(1, 60):
            day = date(2025, 1, 1) + timedelta(days=d)
            for p in MODEL.prices("SE3", day):
                hour = p.start_at.astimezone(CET).hour
                (night if hour == 3 else evening if hour == 18 else []).append(p.eur_per_mwh)
        assert statistics.mean(evening) > 1.2 * statistics.mean(night)

    def test_windy_days_are_cheaper_in_a_wind_heavy_zone(self) -> None:
        days = [date(2024, 1, 1) + timedelta(days=i) for i in range(366)]
        noon = {d: wind_index(1, "DK1", datetime.combine(d, time(12), UTC)) for d in days}
        ranked = sorted(days, key=noon.__getitem__)
        quarter = len(ranked) // 4

        def mean_price(ds: list[date]) -> float:
            return statistics.mean(p.eur_per_mwh for d in ds for p in MODEL.prices("DK1", d))

        assert mean_price(ranked[-quarter:]) < 0.8 * mean_price(ranked[:quarter])

    def test_prices_carry_two_decimals(self) -> None:
        for p in MODEL.prices("FI", date(2025, 12, 1)):
            assert round(p.eur_per_mwh, 2) == p.eur_per_mwh


class TestPublication:
    def test_a_day_is_never_published_before_the_configured_time_the_day_before(self) -> None:
        for offset in range(60):
            day = date(2025, 1, 1) + timedelta(days=offset * 6)
            published = MODEL.published_at(day)
            local = published.astimezone(CET)
            assert local.date() == day - timedelta(days=1)
            assert time(12, 45) <= local.time() < time(13, 0)
            assert not MODEL.is_published(day, published - timedelta(seconds=1))
            assert MODEL.is_published(day, published)

    def test_the_publication_time_is_configurable(self) -> None:
        late = MarketModel(seed=1, publication_cet=time(14, 30), publication_jitter_min=0)
        published = late.published_at(date(2025, 7, 2))
        assert published == datetime(2025, 7, 1, 12, 30, tzinfo=UTC)  # 14:30 CEST

    def test_today_is_published_and_the_day_after_tomorrow_is_not(self) -> None:
        now = datetime(2025, 11, 3, 14, tzinfo=UTC)
        assert MODEL.is_published(date(2025, 11, 3), now)
        assert MODEL.is_published(date(2025, 11, 4), now)
        assert not MODEL.is_published(date(2025, 11, 5), now)


class TestExchangeRates:
    @pytest.mark.parametrize(
        "day",
        [
            date(2025, 11, 1),
            date(2025, 11, 2),
            date(2025, 4, 18),
            date(2025, 5, 1),
            date(2025, 12, 25),
        ],
        ids=["saturday", "sunday", "good-friday", "may-day", "christmas"],
    )
    def test_there_is_no_fixing_on_weekends_and_holidays(self, day: date) -> None:
        assert not is_business_day(day)
        assert norges_bank_quote(1, "EUR", day) is None
        assert eur_rates(1, day) is None

    def test_quotes_are_plausible_and_sek_and_dkk_are_per_100(self) -> None:
        day = date(2025, 11, 3)
        assert 10.5 < norges_bank_quote(1, "EUR", day) < 12.5  # type: ignore[operator]
        assert 90 < norges_bank_quote(1, "SEK", day) < 120  # type: ignore[operator]
        assert 140 < norges_bank_quote(1, "DKK", day) < 170  # type: ignore[operator]

    def test_eur_rates_follow_from_the_nok_quotes(self) -> None:
        rates = eur_rates(1, date(2025, 11, 3))
        assert rates is not None
        assert rates["DKK"] == pytest.approx(7.46, abs=0.03)
        assert 10.5 < rates["SEK"] < 12.5

    def test_a_fixing_is_visible_from_16_cet(self) -> None:
        day = date(2025, 11, 3)
        assert (
            MODEL.norges_bank_quote("EUR", day, datetime(2025, 11, 3, 14, 59, tzinfo=UTC)) is None
        )
        assert MODEL.norges_bank_quote("EUR", day, datetime(2025, 11, 3, 15, 0, tzinfo=UTC))

    def test_the_price_sites_rate_was_published_before_the_prices(self) -> None:
        day = date(2025, 11, 4)  # a Tuesday: its prices appear Monday 12:45, before Monday's fix
        assert MODEL.exr_for_prices(day) == norges_bank_quote(1, "EUR", date(2025, 10, 31))
