"""Price anomalies: spikes, negative prices, and regime shifts out of the forecast band.

Pure functions over slots. The thresholds are deliberately robust (median and MAD rather than
mean and standard deviation) because spot prices are heavy-tailed: one crisis hour must not
inflate the yardstick that is supposed to flag it.

- **negative**: a published price below zero (a consumer gets paid to charge; worth a signal).
- **spike**: a price above ``median + k·MAD`` of the trailing reference window (default k = 6,
  about 4 robust standard deviations), and at least ``min_jump_eur_per_mwh`` above the median
  so flat cheap periods don't flag cents.
- **regime_shift**: realised prices outside the forecast's p10–p90 band for at least
  ``min_run`` consecutive slots on the same side: the model's picture of the market no longer
  holds (a cold snap, an outage), which is what the customer should see before it costs them.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from statistics import median
from typing import Literal

AnomalyKind = Literal["spike", "negative", "regime_shift"]


@dataclass(frozen=True)
class PricePoint:
    start_at: datetime
    end_at: datetime
    price_eur_per_mwh: float


@dataclass(frozen=True)
class BandPoint:
    start_at: datetime
    p10_eur_per_mwh: float
    p50_eur_per_mwh: float
    p90_eur_per_mwh: float


@dataclass(frozen=True)
class Anomaly:
    kind: AnomalyKind
    start_at: datetime
    end_at: datetime
    price_eur_per_mwh: float
    expected_eur_per_mwh: float | None
    detail: str


@dataclass(frozen=True)
class AnomalyThresholds:
    spike_mads: float = 6.0
    min_jump_eur_per_mwh: float = 20.0
    regime_min_run: int = 4


def _mad(values: Sequence[float], centre: float) -> float:
    return median(abs(v - centre) for v in values) if values else 0.0


def detect_price_anomalies(
    published: Sequence[PricePoint],
    reference: Sequence[PricePoint],
    *,
    band: Sequence[BandPoint] = (),
    thresholds: AnomalyThresholds = AnomalyThresholds(),
) -> list[Anomaly]:
    """Anomalies in ``published`` (newly published slots, sorted by start_at).

    ``reference`` is the trailing history the spike yardstick is built from (e.g. the previous
    14 days; it MUST NOT include ``published``). ``band`` is the forecast that was issued before
    these prices were known, matched by ``start_at``.
    """
    found: list[Anomaly] = []
    ref_values = [p.price_eur_per_mwh for p in reference]
    centre = median(ref_values) if ref_values else None
    spread = _mad(ref_values, centre) if centre is not None else 0.0

    for point in published:
        if point.price_eur_per_mwh < 0:
            found.append(
                Anomaly(
                    "negative",
                    point.start_at,
                    point.end_at,
                    point.price_eur_per_mwh,
                    centre,
                    f"negative price {point.price_eur_per_mwh:.2f} EUR/MWh",
                )
            )
        if centre is not None:
            limit = centre + max(thresholds.spike_mads * spread, thresholds.min_jump_eur_per_mwh)
            if point.price_eur_per_mwh > limit:
                found.append(
                    Anomaly(
                        "spike",
                        point.start_at,
                        point.end_at,
                        point.price_eur_per_mwh,
                        centre,
                        f"{point.price_eur_per_mwh:.2f} EUR/MWh is above {limit:.2f} "
                        f"(median {centre:.2f} + max({thresholds.spike_mads:g}·MAD "
                        f"{spread:.2f}, {thresholds.min_jump_eur_per_mwh:g}))",
                    )
                )
    found.extend(_regime_shifts(published, band, thresholds.regime_min_run))
    return found


def _regime_shifts(
    published: Sequence[PricePoint], band: Sequence[BandPoint], min_run: int
) -> list[Anomaly]:
    by_start = {b.start_at: b for b in band}
    runs: list[Anomaly] = []
    run: list[tuple[PricePoint, BandPoint]] = []
    side = 0

    def close() -> None:
        if len(run) >= min_run:
            realised = sum(p.price_eur_per_mwh for p, _ in run) / len(run)
            expected = sum(b.p50_eur_per_mwh for _, b in run) / len(run)
            where = "above p90" if side > 0 else "below p10"
            runs.append(
                Anomaly(
                    "regime_shift",
                    run[0][0].start_at,
                    run[-1][0].end_at,
                    realised,
                    expected,
                    f"{len(run)} consecutive slots {where} of the forecast band "
                    f"(mean {realised:.2f} vs expected {expected:.2f} EUR/MWh)",
                )
            )

    for point in published:
        b = by_start.get(point.start_at)
        outside = 0
        if b is not None:
            if point.price_eur_per_mwh > b.p90_eur_per_mwh:
                outside = 1
            elif point.price_eur_per_mwh < b.p10_eur_per_mwh:
                outside = -1
        if outside != 0 and outside == side and run and run[-1][0].end_at == point.start_at:
            run.append((point, b))  # type: ignore[arg-type]  # b is set when outside != 0
            continue
        close()
        run = [(point, b)] if outside != 0 and b is not None else []
        side = outside
    close()
    return runs
