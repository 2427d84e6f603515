from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from tc_api.domain import (
    DateWindow,
    ForecastSlot,
    InvalidQueryError,
    PriceForecast,
    SpotPrice,
    TimeWindow,
    finest_prices,
    forecast_beyond,
    parse_zone,
    resolve_date_window,
    resolve_price_window,
)

NOW = datetime(2026, 11, 25, 12, 40, tzinfo=UTC)
HOUR = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
CET = timezone(timedelta(hours=1))
T0 = datetime(2026, 11, 25, 0, 0, tzinfo=UTC)


def price(minute: int, resolution_min: int, eur: float = 1.0) -> SpotPrice:
    start = T0 + timedelta(minutes=minute)
    return SpotPrice(start, start + timedelta(minutes=resolution_min), resolution_min, eur, None)


class TestParseZone:
    @pytest.mark.parametrize(("text", "zone"), [("NO3", "NO3"), ("se4", "SE4"), ("fi", "FI")])
    def test_a_known_zone_is_accepted_in_any_case(self, text: str, zone: str) -> None:
        assert parse_zone(text) == zone

    @pytest.mark.parametrize("text", ["NO6", "DE", "", "NO"])
    def test_an_unknown_zone_is_refused_listing_the_valid_ones(self, text: str) -> None:
        with pytest.raises(InvalidQueryError) as raised:
            parse_zone(text)
        assert raised.value.parameter == "zone"
        assert "valid zones: NO1, NO2, NO3, NO4, NO5, SE1, SE2, SE3, SE4, DK1, DK2, FI" in (
            raised.value.message
        )


class TestResolvePriceWindow:
    @pytest.mark.parametrize(
        ("from_at", "to_at", "expected"),
        [
            pytest.param(
                None,
                None,
                TimeWindow(HOUR - timedelta(hours=24), HOUR + timedelta(hours=48)),
                id="nothing-given-24h-back-from-the-hour-72h-long",
            ),
            pytest.param(
                T0, None, TimeWindow(T0, T0 + timedelta(hours=72)), id="only-from-72h-ahead"
            ),
            pytest.param(
                None, T0, TimeWindow(T0 - timedelta(hours=72), T0), id="only-to-72h-before"
            ),
            pytest.param(
                datetime(2026, 11, 25, tzinfo=CET),
                datetime(2026, 11, 26, tzinfo=CET),
                TimeWindow(T0 - timedelta(hours=1), T0 + timedelta(hours=23)),
                id="a-cet-day-in-utc",
            ),
        ],
    )
    def test_defaults_and_offsets_give_an_aware_utc_window(
        self, from_at: datetime | None, to_at: datetime | None, expected: TimeWindow
    ) -> None:
        window = resolve_price_window(from_at=from_at, to_at=to_at, now=NOW)
        assert window == expected
        assert window.from_at.utcoffset() == timedelta(0)

    @pytest.mark.parametrize(
        ("from_at", "to_at", "parameter", "message"),
        [
            pytest.param(T0.replace(tzinfo=None), None, "from", "timezone", id="naive-from"),
            pytest.param(None, T0.replace(tzinfo=None), "to", "timezone", id="naive-to"),
            pytest.param(T0, T0, "from", "before 'to'", id="empty"),
            pytest.param(T0, T0 - timedelta(hours=1), "from", "before 'to'", id="reversed"),
            pytest.param(T0, T0 + timedelta(days=31, seconds=1), "from", "31 days", id="too-long"),
        ],
    )
    def test_an_invalid_window_names_the_parameter(
        self, from_at: datetime | None, to_at: datetime | None, parameter: str, message: str
    ) -> None:
        with pytest.raises(InvalidQueryError) as raised:
            resolve_price_window(from_at=from_at, to_at=to_at, now=NOW)
        assert raised.value.parameter == parameter
        assert message in raised.value.message


class TestResolveDateWindow:
    def test_without_dates_the_last_31_days_including_today(self) -> None:
        assert resolve_date_window(from_date=None, to_date=None, now=NOW) == DateWindow(
            date(2026, 10, 26), date(2026, 11, 26)
        )

    def test_a_year_of_rates_is_allowed(self) -> None:
        window = resolve_date_window(from_date=date(2025, 1, 1), to_date=date(2026, 1, 1), now=NOW)
        assert window == DateWindow(date(2025, 1, 1), date(2026, 1, 1))

    @pytest.mark.parametrize(
        ("from_date", "to_date", "message"),
        [
            pytest.param(date(2026, 1, 2), date(2026, 1, 2), "before 'to'", id="empty"),
            pytest.param(date(2024, 1, 1), date(2025, 1, 2), "366 days", id="too-long"),
        ],
    )
    def test_an_invalid_date_window_is_refused(
        self, from_date: date, to_date: date, message: str
    ) -> None:
        with pytest.raises(InvalidQueryError, match=message):
            resolve_date_window(from_date=from_date, to_date=to_date, now=NOW)


class TestFinestPrices:
    @pytest.mark.parametrize(
        ("prices", "expected"),
        [
            pytest.param([], [], id="nothing"),
            pytest.param(
                [price(60, 60), price(0, 60)], [price(0, 60), price(60, 60)], id="hourly-sorted"
            ),
            pytest.param(
                [price(0, 60), price(0, 15), price(15, 15), price(60, 60)],
                [price(0, 15), price(15, 15), price(60, 60)],
                id="quarter-hours-replace-the-hour-they-cover",
            ),
            pytest.param(
                [price(0, 60), price(45, 15)],
                [price(45, 15)],
                id="one-quarter-hour-is-enough-to-drop-the-hour",
            ),
        ],
    )
    def test_quarter_hours_win_where_series_overlap(
        self, prices: list[SpotPrice], expected: list[SpotPrice]
    ) -> None:
        assert finest_prices(prices) == expected


class TestForecastBeyond:
    forecast = PriceForecast(
        zone="NO3",
        issued_at=T0,
        model="m/1",
        known_until=T0 + timedelta(hours=2),
        slots=tuple(
            ForecastSlot(T0 + timedelta(hours=h), T0 + timedelta(hours=h + 1), 1.0, 2.0, 3.0)
            for h in range(2, 8)
        ),
    )

    @pytest.mark.parametrize(
        ("known_until_h", "window_h", "expected_h"),
        [
            pytest.param(None, (0, 24), [2, 3, 4, 5, 6, 7], id="no-prices-stored"),
            pytest.param(4, (0, 24), [4, 5, 6, 7], id="prices-published-after-the-issue"),
            pytest.param(2, (3, 5), [3, 4], id="clipped-to-the-window"),
            pytest.param(10, (0, 24), [], id="all-known-already"),
        ],
    )
    def test_only_slots_after_the_last_price_inside_the_window(
        self, known_until_h: int | None, window_h: tuple[int, int], expected_h: list[int]
    ) -> None:
        known = None if known_until_h is None else T0 + timedelta(hours=known_until_h)
        window = TimeWindow(T0 + timedelta(hours=window_h[0]), T0 + timedelta(hours=window_h[1]))

        slots = forecast_beyond(self.forecast, known_until=known, window=window)

        assert [s.start_at for s in slots] == [T0 + timedelta(hours=h) for h in expected_h]
