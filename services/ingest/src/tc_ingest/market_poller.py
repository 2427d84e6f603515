"""The market loops: live prices, price backfill, exchange rates, weather, and an outbox.

Each loop runs as its own task and catches its own errors (logged, retried with backoff), so a
failing market API never stops another loop or the Tessie poller. Events go through one
in-order outbox: an event leaves it only after the broker acknowledged it, so a broker outage
delays events but does not lose them.

Ingest is stateless across restarts: which days are complete is known only for this process.
After a restart today/tomorrow and the backfill window are fetched and published again; that
is safe because consumers upsert prices by ``(zone, start_at)`` and rates by ``rate_date``.

A day published while no EUR→NOK rate was known (Norges Bank down at first publication)
carries EUR/MWh only. The recent ones are remembered and published again, øre/kWh filled in,
as the next revision once a rate refresh succeeds: consumers keep the highest revision.

Weather points are the zones' reference points, the homes from settings, and one home area
per vehicle learned from its behaviour profile (``set_home_area``), which can change at any
time; a forecast is published per point whenever its model run is new for that point.
"""

import asyncio
import contextlib
import logging
import random
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from tc_common.clock import Clock
from tc_common.events.base import Event
from tc_common.events.market import (
    BiddingZone,
    ExchangeRatesPublished,
    SpotPricesPublished,
)
from tc_common.events.weather import WeatherForecastPublished
from tc_common.logging import redact
from tc_ingest.adapters.norgesbank import CachedExchangeRates
from tc_ingest.domain import backoff_s
from tc_ingest.domain.market import (
    DEFAULT_PUBLICATION_LOCAL,
    DayPrices,
    awaits_rate,
    backfill_plan,
    conversion_rate_date,
    delivery_date_of,
    has_nok_prices,
    is_complete,
    live_days_due,
    missing_slot_count,
    next_live_poll_at,
    price_fingerprint,
    with_nok_prices,
)
from tc_ingest.domain.weather import home_area_id
from tc_ingest.errors import MarketAuthError, MarketRequestError, MarketSourceError
from tc_ingest.metrics import MarketMetrics
from tc_ingest.ports import EventPublisher, PriceSource, WeatherSource

log = logging.getLogger(__name__)

# A week of quarter-hour days for twelve zones plus weather: far more than an outage produces.
MAX_OUTBOX = 5000


@dataclass(frozen=True, slots=True)
class WeatherLocation:
    """A point to forecast: ``zone:NO3`` reference points and ``home:<vin>`` areas.

    ``label`` names it in logs (a home area's id holds the full VIN; its label only the end).
    """

    location_id: str
    latitude_deg: float
    longitude_deg: float
    label: str = ""

    @property
    def log_label(self) -> str:
        return self.label or self.location_id


@dataclass
class _DayState:
    revision: int
    fingerprint: tuple[tuple[datetime, float], ...]
    complete: bool
    priced: bool


@dataclass(frozen=True, slots=True)
class _Unpriced:
    """A day published without øre/kWh, as the source sent it, to price once a rate exists."""

    day: DayPrices
    source_name: str


@dataclass
class _Outgoing:
    event: Event
    on_ack: Callable[[], None] = field(default=lambda: None)


