"""Prometheus metrics of the ingest service, registered on the registry the app serves.

No metric is labelled by vehicle: ``/metrics`` is unauthenticated, and a VIN there would tell
anyone who reaches the port which cars the service follows (and every new car would add
series). Per-vehicle ages are exported as gauge histograms over the fleet instead.
"""

from collections.abc import Callable, Iterable, Iterator, Sequence
from http import HTTPStatus
from typing import Final

from prometheus_client import CollectorRegistry, Counter, Gauge
from prometheus_client.metrics_core import GaugeHistogramMetricFamily, Metric
from prometheus_client.registry import Collector

# Error causes that are not an HTTP status; see error_status_label.
ERROR_CAUSES: Final = frozenset({"timeout", "connection", "bad_body"})
_HTTP_STATUSES: Final = frozenset(str(status.value) for status in HTTPStatus)


def error_status_label(status: str) -> str:
    """The ``status`` label of an error counter, from a fixed set of values.

    An HTTP status is a remote server's (or a proxy's) choice of any three digits: a status HTTP
    defines is kept, any other one is counted as its class (``4xx``, ``5xx``) or ``other``, so
    that no server can add series without bound.
    """
    if status in ERROR_CAUSES or status in _HTTP_STATUSES:
        return status
    if len(status) == 3 and status[0] in "45" and status.isdigit():
        return f"{status[0]}xx"
    return "other"


# Upper bounds (seconds) of the fleet age buckets: a minute, 5 and 15 minutes, an hour, 6 hours,
# a day and a week; a car asleep for longer counts in +Inf only.
AGE_BUCKETS_S: Final = (60.0, 300.0, 900.0, 3600.0, 21600.0, 86400.0, 604800.0)


def age_buckets(
    ages: Iterable[float], bounds: Sequence[float] = AGE_BUCKETS_S
) -> list[tuple[str, float]]:
    """Cumulative ``(le, count)`` pairs of ``ages`` for each bound, ``+Inf`` last."""
    values = list(ages)
    buckets = [(str(bound), float(sum(1 for v in values if v <= bound))) for bound in bounds]
    return [*buckets, ("+Inf", float(len(values)))]


class FleetAges(Collector):
    """A gauge histogram of one age per vehicle, read from its sources at every scrape.

    ``track(ages, *label_values)`` names the callable that returns the current ages, one per
    vehicle, for one combination of ``label_names`` (bounded values such as a record kind, never
    a vehicle); a later ``track`` with the same labels replaces it.
    """

    def __init__(
        self,
        name: str,
        documentation: str,
        registry: CollectorRegistry,
        label_names: Sequence[str] = (),
    ) -> None:
        self._name = name
        self._documentation = documentation
        self._label_names = list(label_names)
        self._sources: dict[tuple[str, ...], Callable[[], Iterable[float]]] = {}
        registry.register(self)

    def track(self, ages: Callable[[], Iterable[float]], *label_values: str) -> None:
        if len(label_values) != len(self._label_names):
            raise ValueError(f"{self._name} takes labels {self._label_names}")
        self._sources[label_values] = ages

    def describe(self) -> Iterator[Metric]:
        yield self._family()

    def collect(self) -> Iterator[Metric]:
        family = self._family()
        for label_values, source in self._sources.items():
            ages = list(source())
            family.add_metric(list(label_values), age_buckets(ages), gsum_value=sum(ages))
        yield family

    def _family(self) -> GaugeHistogramMetricFamily:
        return GaugeHistogramMetricFamily(self._name, self._documentation, labels=self._label_names)


