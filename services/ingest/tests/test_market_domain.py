"""Pure market and weather rules: delivery days, curves, units, schedule, backfill, slots."""

from datetime import UTC, date, datetime, time, timedelta

import pytest

from tc_common.events.behaviour import ChargingLocation
from tc_common.events.market import SpotPriceSlot
from tc_ingest.domain.market import (
    DayPrices,
    awaits_rate,
    backfill_plan,
    conversion_rate_date,
    delivery_date_of,
    delivery_day_bounds,
    eur_cross_rates,
    eur_per_mwh_to_ore_per_kwh,
    expand_curve,
    expected_slot_count,
    has_nok_prices,
    is_complete,
    live_days_due,
    missing_slot_count,
    next_live_poll_at,
    prefer_native_resolution,
    publication_time,
    rates_in_force,
    split_by_delivery_day,
    with_nok_prices,
)
from tc_ingest.domain.weather import (
    ForecastEntry,
    home_area,
    home_area_id,
    refetch_due,
    round_coordinate,
    to_weather_slots,
)
from tc_testkit.history import location

Q = timedelta(minutes=15)
H = timedelta(hours=1)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def full_day(day: date, resolution: timedelta = Q, zone: str = "NO1") -> DayPrices:
    start, end = delivery_day_bounds(day)
    slots = []
    at = start
    while at < end:
        slots.append(SpotPriceSlot(start_at=at, end_at=at + resolution, price_eur_per_mwh=50.0))
        at += resolution
    return DayPrices(zone, day, int(resolution / timedelta(minutes=1)), tuple(slots))  # type: ignore[arg-type]


class TestDeliveryDays:
    @pytest.mark.parametrize(
        ("day", "start", "end"),
        [
            (date(2025, 11, 4), utc(2025, 11, 3, 23), utc(2025, 11, 4, 23)),
            (date(2025, 6, 1), utc(2025, 5, 31, 22), utc(2025, 6, 1, 22)),
            (date(2025, 3, 30), utc(2025, 3, 29, 23), utc(2025, 3, 30, 22)),
            (date(2025, 10, 26), utc(2025, 10, 25, 22), utc(2025, 10, 26, 23)),
        ],
    )
    def test_a_delivery_day_is_the_oslo_calendar_day_in_utc(
        self, day: date, start: datetime, end: datetime
    ) -> None:
        assert delivery_day_bounds(day) == (start, end)

    @pytest.mark.parametrize(
        ("day", "resolution_min", "count"),
        [
            (date(2025, 11, 4), 15, 96),
            (date(2026, 3, 29), 15, 92),
            (date(2025, 10, 26), 15, 100),
            (date(2024, 3, 31), 60, 23),
            (date(2024, 10, 27), 60, 25),
            (date(2024, 6, 3), 60, 24),
        ],
    )
    def test_dst_days_have_92_or_100_quarter_hours(
        self, day: date, resolution_min: int, count: int
    ) -> None:
        assert expected_slot_count(day, resolution_min) == count

    def test_an_instant_belongs_to_the_cet_day_not_the_utc_day(self) -> None:
        assert delivery_date_of(utc(2025, 11, 3, 23, 30)) == date(2025, 11, 4)
        assert delivery_date_of(utc(2025, 11, 3, 22, 59)) == date(2025, 11, 3)


