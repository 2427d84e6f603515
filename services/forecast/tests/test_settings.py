"""Settings come from ``FORECAST_*`` environment variables, with working defaults."""

from datetime import date

import pytest
from pydantic import ValidationError

from tc_forecast.adapters.calendar import public_holidays
from tc_forecast.settings import ForecastSettings


def test_defaults_serve_on_port_8103_with_a_one_percent_step() -> None:
    settings = ForecastSettings()
    assert (settings.http.port, settings.soc_step_pct) == (8103, 1.0)


def test_environment_sets_step_broker_and_port(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FORECAST_SOC_STEP_PCT", "2.5")
    monkeypatch.setenv("FORECAST_KAFKA__BOOTSTRAP_SERVERS", "127.0.0.1:19092")
    monkeypatch.setenv("FORECAST_HTTP__PORT", "18103")
    settings = ForecastSettings()
    assert (settings.soc_step_pct, settings.kafka.bootstrap_servers, settings.http.port) == (
        2.5,
        "127.0.0.1:19092",
        18103,
    )


def test_a_step_of_zero_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FORECAST_SOC_STEP_PCT", "0")
    with pytest.raises(ValidationError, match="soc_step_pct"):
        ForecastSettings()


def test_public_holidays_default_to_norway_and_can_be_turned_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert date(2027, 5, 17) in public_holidays(ForecastSettings().holiday_country)
    assert date(2027, 5, 18) not in public_holidays(ForecastSettings().holiday_country)
    monkeypatch.setenv("FORECAST_HOLIDAY_COUNTRY", "none")
    assert date(2027, 5, 17) not in public_holidays(ForecastSettings().holiday_country)


def test_an_unknown_holiday_country_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FORECAST_HOLIDAY_COUNTRY", "XX")
    with pytest.raises(ValidationError, match="no public holiday calendar for 'XX'"):
        ForecastSettings()
