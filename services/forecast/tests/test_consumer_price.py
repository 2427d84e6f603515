"""The household price of a kWh, checked against the worked numbers of the price reference
(price-and-weather-apis.md §7) with the bundled 2024–2026 rules."""

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from tc_common.events.market import SpotPriceSlot
from tc_forecast.adapters.tariff_rules import load_bundled_tariff_rules
from tc_forecast.domain.consumer_price import (
    ConsumerPriceBreakdown,
    ConsumerProfile,
    NoRuleError,
    SupportScheme,
    TariffRules,
    consumer_price,
    consumer_prices,
    spot_ore_per_kwh,
)

RULES = load_bundled_tariff_rules()
HOUR = timedelta(hours=1)
QUARTER = timedelta(minutes=15)
# Grid energy tariff of the bundled example company, øre/kWh ex VAT.
WINTER_DAY, WINTER_NIGHT, SUMMER_DAY, SUMMER_NIGHT = 28.0, 18.0, 22.0, 14.0


def spot(
    start_at: datetime, ore: float | None = None, *, eur: float = 0.0, length: timedelta = HOUR
) -> SpotPriceSlot:
    return SpotPriceSlot(
        start_at=start_at,
        end_at=start_at + length,
        price_eur_per_mwh=eur,
        price_nok_ore_per_kwh=ore,
    )


def household(
    scheme: SupportScheme = "stromstotte",
    *,
    county: str = "Oslo",
    markup: float = 0.0,
    tiltakssone: bool = False,
    cabin: bool = False,
) -> ConsumerProfile:
    return ConsumerProfile(
        zone="NO1",
        county=county,
        grid_tariff_id="example-dso",
        supplier_markup_ore_per_kwh_ex_vat=markup,
        support_scheme=scheme,
        in_tiltakssone=tiltakssone,
        is_cabin=cabin,
    )


def price(
    slot: SpotPriceSlot,
    profile: ConsumerProfile | None = None,
    *,
    month_kwh: float = 0.0,
    rules: TariffRules = RULES,
) -> ConsumerPriceBreakdown:
    return consumer_price(slot, profile or household(), rules, month_consumption_kwh=month_kwh)


# Wednesday 2025-01-15 12:00 in Oslo (CET, UTC+1): a winter weekday daytime hour.
WINTER_NOON = datetime(2025, 1, 15, 11, tzinfo=UTC)
# Wednesday 2025-11-12 12:00 in Oslo: Norgespris exists, winter season.
NOV_NOON = datetime(2025, 11, 12, 11, tzinfo=UTC)


class TestSpotConversion:
    def test_eur_per_mwh_times_rate_over_ten_is_ore_per_kwh(self) -> None:
        slot = spot(WINTER_NOON, eur=87.40)
        assert round(spot_ore_per_kwh(slot, eur_nok=11.70), 2) == 102.26

    def test_the_slots_own_nok_price_wins_over_a_passed_rate(self) -> None:
        slot = spot(WINTER_NOON, 71.234, eur=60.88)
        assert spot_ore_per_kwh(slot, eur_nok=99.0) == 71.234

    def test_negative_prices_stay_negative(self) -> None:
        assert spot_ore_per_kwh(spot(WINTER_NOON, eur=-11.11), eur_nok=11.70) == pytest.approx(
            -12.9987
        )

    def test_a_slot_without_nok_price_needs_a_rate(self) -> None:
        with pytest.raises(ValueError, match="no EUR→NOK rate"):
            spot_ore_per_kwh(spot(WINTER_NOON, eur=87.40))


