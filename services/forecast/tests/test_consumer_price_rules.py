"""Rule files: the bundled one covers 2024–2026 without holes, and a file that overlaps,
leaves a gap or misses a field is refused at load with the rule named."""

from datetime import date, timedelta
from pathlib import Path

import pytest

from tc_forecast.adapters.tariff_rules import (
    RuleFileError,
    load_bundled_tariff_rules,
    load_tariff_rules_file,
    parse_tariff_rules,
)
from tc_forecast.domain.consumer_price import (
    ElectricityTaxRule,
    EnovaFeeRule,
    NoRuleError,
    RuleBookError,
    TariffRules,
    VatRule,
)

GRID = """
[[grid_tariff]]
tariff_id = "t"
name = "T"
valid_from = 2024-01-01
{grid_extra}
[[grid_tariff.season]]
name = "all year"
months = {months}
day_ore_per_kwh_ex_vat = 30
night_ore_per_kwh_ex_vat = 20
{steps}
"""
STEPS = """
[[grid_tariff.capacity_step]]
from_kw = 0
to_kw = 5
nok_per_month_ex_vat = 200
[[grid_tariff.capacity_step]]
from_kw = 5
nok_per_month_ex_vat = 400
"""
ELAVGIFT_2024 = """
[[elavgift]]
valid_from = 2024-01-01
valid_to = 2024-04-01
ore_per_kwh_ex_vat = 9.51
[[elavgift]]
valid_from = 2024-04-01
valid_to = 2025-01-01
ore_per_kwh_ex_vat = 16.44
"""


def rule_file(
    elavgift: str = ELAVGIFT_2024,
    *,
    vat: str = "[[vat]]\nvalid_from = 2024-01-01\nrate = 0.25\n",
    grid_extra: str = "",
    months: str = "[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]",
    steps: str = STEPS,
) -> str:
    enova = "[[enova]]\nvalid_from = 2024-01-01\nore_per_kwh_ex_vat = 1.0\n"
    grid = GRID.format(grid_extra=grid_extra, months=months, steps=steps)
    return vat + elavgift + enova + grid


def test_a_minimal_file_loads() -> None:
    rules = parse_tariff_rules(rule_file())
    assert rules.elavgift_on(date(2024, 3, 31)).ore_per_kwh_ex_vat == 9.51
    assert rules.elavgift_on(date(2024, 4, 1)).ore_per_kwh_ex_vat == 16.44
    with pytest.raises(NoRuleError, match="no elavgift rule covers 2025-01-01"):
        rules.elavgift_on(date(2025, 1, 1))


def test_the_bundled_rules_cover_every_day_of_2024_to_2026() -> None:
    rules = load_bundled_tariff_rules()
    day = date(2024, 1, 1)
    while day < date(2027, 1, 1):
        rules.vat_on(day)
        rules.elavgift_on(day)
        rules.enova_on(day)
        rules.stromstotte_on(day)
        rules.grid_tariff_on("example-dso", day)
        if day >= date(2025, 10, 1):
            rules.norgespris_on(day)
        day += timedelta(days=1)


@pytest.mark.parametrize(
    ("day", "elavgift", "threshold", "assumed"),
    [
        pytest.param(date(2024, 1, 1), 9.51, 73.0, False, id="2024-q1"),
        pytest.param(date(2024, 4, 1), 16.44, 73.0, False, id="2024-apr"),
        pytest.param(date(2025, 2, 1), 16.93, 75.0, True, id="2025-q1-reduced-rate-unknown"),
        pytest.param(date(2025, 8, 1), 16.93, 75.0, False, id="2025-aug"),
        pytest.param(date(2026, 8, 1), 16.93, 75.0, True, id="2026-carried-forward"),
    ],
)
def test_bundled_elavgift_and_stromstotte_by_date(
    day: date, elavgift: float, threshold: float, assumed: bool
) -> None:
    rules = load_bundled_tariff_rules()
    tax = rules.elavgift_on(day)
    assert tax.ore_per_kwh_ex_vat == elavgift
    assert tax.assumed is assumed
    assert rules.stromstotte_on(day).threshold_ore_per_kwh_ex_vat == threshold


def test_the_bundled_grid_tariff_is_marked_as_an_example() -> None:
    tariff = load_bundled_tariff_rules().grid_tariff_on("example-dso", date(2025, 1, 1))
    assert tariff.example
    assert [(b.from_kw, b.to_kw) for b in tariff.capacity_bands][:6] == [
        (0, 2),
        (2, 5),
        (5, 10),
        (10, 15),
        (15, 20),
        (20, 25),
    ]