class TestCurves:
    def test_a03_forward_fills_omitted_positions_up_to_the_period_end(self) -> None:
        start = utc(2025, 11, 3, 23)
        slots = expand_curve(
            start=start,
            end=start + 8 * Q,
            resolution=Q,
            points={1: 61.07, 2: 58.9, 5: 55.12},
            curve_type="A03",
        )

        assert [p for _, _, p in slots] == [61.07, 58.9, 58.9, 58.9, 55.12, 55.12, 55.12, 55.12]
        assert slots[-1][1] == start + 8 * Q

    def test_a01_keeps_a_missing_position_missing(self) -> None:
        start = utc(2024, 6, 2, 22)
        slots = expand_curve(
            start=start, end=start + 4 * H, resolution=H, points={1: 1.0, 2: 2.0, 4: 4.0},
            curve_type="A01",
        )  # fmt: skip

        assert [s for s, _, _ in slots] == [start, start + H, start + 3 * H]

    def test_a03_cannot_fill_before_the_first_point(self) -> None:
        start = utc(2025, 11, 3, 23)
        slots = expand_curve(
            start=start, end=start + 3 * Q, resolution=Q, points={2: 9.0}, curve_type="A03"
        )

        assert [(s, p) for s, _, p in slots] == [(start + Q, 9.0), (start + 2 * Q, 9.0)]

    def test_slots_spanning_two_cet_days_are_split_by_delivery_day(self) -> None:
        start = utc(2025, 11, 4, 22)
        slots = expand_curve(
            start=start,
            end=start + 2 * H,
            resolution=H,
            points={1: 10.0, 2: 20.0},
            curve_type="A01",
        )

        days = split_by_delivery_day("NO1", slots, resolution_min=60)

        assert [(d.delivery_date, len(d.slots)) for d in days] == [
            (date(2025, 11, 4), 1),
            (date(2025, 11, 5), 1),
        ]

    @pytest.mark.parametrize("day", [date(2026, 3, 29), date(2025, 10, 26), date(2025, 11, 4)])
    def test_a_day_tiled_by_its_slots_is_complete_also_on_dst_days(self, day: date) -> None:
        prices = full_day(day)

        assert is_complete(prices)
        assert len(prices.slots) == expected_slot_count(day, 15)

    def test_a_day_with_a_gap_is_incomplete_and_counts_what_is_missing(self) -> None:
        prices = full_day(date(2025, 11, 4))
        holed = DayPrices("NO1", prices.delivery_date, 15, prices.slots[:10] + prices.slots[12:])

        assert not is_complete(holed)
        assert missing_slot_count(holed) == 2

    def test_a_day_missing_its_last_slot_is_incomplete(self) -> None:
        prices = full_day(date(2025, 11, 4))

        assert not is_complete(DayPrices("NO1", prices.delivery_date, 15, prices.slots[:-1]))

    @pytest.mark.parametrize(
        ("day", "expected_min"),
        [(date(2025, 6, 1), 60), (date(2025, 10, 1), 15)],
    )
    def test_a_day_sent_in_two_resolutions_keeps_the_sdac_unit_of_that_day(
        self, day: date, expected_min: int
    ) -> None:
        hourly, quarters = full_day(day, H), full_day(day, Q)

        [kept] = prefer_native_resolution([quarters, hourly])

        assert kept.resolution_min == expected_min

    def test_a_complete_day_beats_an_incomplete_one_of_the_native_resolution(self) -> None:
        day = date(2025, 11, 4)
        quarters = full_day(day, Q)
        broken = DayPrices("NO1", day, 15, quarters.slots[:5])

        [kept] = prefer_native_resolution([broken, full_day(day, H)])

        assert kept.resolution_min == 60


