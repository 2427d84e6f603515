"""Prometheus metrics of the ingest service, registered on the registry the app serves."""

from prometheus_client import CollectorRegistry, Counter, Gauge


class IngestMetrics:
    """Poll, publish and Tessie-error counters plus the age of each vehicle's newest sample."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.polls = Counter(
            "tc_ingest_polls_total",
            "Poll cycles run (one per vehicle per interval).",
            registry=registry,
        )
        self.samples_published = Counter(
            "tc_ingest_samples_published_total",
            "Telemetry samples the broker acknowledged.",
            ["vehicle"],
            registry=registry,
        )
        self.tessie_errors = Counter(
            "tc_ingest_tessie_errors_total",
            "Failed Tessie requests (each retry counts) by HTTP status, or timeout/connection.",
            ["status"],
            registry=registry,
        )
        self.last_sample_age = Gauge(
            "tc_ingest_last_sample_age_seconds",
            "Age of the newest sample published for a vehicle, as of the last poll.",
            ["vehicle"],
            registry=registry,
        )

    def count_tessie_error(self, status: str) -> None:
        self.tessie_errors.labels(status=status).inc()


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
            "Failed market/weather requests (each retry counts) by source and HTTP status, "
            "timeout, connection or bad_body.",
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
        self.market_fetch_errors.labels(source=source, status=status).inc()


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
        self.covered_age = Gauge(
            "tc_ingest_history_covered_age_seconds",
            "How far behind now a vehicle's history is fetched completely, as of its last sync.",
            ["vehicle", "kind"],
            registry=registry,
        )
        for kind in ("drives", "charges"):
            # Exported as 0 from the start, so a rate over them needs no first record.
            self.records_published.labels(kind=kind)
            self.records_skipped.labels(kind=kind)