@pytest.mark.parametrize(
    ("elavgift", "message"),
    [
        pytest.param(
            ELAVGIFT_2024.replace("valid_to = 2024-04-01", "valid_to = 2024-06-01"),
            r"overlapping elavgift rules: elavgift\[2024-01-01, 2024-06-01\) and "
            r"elavgift\[2024-04-01, 2025-01-01\)",
            id="overlap",
        ),
        pytest.param(
            ELAVGIFT_2024.replace("valid_from = 2024-04-01", "valid_from = 2024-05-01"),
            r"gap in elavgift rules: no rule covers 2024-04-01 to 2024-05-01",
            id="gap",
        ),
        pytest.param(
            ELAVGIFT_2024.replace("valid_to = 2024-04-01\n", ""),
            r"overlapping elavgift rules: elavgift\[2024-01-01, …\)",
            id="open-ended-then-another",
        ),
        pytest.param(
            ELAVGIFT_2024.replace("valid_from = 2024-04-01\n", ""),
            r"elavgift\[1\]: missing 'valid_from'",
            id="missing-valid-from",
        ),
        pytest.param(
            ELAVGIFT_2024.replace("valid_to = 2024-04-01", "valid_to = 2023-04-01"),
            r"elavgift\[2024-01-01, 2023-04-01\): valid_to must be after valid_from",
            id="ends-before-it-starts",
        ),
        pytest.param(
            ELAVGIFT_2024.replace("valid_from = 2024-04-01", 'valid_from = "April"'),
            r"elavgift\[1\]: 'valid_from' must be a date",
            id="date-as-text",
        ),
        pytest.param(
            ELAVGIFT_2024.replace("ore_per_kwh_ex_vat = 9.51", "ore_per_kwh = 9.51"),
            r"elavgift\[0\]: unknown key\(s\) ore_per_kwh",
            id="typo-in-a-key",
        ),
        pytest.param("", r"no elavgift rules configured", id="none-at-all"),
    ],
)
def test_contradictory_or_incomplete_rules_are_refused_at_load(elavgift: str, message: str) -> None:
    with pytest.raises(RuleFileError, match=message):
        parse_tariff_rules(rule_file(elavgift), origin="rules.toml")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        pytest.param(
            {"months": "[1, 2, 3]"}, "seasons must cover months 1–12", id="months-missing"
        ),
        pytest.param(
            {"steps": STEPS.replace("from_kw = 5", "from_kw = 6")},
            "capacity steps must be contiguous",
            id="capacity-gap",
        ),
        pytest.param(
            {
                "steps": STEPS + "[[grid_tariff.capacity_step]]\nfrom_kw = 9\nto_kw = 12\n"
                "nok_per_month_ex_vat = 1\n"
            },
            "capacity steps must be contiguous",
            id="step-after-open-step",
        ),
        pytest.param({"steps": ""}, "capacity steps must start at 0 kW", id="no-steps"),
        pytest.param(
            {"grid_extra": "day_start_hour = 22\nday_end_hour = 6"},
            "day hours",
            id="day-ends-before-it-starts",
        ),
        pytest.param(
            {"grid_extra": 'peak_days = "three"'}, "'peak_days' must be an integer", id="bad-type"
        ),
    ],
)
def test_a_malformed_grid_tariff_is_refused(kwargs: dict[str, str], message: str) -> None:
    with pytest.raises(RuleFileError, match=message):
        parse_tariff_rules(rule_file(**kwargs))


def test_errors_name_the_file(tmp_path: Path) -> None:
    path = tmp_path / "my-dso.toml"
    path.write_text(rule_file(vat=""), encoding="utf-8")
    with pytest.raises(RuleFileError, match=r"my-dso\.toml: no vat rules configured"):
        load_tariff_rules_file(path)


def test_an_operators_file_with_holidays_loads(tmp_path: Path) -> None:
    path = tmp_path / "dso.toml"
    path.write_text(rule_file(grid_extra="holidays = [2025-05-01, 2025-05-17]"), encoding="utf-8")
    tariff = load_tariff_rules_file(path).grid_tariff_on("t", date(2024, 6, 1))
    assert tariff.holidays == frozenset({date(2025, 5, 1), date(2025, 5, 17)})


def test_invalid_toml_is_reported() -> None:
    with pytest.raises(RuleFileError, match="not valid TOML"):
        parse_tariff_rules("[[vat]\n")


def test_the_domain_refuses_overlapping_rules_without_any_file() -> None:
    with pytest.raises(RuleBookError, match="overlapping vat rules"):
        TariffRules(
            vat=(
                VatRule(valid_from=date(2024, 1, 1), rate=0.25),
                VatRule(valid_from=date(2025, 1, 1), rate=0.25),
            ),
            elavgift=(ElectricityTaxRule(valid_from=date(2024, 1, 1), ore_per_kwh_ex_vat=1.0),),
            enova=(EnovaFeeRule(valid_from=date(2024, 1, 1), ore_per_kwh_ex_vat=1.0),),
            grid=load_bundled_tariff_rules().grid,
        )
