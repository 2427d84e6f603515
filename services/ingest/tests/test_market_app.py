"""Market settings from the environment and the market topics in the AsyncAPI document."""

import json

import pytest

from tc_common.topics import (
    EXCHANGE_RATES_PUBLISHED_V1,
    SPOT_PRICES_PUBLISHED_V1,
    WEATHER_FORECAST_PUBLISHED_V1,
)
from tc_ingest.main import create_app
from tc_ingest.settings import IngestSettings

from .support import TOKEN


def test_market_and_weather_settings_are_read_from_nested_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("INGEST_TESSIE__TOKEN", TOKEN)
    monkeypatch.setenv("INGEST_MARKET__ZONES", '["NO3","SE3"]')
    monkeypatch.setenv("INGEST_MARKET__ENTSOE_TOKEN", "entsoe-token-abcdef")
    monkeypatch.setenv("INGEST_MARKET__ENTSOE_BASE_URL", "http://127.0.0.1:9999/entsoe/api")
    monkeypatch.setenv("INGEST_MARKET__BACKFILL_DAYS", "14")
    monkeypatch.setenv("INGEST_WEATHER__USER_AGENT", "acme-ingest/2.0 ops@acme.test")
    monkeypatch.setenv(
        "INGEST_WEATHER__HOMES", '[{"id":"home:VIN1","latitude_deg":59.9,"longitude_deg":10.7}]'
    )

    settings = IngestSettings()

    assert settings.market.zones == ["NO3", "SE3"]
    assert settings.market.entsoe_token is not None
    assert settings.market.entsoe_token.get_secret_value() == "entsoe-token-abcdef"
    assert "entsoe-token-abcdef" not in repr(settings)
    assert settings.market.backfill_days == 14
    assert settings.weather.homes[0].id == "home:VIN1"


def test_the_defaults_poll_the_norwegian_zones_from_the_real_hosts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("INGEST_TESSIE__TOKEN", TOKEN)

    settings = IngestSettings()

    assert settings.market.enabled
    assert settings.market.zones == ["NO1", "NO2", "NO3", "NO4", "NO5"]
    assert settings.market.entsoe_token is None
    assert settings.market.entsoe_base_url == "https://web-api.tp.entsoe.eu/api"
    assert settings.weather.met_base_url == "https://api.met.no"
    assert settings.market.backfill_days == 60


def test_a_placeholder_entsoe_token_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INGEST_TESSIE__TOKEN", TOKEN)
    monkeypatch.setenv("INGEST_MARKET__ENTSOE_TOKEN", "changeme")

    with pytest.raises(ValueError, match="placeholder"):
        IngestSettings()


@pytest.mark.parametrize("enabled", [True, False])
def test_the_asyncapi_document_lists_the_market_topics(enabled: bool) -> None:
    settings = IngestSettings(
        tessie={"token": TOKEN, "base_url": "http://127.0.0.1:9"},
        kafka={"bootstrap_servers": "127.0.0.1:9"},
        market={"enabled": enabled},
        weather={"enabled": enabled},
    )

    document = json.loads(create_app(settings).schema.to_specification().to_json())

    addresses = {c.get("address") for c in document["channels"].values()}
    assert {
        SPOT_PRICES_PUBLISHED_V1,
        EXCHANGE_RATES_PUBLISHED_V1,
        WEATHER_FORECAST_PUBLISHED_V1,
    } <= addresses
    schemas = document["components"]["schemas"]
    assert {"SpotPricesPublished", "ExchangeRatesPublished", "WeatherForecastPublished"} <= set(
        schemas
    )