class TestWorkedExample:
    def test_every_component_of_a_winter_weekday_hour_in_oslo(self) -> None:
        slot = spot(WINTER_NOON, eur=87.40)
        got = consumer_price(
            slot, household(markup=5.0), RULES, month_consumption_kwh=0.0, eur_nok=11.70
        )

        spot_ore = 87.40 * 11.70 / 10
        credit = 0.9 * (spot_ore - 75.0)  # strømstøtte 2025, ex VAT
        total_ex = spot_ore + 5.0 + WINTER_DAY + 16.93 + 1.0 - credit
        assert got.vat_rate == 0.25
        assert got.grid_period == "day"
        assert (got.spot.ex_vat, got.spot.inc_vat) == pytest.approx((102.258, 127.8225))
        assert (got.markup.ex_vat, got.markup.inc_vat) == pytest.approx((5.0, 6.25))
        assert (got.grid_energy.ex_vat, got.grid_energy.inc_vat) == pytest.approx((28.0, 35.0))
        assert (got.elavgift.ex_vat, got.elavgift.inc_vat) == pytest.approx((16.93, 21.1625))
        assert (got.enova.ex_vat, got.enova.inc_vat) == pytest.approx((1.0, 1.25))
        assert got.support_credit.inc_vat == pytest.approx(credit * 1.25)
        assert got.total.ex_vat == pytest.approx(total_ex)
        assert round(got.total.inc_vat, 2) == 160.82

    def test_a_price_made_with_assumed_or_example_rules_names_them(self) -> None:
        got = price(spot(WINTER_NOON, 100.0))
        assert got.assumed_rules == (
            "elavgift[2025-01-01, 2025-04-01) (assumed)",
            "grid tariff 'example-dso'[2024-01-01, …) (example)",
        )


@pytest.mark.parametrize(
    ("start_at", "spot_ore", "county", "credit_inc_vat"),
    [
        pytest.param(
            datetime(2024, 6, 5, 10, tzinfo=UTC), 100.0, "Oslo", 30.375, id="2024-100-thr73"
        ),
        pytest.param(WINTER_NOON, 100.0, "Oslo", 28.125, id="2025-100-thr75"),
        pytest.param(WINTER_NOON, 93.75, "Oslo", 21.09375, id="2025-93.75"),
        pytest.param(WINTER_NOON, 75.0, "Oslo", 0.0, id="2025-at-threshold-nothing"),
        pytest.param(WINTER_NOON, 60.0, "Oslo", 0.0, id="2025-below-threshold-nothing"),
        pytest.param(WINTER_NOON, -5.0, "Oslo", 0.0, id="2025-negative-nothing"),
        pytest.param(WINTER_NOON, 100.0, "Nordland", 22.5, id="2025-vat-exempt-x1.0"),
    ],
)
def test_stromstotte_is_ninety_percent_above_the_threshold_with_vat(
    start_at: datetime, spot_ore: float, county: str, credit_inc_vat: float
) -> None:
    got = price(spot(start_at, spot_ore), household(county=county))
    assert got.support_applies
    assert got.support_credit.inc_vat == pytest.approx(credit_inc_vat)


@pytest.mark.parametrize(
    ("month_kwh", "applies"),
    [
        pytest.param(0.0, True, id="first-kwh"),
        pytest.param(4999.5, True, id="last-half-kwh-under-cap"),
        pytest.param(5000.0, False, id="at-cap"),
        pytest.param(7200.0, False, id="above-cap"),
    ],
)
def test_stromstotte_stops_at_5000_kwh_a_month(month_kwh: float, applies: bool) -> None:
    got = price(spot(WINTER_NOON, 200.0), month_kwh=month_kwh)
    assert got.support_applies is applies
    assert got.support_credit.inc_vat == pytest.approx(140.625 if applies else 0.0)


@pytest.mark.parametrize(
    ("spot_ore", "credit_inc_vat"),
    [
        pytest.param(120.0, 100.0, id="spot-120-credit"),
        pytest.param(40.0, 0.0, id="spot-40-even"),
        pytest.param(10.0, -37.5, id="spot-10-charge"),
        pytest.param(-20.0, -75.0, id="spot-negative-charge"),
    ],
)
def test_norgespris_settles_the_difference_to_40_ore(
    spot_ore: float, credit_inc_vat: float
) -> None:
    got = price(spot(NOV_NOON, spot_ore), household("norgespris"))
    assert got.support_credit.inc_vat == pytest.approx(credit_inc_vat)
    energy = got.spot.inc_vat - got.support_credit.inc_vat
    assert energy == pytest.approx(50.0)  # 40 øre ex VAT, "50 øre incl." every hour


def test_norgespris_energy_price_is_40_plus_markup_grid_and_taxes() -> None:
    got = price(spot(NOV_NOON, 180.0), household("norgespris", markup=4.0))
    assert got.total.ex_vat == pytest.approx(40.0 + 4.0 + WINTER_DAY + 16.93 + 1.0)
    assert got.total.inc_vat == pytest.approx(got.total.ex_vat * 1.25)