class TestUnits:
    def test_eur_per_mwh_becomes_ore_per_kwh_with_the_rate(self) -> None:
        assert eur_per_mwh_to_ore_per_kwh(87.40, 11.70) == pytest.approx(102.258)

    def test_ore_prices_are_filled_only_where_the_source_gave_none(self) -> None:
        day = full_day(date(2025, 11, 4))
        first = day.slots[0].model_copy(update={"price_nok_ore_per_kwh": 1.0})
        mixed = DayPrices("NO1", day.delivery_date, 15, (first, *day.slots[1:]))

        converted = with_nok_prices(mixed, 11.7)

        assert converted.slots[0].price_nok_ore_per_kwh == 1.0
        assert converted.slots[1].price_nok_ore_per_kwh == pytest.approx(58.5)
        assert converted.eur_nok == 11.7

    def test_without_a_rate_ore_prices_stay_unknown(self) -> None:
        day = full_day(date(2025, 11, 4))

        assert with_nok_prices(day, None).slots[0].price_nok_ore_per_kwh is None
        assert not has_nok_prices(with_nok_prices(day, None))
        assert has_nok_prices(with_nok_prices(day, 11.7))

    def test_only_recent_days_wait_for_a_rate_to_be_republished(self) -> None:
        today = date(2025, 11, 4)

        assert awaits_rate(today + timedelta(days=1), today, keep_days=7)
        assert awaits_rate(today - timedelta(days=7), today, keep_days=7)
        assert not awaits_rate(today - timedelta(days=8), today, keep_days=7)

    def test_cross_rates_divide_nok_per_eur_by_nok_per_unit(self) -> None:
        # Norges Bank: 11.9505 NOK per EUR, 107.30 NOK per 100 SEK, 160.10 NOK per 100 DKK.
        rates = eur_cross_rates({"EUR": 11.9505, "SEK": 1.0730, "DKK": 1.6010})

        assert rates["NOK"] == 11.9505
        assert rates["SEK"] == pytest.approx(11.9505 / 1.0730)
        assert rates["DKK"] == pytest.approx(7.4644, abs=1e-4)

    def test_without_a_euro_quote_there_are_no_cross_rates(self) -> None:
        assert eur_cross_rates({"SEK": 1.07}) == {}

    @pytest.mark.parametrize(
        ("day", "expected"),
        [
            (date(2025, 8, 22), date(2025, 8, 22)),  # Friday: its own fixing
            (date(2025, 8, 23), date(2025, 8, 22)),  # Saturday: Friday's
            (date(2025, 8, 24), date(2025, 8, 22)),  # Sunday: Friday's
            (date(2025, 8, 25), date(2025, 8, 25)),
        ],
    )
    def test_weekends_use_the_last_business_days_rates(self, day: date, expected: date) -> None:
        observations = {
            date(2025, 8, 21): {"NOK": 11.92},
            date(2025, 8, 22): {"NOK": 11.90},
            date(2025, 8, 25): {"NOK": 11.88},
        }

        found = rates_in_force(observations, day)  # type: ignore[arg-type]

        assert found is not None
        assert found[0] == expected

    def test_no_rate_is_in_force_before_the_first_observation(self) -> None:
        assert rates_in_force({date(2025, 8, 21): {"NOK": 11.9}}, date(2025, 8, 20)) is None

    def test_a_delivery_day_is_converted_at_the_auction_days_rate(self) -> None:
        assert conversion_rate_date(date(2025, 11, 5)) == date(2025, 11, 4)


class TestSchedule:
    TODAY = date(2025, 11, 4)
    TOMORROW = date(2025, 11, 5)
    RETRY = timedelta(minutes=10)

    def test_tomorrow_is_polled_from_13_cet(self) -> None:
        assert publication_time(self.TOMORROW) == utc(2025, 11, 4, 12)
        assert publication_time(date(2025, 6, 2)) == utc(2025, 6, 1, 11)

    @pytest.mark.parametrize(
        ("now", "complete", "due"),
        [
            (utc(2025, 11, 4, 8), set(), [TODAY]),
            (utc(2025, 11, 4, 8), {TODAY}, []),
            (utc(2025, 11, 4, 12, 0), {TODAY}, [TOMORROW]),
            (utc(2025, 11, 4, 12, 30), set(), [TODAY, TOMORROW]),
            (utc(2025, 11, 4, 15), {TODAY, TOMORROW}, []),
            (utc(2025, 11, 4, 23, 30), {TOMORROW}, []),  # after midnight CET, tomorrow is today
        ],
    )
    def test_the_days_due_are_today_and_tomorrow_after_publication(
        self, now: datetime, complete: set[date], due: list[date]
    ) -> None:
        assert live_days_due(now, complete) == due

    @pytest.mark.parametrize(
        ("now", "complete", "next_at"),
        [
            # on start: today is missing, retry soon
            (utc(2025, 11, 4, 8), set(), utc(2025, 11, 4, 8, 10)),
            # today complete before 13:00: wait for the publication
            (utc(2025, 11, 4, 8), {TODAY}, utc(2025, 11, 4, 12)),
            # after 13:00, tomorrow not there yet: retry every N minutes
            (utc(2025, 11, 4, 12, 5), {TODAY}, utc(2025, 11, 4, 12, 15)),
            # both complete: stop until tomorrow's 13:00
            (utc(2025, 11, 4, 13), {TODAY, TOMORROW}, utc(2025, 11, 5, 12)),
        ],
    )
    def test_polling_retries_until_complete_and_then_waits_for_the_next_publication(
        self, now: datetime, complete: set[date], next_at: datetime
    ) -> None:
        assert next_live_poll_at(now, complete, retry_interval=self.RETRY) == next_at

    def test_the_publication_time_is_configurable(self) -> None:
        assert live_days_due(utc(2025, 11, 4, 11, 50), {self.TODAY}, at_local=time(12, 45)) == [
            self.TOMORROW
        ]


