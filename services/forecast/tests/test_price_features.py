import numpy as np
import pytest

from tc_forecast.domain.prices.ensemble import EnsembleConfig, calibrate, combine, predict_members
from tc_forecast.domain.prices.features import DailyMarket, lear_features
from tc_forecast.domain.prices.frames import daily_market
from tc_forecast.domain.prices.synthetic import synthetic_market
from tc_forecast.domain.prices.transforms import AsinhScaler


def _market() -> DailyMarket:
    market, _ = daily_market(synthetic_market(days=90))
    return market


def _perturbed_from(market: DailyMarket, day: int, exog_after: int) -> DailyMarket:
    prices = market.prices.copy()
    prices[day:] += 1000.0
    exog = market.exog.copy()
    exog[exog_after:] *= 3.0
    return DailyMarket(prices, exog, market.weekday)


@pytest.mark.parametrize("horizon", [0, 1, 6])
def test_features_for_a_day_never_read_prices_of_that_day_or_later(horizon: int) -> None:
    market = _market()
    origin = 60
    changed = _perturbed_from(market, origin, exog_after=origin + 1)
    before = lear_features(market, np.array([origin]), horizon)
    after = lear_features(changed, np.array([origin]), horizon)
    np.testing.assert_array_equal(before, after)


def test_features_do_change_when_yesterdays_price_changes() -> None:
    market = _market()
    changed = _perturbed_from(market, 59, exog_after=90)
    assert not np.array_equal(
        lear_features(market, np.array([60])), lear_features(changed, np.array([60]))
    )


def test_features_use_the_origin_days_own_exogenous_forecast() -> None:
    market = _market()
    changed = _perturbed_from(market, 90, exog_after=60)
    assert not np.array_equal(
        lear_features(market, np.array([60])), lear_features(changed, np.array([60]))
    )


@pytest.mark.parametrize("horizon", [0, 2])
def test_whole_ensemble_forecast_is_unchanged_by_prices_from_the_origin_on(horizon: int) -> None:
    market = _market()
    origin = 75
    config = EnsembleConfig(lear_windows_days=(21, 40), gbm_window_days=50, gbm_rounds=40)
    changed = _perturbed_from(market, origin, exog_after=origin + 1)
    forecasts = []
    for m in (market, changed):
        cal = calibrate(m, origin, config, None, horizon_days=horizon)
        forecasts.append(combine(predict_members(cal, m, origin), config))
    np.testing.assert_allclose(forecasts[0], forecasts[1])


def test_feature_row_holds_lagged_prices_exogenous_and_one_weekday_dummy() -> None:
    market = _market()
    row = lear_features(market, np.array([30]))[0]
    assert row.shape == (96 + 2 * 72 + 7,)
    np.testing.assert_array_equal(row[:24], market.prices[29])
    np.testing.assert_array_equal(row[72:96], market.prices[23])
    np.testing.assert_array_equal(row[96:120], market.exog[30, :, 0])
    assert row[-7:].sum() == 1.0
    assert row[-7:][market.weekday[30]] == 1.0


def test_asinh_transform_round_trips_including_negative_prices_and_spikes() -> None:
    values = np.array([[-50.0, 0.0], [10.0, 3.0], [35.5, 7.0], [2500.0, 9.0]])
    scaler = AsinhScaler.fit(values)
    # atol: a value of exactly 0 comes back within float rounding (seen: 8.9e-16), and no
    # relative tolerance admits any difference from 0.
    np.testing.assert_allclose(
        scaler.inverse(scaler.transform(values)), values, rtol=1e-12, atol=1e-9
    )


def test_asinh_transform_centres_on_the_median() -> None:
    values = np.array([[1.0], [2.0], [3.0], [100.0], [5.0]])
    scaler = AsinhScaler.fit(values)
    assert scaler.median[0] == 3.0
    assert scaler.transform(np.array([[3.0]]))[0, 0] == 0.0
