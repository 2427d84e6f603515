import numpy as np

from tc_forecast.domain.prices.naive_blend import MIN_BLEND_DAYS, blend, model_weight


def test_a_model_that_was_right_keeps_all_the_weight() -> None:
    rng = np.random.default_rng(1)
    actual = rng.normal(50, 10, (28, 24))
    naive = actual + rng.normal(0, 15, (28, 24))
    assert model_weight(actual, actual.copy(), naive) == 1.0


def test_a_model_worse_than_last_week_leans_on_the_naive() -> None:
    rng = np.random.default_rng(2)
    actual = rng.normal(50, 10, (28, 24))
    naive = actual + rng.normal(0, 2, (28, 24))
    model = actual + 30.0  # a level the market left
    assert model_weight(actual, model, naive) <= 0.1


def test_errors_of_opposite_sign_are_averaged_out() -> None:
    actual = np.full((14, 24), 50.0)
    assert model_weight(actual, actual + 10.0, actual - 10.0) == 0.5


def test_too_few_known_days_leave_the_model_alone() -> None:
    actual = np.zeros((MIN_BLEND_DAYS - 1, 24))
    assert model_weight(actual, actual + 100.0, actual) == 1.0


def test_blend_mixes_linearly() -> None:
    out = blend(np.full(24, 10.0), np.full(24, 20.0), 0.3)
    assert np.allclose(out, 17.0)