def test_above_its_cap_norgespris_pays_the_normal_spot() -> None:
    got = price(spot(NOV_NOON, 180.0), household("norgespris"), month_kwh=5000.0)
    assert not got.support_applies
    assert got.support_credit.inc_vat == 0.0
    assert got.total.ex_vat == pytest.approx(180.0 + WINTER_DAY + 16.93 + 1.0)


def test_a_cabin_on_norgespris_is_capped_at_1000_kwh() -> None:
    cabin = household("norgespris", cabin=True)
    assert price(spot(NOV_NOON, 180.0), cabin, month_kwh=999.0).support_applies
    assert not price(spot(NOV_NOON, 180.0), cabin, month_kwh=1000.0).support_applies


def test_a_cabin_cannot_have_stromstotte() -> None:
    with pytest.raises(ValueError, match="cabins"):
        household("stromstotte", cabin=True)


def test_norgespris_does_not_exist_before_october_2025() -> None:
    with pytest.raises(NoRuleError, match="no norgespris rule covers 2025-09-30"):
        price(spot(datetime(2025, 9, 30, 10, tzinfo=UTC), 50.0), household("norgespris"))


def test_without_a_support_scheme_the_household_pays_the_full_spot() -> None:
    got = price(spot(WINTER_NOON, 300.0), household("none"))
    assert not got.support_applies
    assert got.support_credit.ex_vat == 0.0
    assert got.total.ex_vat == pytest.approx(300.0 + WINTER_DAY + 16.93 + 1.0)


@pytest.mark.parametrize(
    ("county", "tiltakssone", "vat_rate", "elavgift"),
    [
        pytest.param("Oslo", False, 0.25, 16.93, id="oslo-all-taxes"),
        pytest.param("Nordland", False, 0.0, 16.93, id="nordland-no-vat"),
        pytest.param("troms", False, 0.0, 16.93, id="troms-no-vat-any-case"),
        pytest.param("Finnmark", True, 0.0, 0.0, id="tiltakssone-no-vat-no-elavgift"),
        pytest.param("Trøndelag", False, 0.25, 16.93, id="trondelag-NO3-pays-vat"),
    ],
)
def test_vat_and_elavgift_follow_the_county_and_tiltakssone(
    county: str, tiltakssone: bool, vat_rate: float, elavgift: float
) -> None:
    got = price(spot(NOV_NOON, 100.0), household("none", county=county, tiltakssone=tiltakssone))
    assert got.vat_rate == vat_rate
    assert got.elavgift.ex_vat == elavgift
    assert got.total.inc_vat == pytest.approx(got.total.ex_vat * (1 + vat_rate))


def test_vat_exempt_norgespris_household_pays_40_ore_for_energy() -> None:
    got = price(spot(NOV_NOON, 130.0), household("norgespris", county="Troms"))
    assert got.spot.inc_vat - got.support_credit.inc_vat == pytest.approx(40.0)


