"""Keeps each zone's price forecast current: new prices in, refits debounced, forecasts and
anomalies out.

Prices arrive in bursts (a 60-day backfill per zone on ingest's start), so a zone is only
marked *dirty* on arrival and refitted by a background loop at most every ``debounce_s``:
one fit per burst, not one per day. Fitting is CPU-bound and runs in a worker thread so the
consumer keeps consuming.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta

import pandas as pd

from tc_common.clock import Clock
from tc_common.events import (
    PriceAnomalyDetected,
    PriceForecastPublished,
    PriceForecastSlot,
    SpotPricesPublished,
)
from tc_forecast.domain.anomalies import BandPoint, detect_price_anomalies
from tc_forecast.domain.price_book import PriceBook, cet_hour_to_utc
from tc_forecast.domain.prices.ensemble import EnsembleConfig
from tc_forecast.domain.prices.forecaster import PriceForecaster
from tc_forecast.periodic import PeriodicTask
from tc_forecast.ports import PublishFailedError

log = logging.getLogger(__name__)

MODEL_NAME = "lear-lgbm-ensemble/1"


async def _unbound(_event: object) -> None:
    raise RuntimeError("PriceForecastRunner outputs are not bound to publishers")


class PriceForecastRunner:
    def __init__(
        self,
        *,
        clock: Clock,
        publish_forecast: Callable[[PriceForecastPublished], Awaitable[None]] | None = None,
        publish_anomaly: Callable[[PriceAnomalyDetected], Awaitable[None]] | None = None,
        config: EnsembleConfig | None = None,
        horizon_days: int = 7,
        debounce_s: float = 10.0,
        anomaly_lookback: timedelta = timedelta(days=14),
        live_days: int = 2,
    ) -> None:
        self.book = PriceBook()
        self._clock = clock
        self._publish_forecast = publish_forecast or _unbound
        self._publish_anomaly = publish_anomaly or _unbound
        self._config = config or EnsembleConfig()
        self._horizon_days = horizon_days
        self._lookback = anomaly_lookback
        self._live_days = live_days
        self._dirty: set[str] = set()
        self._bands: dict[str, list[BandPoint]] = {}
        self._loop = PeriodicTask("price-forecast-runner", debounce_s, self._refit_dirty, log)

    def bind(
        self,
        *,
        publish_forecast: Callable[[PriceForecastPublished], Awaitable[None]],
        publish_anomaly: Callable[[PriceAnomalyDetected], Awaitable[None]],
    ) -> None:
        """Connect the outputs (the router's publishers) after construction."""
        self._publish_forecast = publish_forecast
        self._publish_anomaly = publish_anomaly

    async def on_prices(self, event: SpotPricesPublished) -> None:
        changed = self.book.add(
            event.zone,
            ((s.start_at, s.end_at, s.price_eur_per_mwh) for s in event.slots),
            event.revision,
        )
        if not changed:
            return
        self._dirty.add(event.zone)
        # Anomalies are news: judge only days published around now, not a backfilled past.
        if event.delivery_date < (self._clock.now() - timedelta(days=self._live_days)).date():
            return
        first = changed[0].start_at
        reference = self.book.points(event.zone, first - self._lookback, first)
        found = detect_price_anomalies(changed, reference, band=self._bands.get(event.zone, []))
        for anomaly in found:
            await self._publish_anomaly(
                PriceAnomalyDetected(
                    zone=event.zone,
                    kind=anomaly.kind,
                    start_at=anomaly.start_at,
                    end_at=anomaly.end_at,
                    price_eur_per_mwh=anomaly.price_eur_per_mwh,
                    expected_eur_per_mwh=anomaly.expected_eur_per_mwh,
                    detected_at=self._clock.now(),
                    detail=anomaly.detail,
                )
            )

    def start(self) -> None:
        self._loop.start()

    async def stop(self) -> None:
        await self._loop.stop()

    async def _refit_dirty(self) -> None:
        for zone in sorted(self._dirty):
            self._dirty.discard(zone)
            try:
                await self.refit(zone)
            except PublishFailedError as error:
                # The broker is away: the zone stays due, the next round fits and tries again.
                self._dirty.add(zone)
                log.warning("price forecast for %s not published (%s); retrying", zone, error)
            except Exception:
                # A bad fit must not stop the other zones or later refits.
                log.exception("price forecast for %s failed", zone)

    async def refit(self, zone: str) -> PriceForecastPublished | None:
        history = self.book.hourly_history(zone)
        known_until = self.book.known_until(zone)
        if known_until is None:
            return None
        issued_at = self._clock.now()
        try:
            band = await asyncio.to_thread(self._fit_predict, history)
        except ValueError as error:
            log.info("no price forecast for %s yet: %s", zone, error)
            return None
        slots = tuple(
            PriceForecastSlot(
                start_at=cet_hour_to_utc(hour.to_pydatetime()),
                end_at=cet_hour_to_utc(hour.to_pydatetime()) + timedelta(hours=1),
                p10_eur_per_mwh=float(row.p10),
                p50_eur_per_mwh=float(row.p50),
                p90_eur_per_mwh=float(row.p90),
            )
            for hour, row in band.iterrows()
        )
        # Only what is still unknown: a partly published origin day keeps its real prices.
        slots = tuple(s for s in slots if s.start_at >= known_until)
        if not slots:
            return None
        forecast = PriceForecastPublished(
            zone=zone,
            issued_at=issued_at,
            model=MODEL_NAME,
            known_until=known_until,
            slots=slots,
        )
        self._bands[zone] = [
            BandPoint(s.start_at, s.p10_eur_per_mwh, s.p50_eur_per_mwh, s.p90_eur_per_mwh)
            for s in slots
        ]
        try:
            await self._publish_forecast(forecast)
        except Exception as error:
            raise PublishFailedError(f"{type(error).__name__}: {error}") from error
        log.info("price forecast for %s: %d slots from %s", zone, len(slots), slots[0].start_at)
        return forecast

    def _fit_predict(self, history: pd.DataFrame) -> pd.DataFrame:
        forecaster = PriceForecaster(config=self._config, horizon_days=self._horizon_days)
        return forecaster.fit(history).predict_horizon()
