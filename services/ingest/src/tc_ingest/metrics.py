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
