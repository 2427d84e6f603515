"""When will a plugged-in car leave? A weighted distribution learnt from earlier sessions.

Pure: sessions and instants are passed in. The planner consumes ``DepartureDistribution``;
``predict_departure`` builds one from the same user's earlier plug-in sessions only.

The learned model is a kernel-weighted sample of the user's earlier sessions:

* each earlier session weighs by how alike its situation is: plug-in hour of day (circular
  Gaussian), delivered energy (Gaussian on log1p kWh), day class (the same weekday counts most;
  Friday, Saturday and Sunday evenings each lead into a different next day, and public
  holidays count as weekend days) and age (recent weeks weigh more);
* each earlier session proposes a duration for this one. Long sessions were ended by a clock
  time (leaving for work), so they propose the same departure clock time; short sessions that
  charged all the time were ended by the energy, so they propose this session's energy at their
  power; other short sessions propose their own duration, scaled by the energy this one needs.
  No proposal is shorter than this session's energy takes at the fastest power the user has
  shown;
* when few sessions are alike (small effective sample), part of the mass goes to all the
  user's sessions, and with very little history to a broad generic prior, so that the low
  quantiles the planner uses as a deadline stay honest;
* every proposal is spread by a small log-normal jitter: the same situation never repeats to
  the minute.

Datetimes must be aware. Hours of day and weekdays are read in the zone of ``plugged_in_at``,
so pass it in the vehicle's local zone (history may be in any zone).
"""

from collections.abc import Container, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

# With no history at all the car is assumed to stay plugged in this long: about the median
# of residential sessions (an evening plug-in may well be a short one).
DEFAULT_DURATION_H = 6.0

_HOURS_PER_DAY = 24.0
_SECONDS_PER_HOUR = 3600.0
_FRIDAY = 4
_SATURDAY = 5
_SUNDAY = 6
# Standard-normal quantiles at the mid-points of 7 equal-probability bins: a jitter of a
# proposal by exp(sigma * z) with equal weights is a log-normal spread of width sigma.
_JITTER_Z = np.array([-1.4652, -0.7916, -0.3661, 0.0, 0.3661, 0.7916, 1.4652])
# The same for the generic prior (21 bins); the middle node is z = 0 so the prior's median is
# exactly its centre.
_PRIOR_Z = np.array(
    [
        -1.9800,
        -1.4652,
        -1.1699,
        -0.9502,
        -0.7687,
        -0.6098,
        -0.4649,
        -0.3290,
        -0.1992,
        -0.0701,
        0.0,
        0.0701,
        0.1992,
        0.3290,
        0.4649,
        0.6098,
        0.7687,
        0.9502,
        1.1699,
        1.4652,
        1.9800,
    ]
)


@dataclass(frozen=True)
class PastSession:
    """One earlier plug-in session of the same vehicle/user (aware datetimes)."""

    plugged_in_at: datetime
    plugged_out_at: datetime
    energy_kwh: float

    @property
    def duration_h(self) -> float:
        return (self.plugged_out_at - self.plugged_in_at).total_seconds() / 3600.0