@pytest.mark.parametrize(
    ("start_at", "period", "energiledd"),
    [
        pytest.param(
            datetime(2025, 1, 15, 4, 45, tzinfo=UTC), "night", WINTER_NIGHT, id="wed-05:45-night"
        ),
        pytest.param(
            datetime(2025, 1, 15, 5, 0, tzinfo=UTC), "day", WINTER_DAY, id="wed-06:00-day"
        ),
        pytest.param(
            datetime(2025, 1, 15, 20, 45, tzinfo=UTC), "day", WINTER_DAY, id="wed-21:45-day"
        ),
        pytest.param(
            datetime(2025, 1, 15, 21, 0, tzinfo=UTC), "night", WINTER_NIGHT, id="wed-22:00-night"
        ),
        pytest.param(
            datetime(2025, 1, 18, 11, 0, tzinfo=UTC), "night", WINTER_NIGHT, id="sat-noon-night"
        ),
        pytest.param(
            datetime(2025, 1, 19, 11, 0, tzinfo=UTC), "night", WINTER_NIGHT, id="sun-noon-night"
        ),
        pytest.param(
            datetime(2025, 7, 16, 10, 0, tzinfo=UTC),
            "day",
            SUMMER_DAY,
            id="jul-wed-noon-summer-day",
        ),
        pytest.param(
            datetime(2025, 7, 16, 22, 0, tzinfo=UTC),
            "night",
            SUMMER_NIGHT,
            id="jul-thu-00:00-summer-night",
        ),
        # Monday after spring-forward (CEST, UTC+2): 06:00 local is 04:00 UTC.
        pytest.param(
            datetime(2025, 3, 31, 3, 45, tzinfo=UTC),
            "night",
            WINTER_NIGHT,
            id="dst-mon-05:45-cest-night",
        ),
        pytest.param(
            datetime(2025, 3, 31, 4, 0, tzinfo=UTC), "day", WINTER_DAY, id="dst-mon-06:00-cest-day"
        ),
        # The Monday before (CET, UTC+1): 04:00 UTC is still 05:00 local.
        pytest.param(
            datetime(2025, 3, 24, 4, 0, tzinfo=UTC), "night", WINTER_NIGHT, id="cet-mon-05:00-night"
        ),
    ],
)
def test_grid_energy_tariff_follows_oslo_wall_clock(
    start_at: datetime, period: str, energiledd: float
) -> None:
    got = price(spot(start_at, 50.0, length=QUARTER), household("none"))
    assert got.grid_period == period
    assert got.grid_energy.ex_vat == energiledd


@pytest.mark.parametrize(
    ("start_at", "elavgift", "threshold_hit"),
    [
        pytest.param(
            datetime(2024, 2, 14, 11, tzinfo=UTC), 9.51, 0.9 * (100 - 73), id="2024-feb-reduced"
        ),
        # 2024-03-31 23:00 CEST is still March; the next hour is 1 April local time.
        pytest.param(
            datetime(2024, 3, 31, 21, tzinfo=UTC),
            9.51,
            0.9 * (100 - 73),
            id="2024-03-31-23:00-local",
        ),
        pytest.param(
            datetime(2024, 3, 31, 22, tzinfo=UTC),
            16.44,
            0.9 * (100 - 73),
            id="2024-04-01-00:00-local",
        ),
        pytest.param(
            datetime(2024, 12, 31, 22, tzinfo=UTC),
            16.44,
            0.9 * (100 - 73),
            id="2024-12-31-23:00-local",
        ),
        pytest.param(
            datetime(2024, 12, 31, 23, tzinfo=UTC),
            16.93,
            0.9 * (100 - 75),
            id="2025-01-01-00:00-local",
        ),
        pytest.param(datetime(2025, 6, 11, 10, tzinfo=UTC), 16.93, 0.9 * (100 - 75), id="2025-jun"),
        pytest.param(
            datetime(2026, 6, 10, 10, tzinfo=UTC), 16.93, 0.9 * (100 - 75), id="2026-jun-assumed"
        ),
    ],
)
def test_rules_are_chosen_by_the_oslo_date_of_the_slot(
    start_at: datetime, elavgift: float, threshold_hit: float
) -> None:
    got = price(spot(start_at, 100.0))
    assert got.elavgift.ex_vat == pytest.approx(elavgift)
    assert got.support_credit.ex_vat == pytest.approx(threshold_hit)


def test_2026_prices_say_that_their_tax_and_threshold_are_assumed() -> None:
    got = price(spot(datetime(2026, 6, 10, 10, tzinfo=UTC), 100.0))
    assert "elavgift[2026-01-01, 2027-01-01) (assumed)" in got.assumed_rules
    assert "stromstotte[2026-01-01, 2027-01-01) (assumed)" in got.assumed_rules


def test_a_date_no_rule_covers_is_an_error_not_a_guess() -> None:
    with pytest.raises(NoRuleError, match="no vat rule covers 2023-12-31"):
        price(spot(datetime(2023, 12, 31, 10, tzinfo=UTC), 100.0))


def test_an_unknown_grid_tariff_is_named() -> None:
    profile = ConsumerProfile(zone="NO1", county="Oslo", grid_tariff_id="elvia")
    with pytest.raises(NoRuleError, match="unknown grid tariff 'elvia'"):
        price(spot(WINTER_NOON, 100.0), profile)


