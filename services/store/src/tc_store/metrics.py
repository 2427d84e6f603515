from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter


@dataclass(frozen=True)
class StoreMetrics:
    samples_stored: Counter
    duplicates_ignored: Counter
    db_retries: Counter

    @classmethod
    def create(cls, registry: CollectorRegistry) -> "StoreMetrics":
        return cls(
            samples_stored=Counter(
                "tc_store_samples_stored",
                "Telemetry samples written to the database.",
                registry=registry,
            ),
            duplicates_ignored=Counter(
                "tc_store_duplicates_ignored",
                "Telemetry samples ignored because (vehicle_id, sampled_at) was already stored.",
                registry=registry,
            ),
            db_retries=Counter(
                "tc_store_db_retries",
                "Database operations retried after the database was unreachable.",
                registry=registry,
            ),
        )