@dataclass(frozen=True)
class DepartureDistribution:
    """A weighted sample of plugged-in durations (hours) counted from ``plugged_in_at``."""

    plugged_in_at: datetime
    durations_h: FloatArray
    weights: FloatArray

    def __post_init__(self) -> None:
        if self.durations_h.shape != self.weights.shape or self.durations_h.size == 0:
            raise ValueError("durations and weights must be non-empty and of equal shape")
        order = np.argsort(self.durations_h, kind="stable")
        object.__setattr__(self, "durations_h", np.asarray(self.durations_h[order], float))
        w = np.asarray(self.weights[order], float)
        object.__setattr__(self, "weights", w / w.sum())

    @classmethod
    def point(cls, plugged_in_at: datetime, duration_h: float) -> "DepartureDistribution":
        return cls(plugged_in_at, np.array([duration_h]), np.array([1.0]))

    def quantile_h(self, q: float) -> float:
        """The q-quantile of the duration in hours (lower weighted quantile)."""
        cw = np.cumsum(self.weights)
        i = int(np.searchsorted(cw, q * cw[-1] - 1e-12))
        return float(self.durations_h[min(i, self.durations_h.size - 1)])

    def quantile(self, q: float) -> datetime:
        return self.plugged_in_at + timedelta(hours=self.quantile_h(q))

    def prob_departed_by(self, at: datetime) -> float:
        h = (at - self.plugged_in_at).total_seconds() / 3600.0
        # A hair of tolerance: quantile() rounds to whole microseconds.
        return float(self.weights[self.durations_h <= h + 1e-9].sum())

    def with_declared_departure(self, at: datetime, trust: float) -> "DepartureDistribution":
        """The owner's scheduled departure mixed in: with probability ``trust`` the car leaves
        at ``at``, otherwise as this distribution says.

        The owner's word is strong but not certain (a schedule set for working days also
        shows on the day off, plans change), so the learned early departures keep a share.
        A declared time at or before the plug-in says nothing.
        """
        if not 0.0 <= trust <= 1.0:
            raise ValueError("trust must be in [0, 1]")
        h = (at - self.plugged_in_at).total_seconds() / 3600.0
        if trust == 0.0 or h <= 0.0:
            return self
        return DepartureDistribution(
            self.plugged_in_at,
            np.append(self.durations_h, h),
            np.append(self.weights * (1.0 - trust), trust),
        )

    def given_still_plugged_at(self, at: datetime) -> "DepartureDistribution":
        """The distribution conditioned on the car not having left by ``at``.

        When every sample says it should have left already, the car is assumed to stay a
        little longer than observed (a quarter of an hour past ``at``) rather than none.
        """
        h = (at - self.plugged_in_at).total_seconds() / 3600.0
        keep = self.durations_h > h
        if not keep.any():
            return DepartureDistribution.point(self.plugged_in_at, h + 0.25)
        return DepartureDistribution(self.plugged_in_at, self.durations_h[keep], self.weights[keep])


@dataclass(frozen=True)
class DepartureParams:
    """Hyper-parameters of the learned departure model (few and round on purpose)."""

    hour_bandwidth_h: float = 2.0
    energy_bandwidth: float = 0.35  # on log1p(kWh)
    recency_days: float = 120.0  # e-folding age of a session's weight
    same_weekday_weight: float = 1.0
    same_day_class_weight: float = 0.7  # Monday-Thursday among themselves
    other_day_weight: float = 0.2
    # Sessions at least this long ended at a clock time: they propose the same departure time.
    clock_anchor_min_h: float = 8.0
    # A session whose mean power reached this share of the user's high power charged all along.
    charge_limited_ratio: float = 0.8
    high_power_quantile: float = 1.0
    # Effective sample size at which the broad (all sessions) sample gets half the mass.
    broad_sessions: float = 3.0
    # Number of sessions at which the generic prior gets half the mass.
    prior_sessions: float = 3.0
    prior_sigma: float = 1.25  # log-normal width of the generic prior around DEFAULT_DURATION_H
    jitter_sigma: float = 0.1  # log-normal spread of every proposal
    min_duration_h: float = 0.05
    # A session that needs more energy than an alike earlier one stays longer in proportion
    # to (1 + kWh); the kernel alone would regress every session to its neighbours' durations
    # (low-energy sessions were predicted too long, high-energy ones too short).
    energy_elasticity: float = 1.0


DEFAULT_PARAMS = DepartureParams()


@dataclass(frozen=True)
class _History:
    start_h: FloatArray  # plug-in instant, hours since the epoch
    hour_of_day: FloatArray
    weekday: npt.NDArray[np.int64]
    duration_h: FloatArray
    energy_kwh: FloatArray