class TestQuarterHours:
    def test_support_is_based_on_the_hourly_mean_of_the_quarters(self) -> None:
        quarters = [
            spot(WINTER_NOON + i * QUARTER, p, length=QUARTER)
            for i, p in enumerate((70, 80, 90, 100))
        ]
        got = consumer_prices(quarters, household(), RULES, month_consumption_kwh=0.0)
        # Hourly mean 85 øre: (85 − 75) × 0.9 × 1.25 for every quarter, even the 70-øre one.
        assert [b.support_basis_ore_per_kwh for b in got] == [85.0] * 4
        assert [b.support_credit.inc_vat for b in got] == pytest.approx([11.25] * 4)
        assert [b.spot.ex_vat for b in got] == [70, 80, 90, 100]

    def test_a_lone_quarter_cannot_be_priced_without_its_hourly_mean(self) -> None:
        with pytest.raises(ValueError, match="hourly_mean_spot_ore_per_kwh"):
            price(spot(WINTER_NOON, 100.0, length=QUARTER))

    def test_a_lone_quarter_without_support_needs_no_hourly_mean(self) -> None:
        got = price(spot(WINTER_NOON, 100.0, length=QUARTER), household("none"))
        assert got.total.ex_vat == pytest.approx(100.0 + WINTER_DAY + 16.93 + 1.0)

    def test_the_fall_back_day_has_100_quarters_and_two_separate_two_oclock_hours(self) -> None:
        start = datetime(2025, 10, 25, 22, tzinfo=UTC)  # 2025-10-26 00:00 CEST
        end = datetime(2025, 10, 26, 23, tzinfo=UTC)  # 2025-10-27 00:00 CET
        slots = []
        at, i = start, 0
        while at < end:
            slots.append(spot(at, 60.0 + i, length=QUARTER))
            at, i = at + QUARTER, i + 1
        got = consumer_prices(slots, household(), RULES, month_consumption_kwh=0.0)

        assert len(got) == 100
        assert {b.grid_period for b in got} == {"night"}  # a Sunday
        # Local 02:00–03:00 happens at 00:00Z (CEST) and again at 01:00Z (CET).
        first_two_am = [b.support_basis_ore_per_kwh for b in got[8:12]]
        second_two_am = [b.support_basis_ore_per_kwh for b in got[12:16]]
        assert first_two_am == [69.5] * 4
        assert second_two_am == [73.5] * 4
        assert got[-1].support_credit.inc_vat == pytest.approx(0.9 * (157.5 - 75) * 1.25)

    def test_a_plan_reaching_into_next_month_starts_that_month_below_the_cap(self) -> None:
        last_hour = datetime(2025, 1, 31, 22, tzinfo=UTC)  # 23:00 on 31 January in Oslo
        got = consumer_prices(
            [spot(last_hour, 200.0), spot(last_hour + HOUR, 200.0)],
            household(),
            RULES,
            month_consumption_kwh=6000.0,
        )
        assert [b.support_applies for b in got] == [False, True]


def test_the_shared_spot_price_contract_is_accepted_as_is() -> None:
    slot = SpotPriceSlot.model_validate(
        {
            "start_at": "2025-11-12T13:00:00+01:00",
            "end_at": "2025-11-12T14:00:00+01:00",
            "price_eur_per_mwh": 50.0,
            "price_nok_ore_per_kwh": 58.5,
        }
    )
    got = price(slot, household("none"))
    assert got.start_at == datetime(2025, 11, 12, 12, tzinfo=UTC)
    assert got.spot.ex_vat == 58.5


def test_a_listed_public_holiday_is_priced_at_the_night_rate() -> None:
    tariff = RULES.grid_tariff_on("example-dso", date(2025, 5, 1))
    with_holidays = replace(tariff, holidays=frozenset({date(2025, 5, 1)}))
    rules = replace(RULES, grid={"example-dso": (with_holidays,)})
    thursday_noon = datetime(2025, 5, 1, 10, tzinfo=UTC)
    assert price(spot(thursday_noon, 50.0), rules=RULES).grid_period == "day"
    assert price(spot(thursday_noon, 50.0), rules=rules).grid_period == "night"
    assert price(spot(thursday_noon, 50.0), rules=rules).grid_energy.ex_vat == SUMMER_NIGHT
