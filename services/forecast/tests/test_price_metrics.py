import math

import pytest

from tc_forecast.domain.prices import metrics

ACTUAL = [10.0, 20.0, -5.0, 0.0]
FORECAST = [12.0, 17.0, -5.0, 0.0]


def test_mae_is_the_mean_absolute_error() -> None:
    assert metrics.mae(ACTUAL, FORECAST) == pytest.approx((2 + 3 + 0 + 0) / 4)


def test_rmse_is_the_root_mean_squared_error() -> None:
    assert metrics.rmse(ACTUAL, FORECAST) == pytest.approx(math.sqrt((4 + 9) / 4))


def test_smape_follows_epftoolbox_and_counts_zero_over_zero_as_no_error() -> None:
    expected = 100 * (2 * 2 / 22 + 2 * 3 / 37 + 0 + 0) / 4
    assert metrics.smape_pct(ACTUAL, FORECAST) == pytest.approx(expected)


def test_rmae_divides_by_the_naive_forecasts_mae() -> None:
    naive = [0.0, 0.0, 0.0, 0.0]  # MAE 35/4
    assert metrics.rmae(ACTUAL, FORECAST, naive) == pytest.approx((5 / 4) / (35 / 4))


def test_pinball_loss_weighs_under_and_over_forecasts_by_the_quantile() -> None:
    # y - q = +2 (under) costs 0.9*2; y - q = -2 (over) costs 0.1*2
    assert metrics.pinball_loss([12.0, 8.0], [10.0, 10.0], 0.9) == pytest.approx((1.8 + 0.2) / 2)


def test_interval_coverage_counts_values_on_the_bounds_as_inside() -> None:
    assert metrics.interval_coverage([1.0, 5.0, 9.0, 10.0], [1.0, 1.0, 1.0, 1.0], [9.0] * 4) == 0.75


def test_metrics_refuse_mismatched_shapes() -> None:
    with pytest.raises(ValueError, match="shape"):
        metrics.mae([1.0, 2.0], [1.0])