def _hour_of_day(at: datetime) -> float:
    return at.hour + at.minute / 60.0 + at.second / 3600.0


def _day_kind(at: datetime, days_off: Container[date]) -> int:
    """The weekday as far as tomorrow's departure is concerned.

    What matters is whether today and tomorrow are days off: the evening before a public
    holiday behaves like a Friday, a holiday followed by a working day like a Sunday. Without
    holidays this is the calendar weekday (Monday 0 .. Sunday 6).
    """
    today = at.date()
    today_off = today.weekday() >= _SATURDAY or today in days_off
    tomorrow = today + timedelta(days=1)
    tomorrow_off = tomorrow.weekday() >= _SATURDAY or tomorrow in days_off
    if today_off:
        return _SATURDAY if tomorrow_off else _SUNDAY
    return _FRIDAY if tomorrow_off else today.weekday()


def _history_arrays(
    history: Sequence[PastSession], zone: tzinfo | None, days_off: Container[date]
) -> _History:
    # Hours of day and weekdays are read in the zone of the session being predicted.
    local = [
        s.plugged_in_at if s.plugged_in_at.tzinfo is zone else s.plugged_in_at.astimezone(zone)
        for s in history
    ]
    start = np.array([s.plugged_in_at.timestamp() for s in history], dtype=np.float64)
    end = np.array([s.plugged_out_at.timestamp() for s in history], dtype=np.float64)
    hod = np.array([_hour_of_day(t) for t in local], dtype=np.float64)
    dow = np.array([_day_kind(t, days_off) for t in local], dtype=np.int64)
    energy = np.array([s.energy_kwh for s in history], dtype=np.float64)
    duration = (end - start) / _SECONDS_PER_HOUR
    # Zero-length sessions are plug-in glitches, not behaviour.
    ok = duration > 0.0
    return _History(
        start_h=start[ok] / _SECONDS_PER_HOUR,
        hour_of_day=hod[ok],
        weekday=dow[ok],
        duration_h=duration[ok],
        energy_kwh=np.maximum(np.nan_to_num(energy[ok]), 0.0),
    )