class IngestMetrics:
    """Poll, publish and Tessie-error counters plus how old the vehicles' newest samples are."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.polls = Counter(
            "tc_ingest_polls_total",
            "Poll cycles run (one per vehicle per interval).",
            registry=registry,
        )
        self.samples_published = Counter(
            "tc_ingest_samples_published_total",
            "Telemetry samples the broker acknowledged (all vehicles).",
            registry=registry,
        )
        self.tessie_errors = Counter(
            "tc_ingest_tessie_errors_total",
            "Failed Tessie requests (each retry counts) by HTTP status (4xx/5xx/other for one "
            "HTTP does not define), or timeout/connection/bad_body.",
            ["status"],
            registry=registry,
        )
        self.last_sample_age = FleetAges(
            "tc_ingest_last_sample_age_seconds",
            "Vehicles by the age of the newest sample published for each (a gauge histogram: "
            "le is the age in seconds, gcount the vehicles with a published sample).",
            registry,
        )

    def count_tessie_error(self, status: str) -> None:
        self.tessie_errors.labels(status=error_status_label(status)).inc()


class MarketMetrics:
    """Market and weather publication counters and source errors."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.prices_days_published = Counter(
            "tc_ingest_prices_days_published_total",
            "Delivery days of spot prices the broker acknowledged (each revision counts).",
            ["zone", "source"],
            registry=registry,
        )
        self.market_fetch_errors = Counter(
            "tc_ingest_market_fetch_errors_total",
            "Failed market/weather requests (each retry counts) by source and HTTP status "
            "(4xx/5xx/other for one HTTP does not define), timeout, connection or bad_body.",
            ["source", "status"],
            registry=registry,
        )
        self.weather_forecasts_published = Counter(
            "tc_ingest_weather_forecasts_published_total",
            "Weather forecasts the broker acknowledged.",
            registry=registry,
        )
        self.exchange_rates_published = Counter(
            "tc_ingest_exchange_rates_published_total",
            "Business days of exchange rates the broker acknowledged.",
            registry=registry,
        )
        self.prices_days_awaiting_rate = Gauge(
            "tc_ingest_prices_days_awaiting_rate",
            "Recent delivery days published without øre/kWh (no EUR→NOK rate yet); each is "
            "re-published with them after the next successful exchange-rate refresh.",
            registry=registry,
        )

    def count_fetch_error(self, source: str, status: str) -> None:
        # source is one of the client names in code, never read from a response.
        self.market_fetch_errors.labels(source=source, status=error_status_label(status)).inc()


class HistoryMetrics:
    """Drive and charge history: records published and skipped, and how current it is."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.records_published = Counter(
            "tc_ingest_history_records_published_total",
            "Drives and charges the broker acknowledged (a record Tessie changed counts again).",
            ["kind"],
            registry=registry,
        )
        self.records_skipped = Counter(
            "tc_ingest_history_records_skipped_total",
            "Malformed drive and charge records that were not published (logged with the "
            "reason); unfinished sessions are not counted.",
            ["kind"],
            registry=registry,
        )
        self.covered_age = FleetAges(
            "tc_ingest_history_covered_age_seconds",
            "Vehicles by how far behind now their history of a kind is fetched completely (a "
            "gauge histogram: le is the age in seconds, gcount the vehicles being synced).",
            registry,
            ["kind"],
        )
        for kind in ("drives", "charges"):
            # Exported as 0 from the start, so a rate over them needs no first record.
            self.records_published.labels(kind=kind)
            self.records_skipped.labels(kind=kind)


class AccountMetrics:
    """Customer accounts polled with their own tokens. No account id is a label: accounts
    grow without bound, and ``/metrics`` is unauthenticated."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.accounts_polled = Gauge(
            "tc_ingest_accounts_polled",
            "Customer accounts whose vehicles are being polled with the account's own token.",
            registry=registry,
        )
        self.accounts_rejected = Gauge(
            "tc_ingest_accounts_rejected",
            "Customer accounts whose token Tessie refused (401/403): not polled until the "
            "account registers a new token.",
            registry=registry,
        )
        self.tokens_unreadable = Counter(
            "tc_ingest_account_tokens_unreadable_total",
            "Sealed account tokens that did not open (a missing key version, a damaged record).",
            registry=registry,
        )
