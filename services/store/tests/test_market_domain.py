from datetime import date, timedelta

import pytest

from tc_common.events import (
    ExchangeRatesPublished,
    PriceAnomalyDetected,
    PriceForecastPublished,
    SpotPricesPublished,
    WeatherForecastPublished,
)
from tc_store.domain import (
    ExchangeRateRow,
    PriceAnomalyRow,
    PriceForecastRow,
    SpotPriceRow,
    WeatherForecastRow,
    exchange_rate_rows,
    market_unstorable_reason,
    price_anomaly_row,
    price_forecast_rows,
    spot_price_rows,
    weather_forecast_rows,
)

from .market_events import (
    DAY,
    DAY_START,
    DST_DAY,
    DST_DAY_START,
    FETCHED_AT,
    exchange_rates,
    price_anomaly,
    price_forecast,
    spot_prices,
    weather_forecast,
)


def event_fields(event_type: type, *exclude: str) -> set[str]:
    return set(event_type.model_fields) - {"schema_version", *exclude}


class TestRowsCoverTheEvents:
    """A field added to an event must be a decision (column or not), not an accident."""

    def test_spot_price_columns_are_the_event_and_slot_fields_minus_the_rate(self) -> None:
        slot_fields = {"start_at", "end_at", "price_eur_per_mwh", "price_nok_ore_per_kwh"}
        assert set(SpotPriceRow._fields) == (
            event_fields(SpotPricesPublished, "slots", "eur_nok") | slot_fields
        )

    def test_weather_columns_are_the_event_and_slot_fields(self) -> None:
        slot_fields = {
            "start_at",
            "end_at",
            "air_temperature_c",
            "wind_speed_m_per_s",
            "cloud_area_fraction_pct",
            "precipitation_mm",
        }
        assert set(WeatherForecastRow._fields) == (
            event_fields(WeatherForecastPublished, "slots") | slot_fields
        )

    def test_price_forecast_columns_are_the_event_and_slot_fields(self) -> None:
        slot_fields = {
            "start_at",
            "end_at",
            "p10_eur_per_mwh",
            "p50_eur_per_mwh",
            "p90_eur_per_mwh",
        }
        assert set(PriceForecastRow._fields) == (
            event_fields(PriceForecastPublished, "slots") | slot_fields
        )

    def test_anomaly_columns_are_the_event_fields(self) -> None:
        assert set(PriceAnomalyRow._fields) == event_fields(PriceAnomalyDetected)

    def test_exchange_rate_columns_spread_the_rates_over_rows(self) -> None:
        assert set(ExchangeRateRow._fields) == (
            event_fields(ExchangeRatesPublished, "rates", "base") | {"currency", "per_eur"}
        )


class TestSpotPriceRows:
    def test_each_slot_is_a_row_carrying_the_day_revision_and_source(self) -> None:
        rows = spot_price_rows(spot_prices(count=2, revision=3, resolution_min=60))

        assert rows == [
            SpotPriceRow(
                "NO3",
                DAY_START + timedelta(hours=i),
                DAY_START + timedelta(hours=i + 1),
                60,
                50.0 + i,
                (50.0 + i) * 11.7 / 10,
                DAY,
                "simulated",
                3,
                FETCHED_AT,
            )
            for i in range(2)
        ]

    def test_a_dst_day_of_92_quarter_hours_gives_92_rows(self) -> None:
        rows = spot_price_rows(spot_prices(delivery_date=DST_DAY, start=DST_DAY_START, count=92))

        assert len(rows) == 92
        assert rows[-1].end_at - rows[0].start_at == timedelta(hours=23)
        assert {row.delivery_date for row in rows} == {DST_DAY}

    def test_a_slot_repeated_in_one_event_is_written_once_and_rows_are_sorted(self) -> None:
        event = spot_prices(count=3)
        shuffled = event.model_copy(update={"slots": (*event.slots[::-1], event.slots[0])})

        rows = spot_price_rows(shuffled)

        assert [r.start_at for r in rows] == [s.start_at for s in event.slots]


class TestOtherRows:
    def test_exchange_rates_become_one_row_per_currency_in_currency_order(self) -> None:
        rows = exchange_rate_rows(exchange_rates(rate_date=date(2026, 11, 23), nok=11.65))

        assert rows == [
            ExchangeRateRow(date(2026, 11, 23), "DKK", 7.46, "simulated", FETCHED_AT),
            ExchangeRateRow(date(2026, 11, 23), "NOK", 11.65, "simulated", FETCHED_AT),
            ExchangeRateRow(date(2026, 11, 23), "SEK", 11.2, "simulated", FETCHED_AT),
        ]

    def test_weather_rows_carry_the_run_and_the_place(self) -> None:
        rows = weather_forecast_rows(weather_forecast(hours=3))

        assert [r.air_temperature_c for r in rows] == [-3.0, -2.0, -1.0]
        assert {(r.location_id, r.updated_at, r.latitude_deg) for r in rows} == {
            ("zone:NO3", FETCHED_AT, 63.43)
        }

    def test_forecast_rows_carry_the_issue_and_all_three_quantiles(self) -> None:
        [first, *_] = price_forecast_rows(price_forecast(count=4))

        assert (first.issued_at, first.model, first.known_until) == (
            FETCHED_AT,
            "test-model/1",
            DAY_START + timedelta(days=1),
        )
        assert (first.p10_eur_per_mwh, first.p50_eur_per_mwh, first.p90_eur_per_mwh) == (
            50.0,
            60.0,
            75.0,
        )

    def test_an_anomaly_is_one_row_with_its_expectation(self) -> None:
        row = price_anomaly_row(price_anomaly(expected_eur_per_mwh=None))

        assert (row.zone, row.kind, row.expected_eur_per_mwh) == ("NO3", "spike", None)


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        pytest.param(spot_prices(), None, id="quarter-hours-ok"),
        pytest.param(spot_prices(resolution_min=60, count=25), None, id="autumn-dst-hours-ok"),
        pytest.param(exchange_rates(), None, id="rates-ok"),
        pytest.param(weather_forecast(), None, id="weather-ok"),
        pytest.param(price_forecast(), None, id="forecast-ok"),
        pytest.param(price_anomaly(), None, id="anomaly-ok"),
        pytest.param(
            spot_prices(resolution_min=15).model_copy(update={"resolution_min": 60}),
            "lasts 0:15:00, not the 60 min of resolution_min",
            id="quarter-hours-claimed-hourly",
        ),
        pytest.param(
            weather_forecast(location_id="home:\x00VIN"),
            "location_id contains a NUL character",
            id="nul-in-location",
        ),
        pytest.param(
            price_anomaly(detail="bad\x00"), "detail contains a NUL character", id="nul-in-detail"
        ),
        pytest.param(
            price_anomaly(end_at=DAY_START + timedelta(hours=8)),
            "end_at must be after start_at",
            id="anomaly-without-duration",
        ),
    ],
)
def test_only_events_the_database_would_refuse_forever_are_unstorable(event, reason) -> None:
    found = market_unstorable_reason(event)

    if reason is None:
        assert found is None
    else:
        assert found is not None
        assert reason in found