def _day_class(weekday: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Monday-Thursday lead into a working day; Friday, Saturday, Sunday each differ."""
    return np.where(weekday < _FRIDAY, 0, weekday - _FRIDAY + 1)


def _circular_hours(delta_h: FloatArray) -> FloatArray:
    """Signed circular difference of hours of day, in [-12, 12)."""
    return np.asarray((delta_h + 12.0) % _HOURS_PER_DAY - 12.0, dtype=np.float64)


def _generic_prior(params: DepartureParams) -> tuple[FloatArray, FloatArray]:
    durations = DEFAULT_DURATION_H * np.exp(params.prior_sigma * _PRIOR_Z)
    return durations, np.full(durations.size, 1.0 / durations.size)


def baseline_departure(history: Sequence[PastSession], plugged_in_at: datetime) -> float:
    """The benchmark's baseline: the user's median duration (hours) on this weekday type.

    Weekday type is Monday-Friday versus Saturday-Sunday by the plug-in day; with no earlier
    session of that type the default duration is used.
    """
    weekend = plugged_in_at.weekday() >= _SATURDAY
    same = [
        d
        for s in history
        if (s.plugged_in_at.weekday() >= _SATURDAY) == weekend and (d := s.duration_h) > 0.0
    ]
    if not same:
        return DEFAULT_DURATION_H
    return float(np.median(np.array(same, dtype=np.float64)))


def predict_departure(
    history: Sequence[PastSession],
    plugged_in_at: datetime,
    energy_kwh: float | None,
    params: DepartureParams = DEFAULT_PARAMS,
    days_off: Container[date] = frozenset(),
) -> DepartureDistribution:
    """The departure distribution of a session plugged in at ``plugged_in_at``.

    ``history`` holds only sessions that ended before ``plugged_in_at`` (the caller's duty).
    ``energy_kwh`` is the energy the session will take, when known (else the energy is not
    used). ``days_off`` are public holidays (local dates) besides weekends.
    """
    prior_x, prior_w = _generic_prior(params)
    h = _history_arrays(history, plugged_in_at.tzinfo, days_off)
    n = h.duration_h.size
    if n == 0:
        return DepartureDistribution(plugged_in_at, prior_x, prior_w)

    hour_i = _hour_of_day(plugged_in_at)
    weekday_i = _day_kind(plugged_in_at, days_off)
    start_i = plugged_in_at.timestamp() / _SECONDS_PER_HOUR

    dh = _circular_hours(h.hour_of_day - hour_i)
    age_days = np.maximum(start_i - h.start_h, 0.0) / _HOURS_PER_DAY
    day_w = np.where(
        h.weekday == weekday_i,
        params.same_weekday_weight,
        np.where(
            _day_class(h.weekday) == _day_class(np.array([weekday_i]))[0],
            params.same_day_class_weight,
            params.other_day_weight,
        ),
    )
    w = (
        np.exp(-age_days / params.recency_days)
        * day_w
        * np.exp(-0.5 * (dh / params.hour_bandwidth_h) ** 2)
    )

    # Proposals: long sessions keep their departure clock time, short ones their duration. A
    # clock time already past at this plug-in says nothing: such a session keeps its duration.
    same_clock = h.duration_h + dh
    anchored = (h.duration_h >= params.clock_anchor_min_h) & (same_clock > 0.0)
    proposals = np.where(anchored, same_clock, h.duration_h)
    broad = h.duration_h.copy()
    if energy_kwh is not None and energy_kwh > 0.0:
        # Clock-anchored proposals keep their clock time: leaving for work does not wait for
        # a fuller battery.
        scale = ((1.0 + energy_kwh) / (1.0 + h.energy_kwh)) ** params.energy_elasticity
        proposals = np.where(anchored, proposals, proposals * scale)
        broad = broad * scale
        w = w * np.exp(
            -0.5 * ((np.log1p(h.energy_kwh) - np.log1p(energy_kwh)) / params.energy_bandwidth) ** 2
        )
        power_kw = h.energy_kwh / h.duration_h
        measurable = h.duration_h > 0.5  # shorter sessions give noisy power readings
        if np.count_nonzero(measurable) >= 3:
            high_kw = float(np.quantile(power_kw[measurable], params.high_power_quantile))
            if high_kw > 0.0:
                charged_all_along = (h.duration_h < params.clock_anchor_min_h) & (
                    power_kw >= params.charge_limited_ratio * high_kw
                )
                proposals = np.where(
                    charged_all_along, energy_kwh / np.maximum(power_kw, 1e-6), proposals
                )
                charge_time_h = energy_kwh / high_kw
                proposals = np.maximum(proposals, charge_time_h)
                broad = np.maximum(broad, charge_time_h)

    top = float(w.max())
    # Scaled to the most alike session so that tiny kernels cannot underflow; when nothing is
    # alike at all every session counts the same.
    w = w / top if top > 0.0 else np.ones(n)
    total = float(w.sum())
    n_eff = total**2 / float((w**2).sum())
    broad_share = params.broad_sessions / (params.broad_sessions + n_eff)
    prior_share = params.prior_sessions / (params.prior_sessions + n)

    core_x = np.concatenate([proposals, broad])
    core_w = np.concatenate([w / total * (1.0 - broad_share), np.full(n, broad_share / n)])
    core_x = np.maximum(core_x, params.min_duration_h)
    jitter = np.exp(params.jitter_sigma * _JITTER_Z)
    x = np.concatenate([np.outer(core_x, jitter).ravel(), prior_x])
    wts = np.concatenate(
        [np.repeat(core_w * (1.0 - prior_share) / jitter.size, jitter.size), prior_w * prior_share]
    )
    keep = wts > 0.0
    return DepartureDistribution(plugged_in_at, x[keep], wts[keep])