class MarketPoller:
    """Publishes spot prices, exchange rates and weather forecasts; see the module docstring."""

    def __init__(
        self,
        publisher: EventPublisher,
        *,
        clock: Clock,
        metrics: MarketMetrics,
        zones: Sequence[BiddingZone],
        price_sources: Mapping[BiddingZone, PriceSource],
        rates: CachedExchangeRates | None = None,
        weather: WeatherSource | None = None,
        locations: Sequence[WeatherLocation] = (),
        publication_local: time = DEFAULT_PUBLICATION_LOCAL,
        retry_interval_s: float = 600.0,
        max_sleep_s: float = 3600.0,
        backfill_days: int = 60,
        backfill_chunk_days: int = 7,
        rates_interval_s: float = 6 * 3600.0,
        weather_interval_s: float = 900.0,
        nok_refill_days: int = 7,
        error_backoff_base_s: float = 5.0,
        error_backoff_cap_s: float = 600.0,
        publish_backoff_base_s: float = 1.0,
        publish_backoff_cap_s: float = 30.0,
        jitter: Callable[[], float] = random.random,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._publisher = publisher
        self._clock = clock
        self._metrics = metrics
        self._zones = [z for z in zones if z in price_sources]
        self._sources = dict(price_sources)
        self._rates = rates
        self._weather = weather
        self._locations = list(locations)
        self._home_areas: dict[str, WeatherLocation] = {}
        self._weather_sent: dict[str, datetime] = {}
        self._weather_wake = asyncio.Event()
        self._publication_local = publication_local
        self._retry_interval = timedelta(seconds=retry_interval_s)
        self._max_sleep_s = max_sleep_s
        self._backfill_days = backfill_days
        self._chunk_days = backfill_chunk_days
        self._rates_interval_s = rates_interval_s
        self._weather_interval_s = weather_interval_s
        self._nok_refill_days = nok_refill_days
        self._error_base_s = error_backoff_base_s
        self._error_cap_s = error_backoff_cap_s
        self._publish_base_s = publish_backoff_base_s
        self._publish_cap_s = publish_backoff_cap_s
        self._jitter = jitter
        self._sleep = sleep
        self._days: dict[tuple[BiddingZone, date], _DayState] = {}
        self._unpriced: dict[tuple[BiddingZone, date], _Unpriced] = {}
        self._zone_retry_at: dict[BiddingZone, datetime] = {}
        self._rate_dates_published: set[date] = set()
        self._outbox: deque[_Outgoing] = deque()
        self._outbox_ready = asyncio.Event()
        self._rates_ready = asyncio.Event()
        self._broker_failing = False
        self._tasks: list[asyncio.Task[None]] = []
        for zone in zones:
            if zone not in price_sources:
                log.warning("%s: no price source (set INGEST_MARKET__ENTSOE_TOKEN)", zone)

    # lifecycle

    async def start(self) -> None:
        if self._tasks:
            return
        loops: list[tuple[str, Callable[[], Coroutine[Any, Any, None]]]] = [
            ("market-outbox", self._flusher)
        ]
        if self._rates is not None:
            loops.append(("market-rates", self._rates_loop))
        else:
            self._rates_ready.set()
        if self._zones:
            loops += [("market-prices", self._live_loop), ("market-backfill", self._backfill)]
        if self._weather is not None:
            loops.append(("market-weather", self._weather_loop))
        self._tasks = [asyncio.create_task(run(), name=name) for name, run in loops]

    async def stop(self, flush_timeout_s: float = 5.0) -> None:
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._outbox:
            try:
                async with asyncio.timeout(flush_timeout_s):
                    await self.flush()
            except TimeoutError:
                log.warning("shutdown: %d market event(s) were not published", len(self._outbox))

    # state, for tests and diagnostics

    def complete_days(self, zone: BiddingZone) -> set[date]:
        return {d for (z, d), s in self._days.items() if z == zone and s.complete}

    def known_days(self, zone: BiddingZone) -> set[date]:
        return {d for (z, d) in self._days if z == zone}

    @property
    def pending_count(self) -> int:
        return len(self._outbox)

    def days_awaiting_rate(self) -> set[tuple[BiddingZone, date]]:
        """Days published without øre/kWh that will be re-published once a rate exists."""
        return set(self._unpriced)

    @property
    def weather_locations(self) -> list[WeatherLocation]:
        """The configured points, then each vehicle's home area (settings win on an id)."""
        configured = {location.location_id for location in self._locations}
        return self._locations + [
            area for area in self._home_areas.values() if area.location_id not in configured
        ]

    # home areas

    def set_home_area(self, vehicle_id: str, area: tuple[float, float] | None) -> bool:
        """Forecast ``area`` (already rounded) as the vehicle's home; None forgets it.

        True when the points to forecast changed; a new or moved area is fetched at once.
        """
        current = self._home_areas.get(vehicle_id)
        label = f"home:…{vehicle_id[-6:]}"
        if area is None:
            if current is None:
                return False
            del self._home_areas[vehicle_id]
            self._weather_sent.pop(current.location_id, None)
            log.info("%s: no home in the latest profile; no longer forecast", label)
            return True
        location = WeatherLocation(home_area_id(vehicle_id), *area, label=label)
        if current == location:
            return False
        self._home_areas[vehicle_id] = location
        self._weather_sent.pop(location.location_id, None)
        # No coordinates in logs: a home is personal data even at 1 km.
        log.info("%s: home area %s", label, "moved" if current else "added to the weather points")
        self._weather_wake.set()
        return True

    # units of work

    async def poll_live(self) -> datetime:
        """Fetch today's/tomorrow's missing days for every zone; returns the next poll time."""
        now = self._clock.now()
        next_at = now + timedelta(seconds=self._max_sleep_s)
        for zone in self._zones:
            retry_at = self._zone_retry_at.get(zone)
            if retry_at is None or now >= retry_at:
                await self._poll_zone(zone, now)
            complete = self.complete_days(zone)
            zone_next = next_live_poll_at(
                now,
                complete,
                retry_interval=self._retry_interval,
                at_local=self._publication_local,
            )
            next_at = min(next_at, max(zone_next, self._zone_retry_at.get(zone, zone_next)))
        return next_at

    async def _poll_zone(self, zone: BiddingZone, now: datetime) -> None:
        due = live_days_due(now, self.complete_days(zone), at_local=self._publication_local)
        if not due:
            return
        source = self._sources[zone]
        try:
            days = await source.fetch_days(zone, min(due), max(due))
        except MarketSourceError as error:
            self._zone_retry_at[zone] = now + timedelta(seconds=self._after_error_s(error))
            self._log_source_error(zone, error)
            return
        except Exception:
            log.exception("%s: price poll failed unexpectedly", zone)
            return
        self._zone_retry_at.pop(zone, None)
        for day in days:
            if day.delivery_date in due:
                self.offer_prices(day, source.name)
        for missing in sorted(set(due) - {d.delivery_date for d in days}):
            log.info("%s %s: not published yet", zone, missing.isoformat())

    def offer_prices(self, day: DayPrices, source_name: str) -> bool:
        """Queue a day for publication when it is new or changed; True when queued."""
        if not day.slots:
            return False
        as_sent = day
        eur_nok = day.eur_nok
        if eur_nok is None and self._rates is not None:
            eur_nok = self._rates.eur_nok_on(conversion_rate_date(day.delivery_date))
        day = with_nok_prices(day, eur_nok)
        key = (day.zone, day.delivery_date)
        fingerprint = price_fingerprint(day)
        complete = is_complete(day)
        priced = has_nok_prices(day)
        state = self._days.get(key)
        # Unchanged EUR prices are news only when they gain their øre/kWh prices.
        if state is not None and state.fingerprint == fingerprint and (state.priced or not priced):
            return False
        revision = 0 if state is None else state.revision + 1
        self._days[key] = _DayState(revision, fingerprint, complete, priced)
        awaited = self._remember_unpriced(key, _Unpriced(as_sent, source_name), priced)
        if state is not None and state.fingerprint == fingerprint:
            log.info(
                "%s %s: øre/kWh filled in at EURNOK %s (revision %d)",
                day.zone,
                day.delivery_date.isoformat(),
                eur_nok,
                revision,
            )
        elif not priced:
            # Old backfilled days are many during an outage and nobody waits for them.
            log.log(
                logging.WARNING if awaited else logging.INFO,
                "%s %s: no EUR→NOK rate yet; published in EUR/MWh only%s",
                day.zone,
                day.delivery_date.isoformat(),
                ", øre/kWh follow with the next rate" if awaited else "",
            )
        if not complete:
            log.warning(
                "%s %s: %d slot(s) missing; published as is",
                day.zone,
                day.delivery_date.isoformat(),
                missing_slot_count(day),
            )
        event = SpotPricesPublished(
            zone=day.zone,
            delivery_date=day.delivery_date,
            resolution_min=60 if day.resolution_min == 60 else 15,
            source="entsoe" if source_name == "entsoe" else "hvakosterstrommen",
            fetched_at=self._clock.now(),
            revision=revision,
            eur_nok=eur_nok,
            slots=day.slots,
        )
        counter = self._metrics.prices_days_published.labels(zone=day.zone, source=source_name)
        self._enqueue(_Outgoing(event, counter.inc))
        return True

    async def backfill(self) -> None:
        """Fetch the ``backfill_days`` days before today that this process has not seen."""
        today = delivery_date_of(self._clock.now())
        for zone in self._zones:
            source = self._sources[zone]
            plan = backfill_plan(
                today,
                days=self._backfill_days,
                done=self.known_days(zone),
                chunk_days=self._chunk_days,
            )
            for first, last in plan:
                days = await self._fetch_with_retries(source, zone, first, last)
                for day in days:
                    if first <= day.delivery_date <= last:
                        self.offer_prices(day, source.name)
            if plan:
                log.info("%s: backfilled %d day(s) from %s", zone, self._backfill_days, source.name)

    async def _fetch_with_retries(
        self, source: PriceSource, zone: BiddingZone, first: date, last: date
    ) -> list[DayPrices]:
        failures = 0
        while True:
            try:
                return await source.fetch_days(zone, first, last)
            except MarketRequestError as error:
                log.error("%s backfill %s..%s skipped: %s", zone, first, last, error)
                return []
            except MarketSourceError as error:
                failures += 1
                self._log_source_error(zone, error)
                await self._sleep(self._after_error_s(error, failures))
            except Exception:
                failures += 1
                log.exception("%s: backfill failed unexpectedly", zone)
                await self._sleep(self._after_error_s(None, failures))

    async def poll_rates(self) -> int:
        """Refresh the rates and queue each business day not published yet; returns how many."""
        if self._rates is None:
            return 0
        await self._rates.refresh()
        queued = 0
        now = self._clock.now()
        for rate_date, rates in sorted(self._rates.observations.items()):
            if rate_date in self._rate_dates_published:
                continue
            self._rate_dates_published.add(rate_date)
            event = ExchangeRatesPublished(rate_date=rate_date, rates=dict(rates), fetched_at=now)
            self._enqueue(_Outgoing(event, self._metrics.exchange_rates_published.inc))
            queued += 1
        # After the rates, so a consumer sees the rate before the prices converted with it.
        self.price_unpriced_days()
        return queued

    def price_unpriced_days(self) -> int:
        """Re-publish remembered days without øre/kWh that a known rate now prices."""
        today = delivery_date_of(self._clock.now())
        repriced = 0
        for key in sorted(self._unpriced):
            unpriced = self._unpriced[key]
            if not awaits_rate(key[1], today, keep_days=self._nok_refill_days):
                self._forget_unpriced(key, "too old to wait for a rate")
            elif self.offer_prices(unpriced.day, unpriced.source_name):
                repriced += 1
        return repriced

    async def poll_weather(self) -> int:
        """Fetch every location (from cache until ``Expires``); queue forecasts new to each."""
        if self._weather is None:
            return 0
        queued = 0
        for location in self.weather_locations:
            try:
                fetched = await self._weather.fetch(location.latitude_deg, location.longitude_deg)
            except MarketSourceError as error:
                self._log_source_error(location.log_label, error)
                continue
            except Exception:
                log.exception("%s: weather poll failed unexpectedly", location.log_label)
                continue
            # Per location, not per fetch: points shared by several homes (or a home added
            # while its point is cached) come from the cache yet are new for that location.
            updated_at = fetched.forecast.updated_at
            if not fetched.forecast.slots or self._weather_sent.get(location.location_id) == (
                updated_at
            ):
                continue
            self._weather_sent[location.location_id] = updated_at
            event = WeatherForecastPublished(
                location_id=location.location_id,
                latitude_deg=fetched.latitude_deg,
                longitude_deg=fetched.longitude_deg,
                updated_at=fetched.forecast.updated_at,
                fetched_at=self._clock.now(),
                slots=fetched.forecast.slots,
            )
            self._enqueue(_Outgoing(event, self._metrics.weather_forecasts_published.inc))
            queued += 1
        return queued

    async def flush(self) -> bool:
        """Publish queued events in order; False when the broker failed (they stay queued)."""
        while self._outbox:
            item = self._outbox[0]
            try:
                await self._publisher.publish(item.event)
            except Exception as error:
                if not self._broker_failing:
                    log.warning(
                        "market publish failed, %d event(s) kept for retry: %s",
                        len(self._outbox),
                        redact(f"{type(error).__name__}: {error}"),
                    )
                self._broker_failing = True
                return False
            self._outbox.popleft()
            item.on_ack()
            if self._broker_failing:
                log.info("market events publishing again")
                self._broker_failing = False
        return True

    # loops

    async def _live_loop(self) -> None:
        await self._wait_for_rates()
        while True:
            next_at = await self.poll_live()
            wait_s = (next_at - self._clock.now()).total_seconds()
            await self._sleep(min(max(wait_s, 1.0), self._max_sleep_s))

    async def _backfill(self) -> None:
        await self._wait_for_rates()
        await self.backfill()

    async def _rates_loop(self) -> None:
        failures = 0
        while True:
            try:
                await self.poll_rates()
                failures = 0
                wait_s = self._rates_interval_s
            except Exception as error:
                failures += 1
                log.warning("exchange rates: %s", redact(str(error)))
                wait_s = min(self._after_error_s(None, failures), self._rates_interval_s)
            finally:
                self._rates_ready.set()
            await self._sleep(wait_s)

    async def _weather_loop(self) -> None:
        while True:
            self._weather_wake.clear()
            await self.poll_weather()
            # Not on the hour like everyone else (MET etiquette): ±10 % jitter. A new home
            # area cuts the pause short (its own point is still fetched only once per Expires).
            await self._sleep_or_wake(self._weather_interval_s * (0.9 + 0.2 * self._jitter()))

    async def _flusher(self) -> None:
        failures = 0
        while True:
            await self._outbox_ready.wait()
            if await self.flush():
                failures = 0
                self._outbox_ready.clear()
                continue
            failures += 1
            await self._sleep(
                backoff_s(
                    failures,
                    base_s=self._publish_base_s,
                    cap_s=self._publish_cap_s,
                    jitter=self._jitter(),
                )
            )

    # helpers

    async def _sleep_or_wake(self, delay_s: float) -> None:
        sleeper = asyncio.ensure_future(self._sleep(delay_s))
        waker = asyncio.ensure_future(self._weather_wake.wait())
        try:
            await asyncio.wait({sleeper, waker}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (sleeper, waker):
                task.cancel()
            await asyncio.gather(sleeper, waker, return_exceptions=True)

    def _remember_unpriced(
        self, key: tuple[BiddingZone, date], unpriced: _Unpriced, priced: bool
    ) -> bool:
        """Remember a recent day published without øre/kWh (forget it once priced)."""
        today = delivery_date_of(self._clock.now())
        if priced or not awaits_rate(key[1], today, keep_days=self._nok_refill_days):
            self._forget_unpriced(key)
            return False
        self._unpriced[key] = unpriced
        self._metrics.prices_days_awaiting_rate.set(len(self._unpriced))
        return True

    def _forget_unpriced(self, key: tuple[BiddingZone, date], why: str = "") -> None:
        if self._unpriced.pop(key, None) is None:
            return
        self._metrics.prices_days_awaiting_rate.set(len(self._unpriced))
        if why:
            log.warning("%s %s: stays without øre/kWh (%s)", key[0], key[1].isoformat(), why)

    async def _wait_for_rates(self) -> None:
        # øre/kWh needs a rate; do not let a slow Norges Bank hold prices back for long.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(30):
                await self._rates_ready.wait()

    def _enqueue(self, item: _Outgoing) -> None:
        if len(self._outbox) >= MAX_OUTBOX:
            dropped = self._outbox.popleft()
            log.error("market outbox full, dropped a %s", type(dropped.event).__name__)
        self._outbox.append(item)
        self._outbox_ready.set()

    def _after_error_s(self, error: MarketSourceError | None, failures: int = 1) -> float:
        if isinstance(error, MarketAuthError):
            return self._error_cap_s
        wait = backoff_s(
            failures, base_s=self._error_base_s, cap_s=self._error_cap_s, jitter=self._jitter()
        )
        retry_after = getattr(error, "retry_after_s", None)
        if retry_after is not None:
            wait = max(wait, retry_after)
        return max(wait, self._retry_interval.total_seconds()) if error is not None else wait

    def _log_source_error(self, subject: str, error: MarketSourceError) -> None:
        level = logging.ERROR if isinstance(error, MarketAuthError) else logging.WARNING
        log.log(level, "%s: %s", subject, redact(str(error)))
