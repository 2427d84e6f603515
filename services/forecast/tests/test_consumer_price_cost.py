"""What a whole charge plan costs, split at the support cap, with its capacity increment."""

from datetime import UTC, datetime, timedelta

import pytest

from tc_common.events.market import SpotPriceSlot
from tc_forecast.adapters.tariff_rules import load_bundled_tariff_rules
from tc_forecast.domain.consumer_price import (
    ConsumerProfile,
    SupportScheme,
    charge_cost,
    consumer_price,
)

RULES = load_bundled_tariff_rules()
QUARTER = timedelta(minutes=15)
HOUR = timedelta(hours=1)
# Thursday 2025-01-16 01:00 in Oslo: winter night tariff 18 øre.
NIGHT = datetime(2025, 1, 16, 0, tzinfo=UTC)


def house(scheme: SupportScheme = "stromstotte", county: str = "Oslo") -> ConsumerProfile:
    return ConsumerProfile(
        zone="NO1",
        county=county,
        grid_tariff_id="example-dso",
        supplier_markup_ore_per_kwh_ex_vat=2.0,
        support_scheme=scheme,
    )


def hours(*ore: float) -> list[SpotPriceSlot]:
    return [
        SpotPriceSlot(
            start_at=NIGHT + i * HOUR,
            end_at=NIGHT + (i + 1) * HOUR,
            price_eur_per_mwh=p / 11.5 * 10,
            price_nok_ore_per_kwh=p,
        )
        for i, p in enumerate(ore)
    ]


def test_ten_kwh_in_one_night_hour_cost_ten_times_the_kwh_price() -> None:
    slots = hours(100.0)
    got = charge_cost(slots, {NIGHT: 10.0}, house(), RULES, month_consumption_kwh=0.0)
    per_kwh = (100 + 2 + 18 + 16.93 + 1) * 1.25 - 0.9 * (100 - 75) * 1.25
    assert got.energy_kwh == 10.0
    assert got.total_nok == pytest.approx(10 * per_kwh / 100)
    assert got.spot_nok == pytest.approx(10.0)
    assert got.grid_energy_nok == pytest.approx(1.8)
    assert got.elavgift_nok == pytest.approx(1.693)
    assert got.enova_nok == pytest.approx(0.1)
    assert got.support_credit_nok == pytest.approx(10 * 28.125 / 100)
    assert got.capacity_nok is None


@pytest.mark.parametrize(
    ("scheme", "county"),
    [
        pytest.param("stromstotte", "Oslo", id="stromstotte-oslo"),
        pytest.param("norgespris", "Oslo", id="norgespris-oslo"),
        pytest.param("none", "Oslo", id="none-oslo"),
        pytest.param("stromstotte", "Finnmark", id="stromstotte-finnmark"),
    ],
)
def test_components_add_up_to_the_energy_cost(scheme: SupportScheme, county: str) -> None:
    start = datetime(2025, 11, 13, 0, tzinfo=UTC)
    slots = [
        SpotPriceSlot(
            start_at=start + i * QUARTER,
            end_at=start + (i + 1) * QUARTER,
            price_eur_per_mwh=0.0,
            price_nok_ore_per_kwh=p,
        )
        for i, p in enumerate((20.0, 35.0, 140.0, 160.0, 90.0, 80.0, 85.0, 95.0))
    ]
    plan = {s.start_at: 2.75 for s in slots}
    got = charge_cost(slots, plan, house(scheme, county), RULES, month_consumption_kwh=100.0)
    parts = got.spot_nok + got.markup_nok + got.grid_energy_nok + got.elavgift_nok + got.enova_nok
    assert got.energy_cost_nok == pytest.approx(parts + got.vat_nok - got.support_credit_nok)
    assert got.energy_cost_nok == pytest.approx(sum(line.cost_nok for line in got.lines))


def test_a_slot_crossing_the_support_cap_is_split() -> None:
    slots = hours(200.0, 200.0)
    got = charge_cost(
        slots, {s.start_at: 10.0 for s in slots}, house(), RULES, month_consumption_kwh=4995.0
    )
    supported = consumer_price(slots[0], house(), RULES, month_consumption_kwh=0.0)
    unsupported = consumer_price(slots[0], house(), RULES, month_consumption_kwh=5000.0)
    assert [line.supported_kwh for line in got.lines] == [5.0, 0.0]
    expected_ore = 5 * supported.total.inc_vat + 15 * unsupported.total.inc_vat
    assert got.energy_cost_nok == pytest.approx(expected_ore / 100)
    assert got.support_credit_nok == pytest.approx(5 * supported.support_credit.inc_vat / 100)


def test_the_capacity_increment_is_added_when_the_households_load_is_known() -> None:
    slots = hours(50.0, 50.0, 50.0)
    evenings = {datetime(2025, 1, d, 16, tzinfo=UTC): 3.0 for d in range(1, 16)}
    fast = charge_cost(
        slots,
        {NIGHT: 11.0},
        house(),
        RULES,
        month_consumption_kwh=0.0,
        existing_load_kw_by_hour=evenings,
    )
    assert fast.capacity_nok == pytest.approx((350 - 210) * 1.25)
    assert fast.capacity_nok is not None
    assert fast.total_nok == pytest.approx(fast.energy_cost_nok + fast.capacity_nok)

    slow = charge_cost(
        slots,
        {s.start_at: 11.0 / 3 for s in slots},
        house(),
        RULES,
        month_consumption_kwh=0.0,
        existing_load_kw_by_hour=evenings,
    )
    assert slow.capacity_nok == 0.0


def test_quarter_hour_energy_is_summed_per_hour_for_the_capacity_step() -> None:
    start = NIGHT
    slots = [
        SpotPriceSlot(
            start_at=start + i * QUARTER,
            end_at=start + (i + 1) * QUARTER,
            price_eur_per_mwh=0.0,
            price_nok_ore_per_kwh=50.0,
        )
        for i in range(8)
    ]
    # 2.75 kWh in each quarter of one hour = 11 kW for that hour.
    plan = {s.start_at: 2.75 for s in slots[:4]}
    got = charge_cost(
        slots, plan, house(), RULES, month_consumption_kwh=0.0, existing_load_kw_by_hour={}
    )
    assert got.capacity_nok == pytest.approx((520 - 130) * 1.25)  # 11 kW alone: 10–15 kW


def test_energy_for_an_unpriced_slot_is_rejected() -> None:
    with pytest.raises(ValueError, match="unpriced slot"):
        charge_cost(hours(50.0), {NIGHT + HOUR: 5.0}, house(), RULES, month_consumption_kwh=0.0)


def test_negative_energy_is_rejected() -> None:
    with pytest.raises(ValueError, match="non-negative"):
        charge_cost(hours(50.0), {NIGHT: -1.0}, house(), RULES, month_consumption_kwh=0.0)


def test_assumed_rules_used_by_the_plan_are_reported() -> None:
    got = charge_cost(hours(50.0), {NIGHT: 1.0}, house(), RULES, month_consumption_kwh=0.0)
    assert "elavgift[2025-01-01, 2025-04-01) (assumed)" in got.assumed_rules