class TestBackfill:
    def test_the_plan_covers_the_days_before_today_newest_first_in_chunks(self) -> None:
        plan = backfill_plan(date(2025, 11, 10), days=10, done=(), chunk_days=4)

        assert plan == [
            (date(2025, 11, 6), date(2025, 11, 9)),
            (date(2025, 11, 2), date(2025, 11, 5)),
            (date(2025, 10, 31), date(2025, 11, 1)),
        ]

    def test_days_already_published_are_skipped_and_split_the_ranges(self) -> None:
        plan = backfill_plan(
            date(2025, 11, 10), days=5, done={date(2025, 11, 7), date(2025, 11, 9)}, chunk_days=7
        )

        assert plan == [
            (date(2025, 11, 8), date(2025, 11, 8)),
            (date(2025, 11, 5), date(2025, 11, 6)),
        ]

    def test_zero_days_means_no_backfill(self) -> None:
        assert backfill_plan(date(2025, 11, 10), days=0, done=(), chunk_days=7) == []


class TestWeather:
    def test_hourly_then_six_hourly_entries_become_slots_with_their_precipitation(self) -> None:
        t0 = utc(2025, 11, 4, 11)
        entries = [
            ForecastEntry(t0, 4.3, 3.6, 87.5, 0.0, 0.8, True, True),
            ForecastEntry(t0 + H, 4.8, 4.1, 100.0, 0.3, 1.1, True, True),
            ForecastEntry(t0 + 7 * H, 2.1, 2.0, 40.2, None, 0.2, False, True),
            ForecastEntry(t0 + 13 * H, 0.4, 1.2, 12.0),
        ]

        slots = to_weather_slots(entries)

        assert [(s.start_at, s.end_at - s.start_at, s.precipitation_mm) for s in slots] == [
            (t0, H, 0.0),
            (t0 + H, H, 0.3),
            (t0 + 7 * H, 6 * H, 0.2),
            (t0 + 13 * H, 6 * H, None),
        ]

    def test_a_six_hour_slot_is_cut_at_the_next_entry_and_loses_its_precipitation(self) -> None:
        t0 = utc(2025, 11, 4, 11)
        entries = [
            ForecastEntry(t0, 1.0, precipitation_next_6h_mm=3.0, has_next_6_hours=True),
            ForecastEntry(t0 + 2 * H, 1.0, precipitation_next_1h_mm=0.1, has_next_1_hours=True),
        ]

        first, _ = to_weather_slots(entries)

        assert (first.end_at, first.precipitation_mm) == (t0 + 2 * H, None)

    def test_coordinates_are_rounded_to_four_decimals(self) -> None:
        assert round_coordinate(59.913912345) == 59.9139

    def test_a_forecast_is_not_refetched_before_it_expires(self) -> None:
        expires = utc(2025, 11, 4, 11, 30)

        assert not refetch_due(utc(2025, 11, 4, 11, 29), expires)
        assert refetch_due(utc(2025, 11, 4, 11, 30), expires)
        assert refetch_due(utc(2025, 11, 4, 11, 30), None)


def place(kind: str, lat: float, lon: float, sessions: int) -> ChargingLocation:
    return location(kind, latitude_deg=lat, longitude_deg=lon, sessions=sessions)


class TestHomeAreas:
    def test_the_home_is_rounded_to_about_a_kilometre(self) -> None:
        area = home_area([place("other", 59.0, 10.0, 40), place("home", 63.41237, 10.39861, 12)])

        assert area == (63.41, 10.40)

    def test_the_home_with_most_sessions_wins(self) -> None:
        area = home_area([place("home", 59.9139, 10.7522, 3), place("home", 60.3913, 5.3221, 9)])

        assert area == (60.39, 5.32)

    def test_a_profile_without_a_home_has_no_area(self) -> None:
        assert home_area([place("other", 59.0, 10.0, 4)]) is None
        assert home_area([]) is None

    def test_a_rounded_negative_zero_is_spelled_zero(self) -> None:
        area = home_area([place("home", -0.001, -0.004, 1)])

        assert area is not None
        assert str(area) == "(0.0, 0.0)"

    def test_the_area_is_named_after_the_vehicle(self) -> None:
        assert home_area_id("5YJ3E7EB0KF000001") == "home:5YJ3E7EB0KF000001"
