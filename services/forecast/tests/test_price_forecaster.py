import numpy as np
import pandas as pd
import pytest

from tc_forecast.domain.prices.ensemble import EnsembleConfig
from tc_forecast.domain.prices.forecaster import PriceForecaster
from tc_forecast.domain.prices.synthetic import synthetic_market

SMALL = EnsembleConfig(lear_windows_days=(21, 40), gbm_window_days=60, gbm_rounds=40)


def test_horizon_forecast_starts_at_the_first_unpublished_day_with_ordered_quantiles() -> None:
    history = synthetic_market(days=100)
    forecaster = PriceForecaster(config=SMALL, horizon_days=2, backtest_days=12).fit(history)
    band = forecaster.predict_horizon()
    assert len(band) == 2 * 24
    assert band.index[0] == history.index[-1] + pd.Timedelta(hours=1)
    assert (band["p10"] <= band["p50"]).all()
    assert (band["p50"] <= band["p90"]).all()
    assert (band["p90"] > band["p10"]).any()


def test_day_ahead_forecast_is_close_to_a_learnable_synthetic_market() -> None:
    full = synthetic_market(days=101)
    history = full.copy()
    history.loc[history.index >= history.index[-24], "price"] = np.nan  # tomorrow: exog only
    day = PriceForecaster(config=SMALL, horizon_days=1, backtest_days=14).fit(history).predict_day()
    actual = full["price"].iloc[-24:].to_numpy()
    naive = full["price"].iloc[-24 - 7 * 24 : -7 * 24].to_numpy()
    assert np.mean(np.abs(day["p50"].to_numpy() - actual)) < np.mean(np.abs(naive - actual))


def test_quarter_hour_history_is_averaged_to_hours() -> None:
    hourly = synthetic_market(days=100)
    quarter = (
        hourly.resample("15min")
        .ffill()
        .reindex(
            pd.date_range(
                hourly.index[0], hourly.index[-1] + pd.Timedelta(minutes=45), freq="15min"
            )
        )
        .ffill()
    )
    a = PriceForecaster(config=SMALL, horizon_days=1, backtest_days=4).fit(hourly).predict_day()
    b = PriceForecaster(config=SMALL, horizon_days=1, backtest_days=4).fit(quarter).predict_day()
    np.testing.assert_allclose(a.to_numpy(), b.to_numpy(), rtol=1e-6)


def test_fit_refuses_a_history_too_short_to_build_the_lags() -> None:
    with pytest.raises(ValueError, match="history"):
        PriceForecaster(config=SMALL, horizon_days=1).fit(synthetic_market(days=10))
