"""Per-user recalibration of the departure risk from the user's earlier sessions."""

from datetime import UTC, datetime

import numpy as np
import pytest

from tc_forecast.domain.behaviour.departure import DepartureDistribution
from tc_forecast.domain.planner.calibration import RiskCalibration, conditional_pits

T0 = datetime(2026, 1, 12, 18, 0, tzinfo=UTC)


def uniform_hours(n: int) -> DepartureDistribution:
    """Departures at 1..n hours after plug-in, equally likely."""
    return DepartureDistribution(T0, np.arange(1.0, n + 1.0), np.ones(n))


def test_conditional_pits_are_taken_each_hour_given_still_plugged_in() -> None:
    dist = uniform_hours(10)
    # Left after 4 h: at k = 0 the PIT is 4/10; at k = 1 it is (4-1)/(10-1); and so on.
    pits = conditional_pits(dist, 4.0)
    assert pits == pytest.approx([0.4, 3 / 9, 2 / 8, 1 / 7])


def test_conditional_pits_stop_after_the_calibration_horizon() -> None:
    assert len(conditional_pits(uniform_hours(20), 15.0, max_h=6.0)) == 6


def test_without_earlier_sessions_the_distribution_is_unchanged() -> None:
    dist = uniform_hours(10)
    same = RiskCalibration.from_pits([]).apply(dist)
    assert np.allclose(same.weights, dist.weights)


def test_a_user_who_always_stays_later_than_predicted_gets_a_thinner_early_tail() -> None:
    dist = uniform_hours(10)
    # Every earlier session left in the model's upper half: early departures are overstated.
    calibrated = RiskCalibration.from_pits([0.8] * 200, prior_points=50.0).apply(dist)
    early = float(calibrated.weights[calibrated.durations_h <= 3.0].sum())
    assert early == pytest.approx(50 * 0.3 / 250)
    assert calibrated.weights.sum() == pytest.approx(1.0)


def test_few_sessions_leave_the_model_almost_as_it_was() -> None:
    dist = uniform_hours(10)
    calibrated = RiskCalibration.from_pits([0.8] * 2, prior_points=50.0).apply(dist)
    early = float(calibrated.weights[calibrated.durations_h <= 3.0].sum())
    assert early == pytest.approx(50 * 0.3 / 52)


def test_a_user_who_leaves_earlier_than_predicted_gets_a_fatter_early_tail() -> None:
    dist = uniform_hours(10)
    calibrated = RiskCalibration.from_pits([0.05] * 100, prior_points=50.0).apply(dist)
    assert float(calibrated.weights[calibrated.durations_h <= 1.0].sum()) > 0.6
